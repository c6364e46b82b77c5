<?php
// ?s=SECONDS (float) sleeps, then prints the worker pid.
$s = (float)($_GET['s'] ?? 1);
usleep((int)($s * 1000000));
echo "slept ", getmypid();
