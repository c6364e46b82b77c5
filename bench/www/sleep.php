<?php
// Waiting on something else (a database, an API): 50 ms by default.
usleep(isset($_GET['ms']) ? (int)$_GET['ms'] * 1000 : 50000);
echo "slept\n";
