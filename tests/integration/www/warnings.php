<?php
// Three PHP messages, then output.
for ($i = 0; $i < 3; $i++) trigger_error("warning $i", E_USER_WARNING);
echo "done\n";
