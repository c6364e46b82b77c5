<?php
// ?display=1 turns display_errors on for this request (php_admin_value is not used for it).
if (!empty($_GET['display'])) ini_set('display_errors', '1');
echo "output before fatal\n";
this_function_does_not_exist_xyz();
echo "never\n";
