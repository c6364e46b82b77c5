<?php
// exit() in the middle of the output: what was printed before it is delivered.
echo "before-exit\n";
exit(3);
echo "after-exit\n";
