<?php
// The worker kills itself in the middle of the request (its output is still buffered).
echo "dying\n";
posix_kill(getmypid(), 9);
sleep(5);
echo "still alive?\n";
