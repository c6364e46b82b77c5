<?php
// The worker kills itself in the middle of the request.
echo "dying\n";
flush();
posix_kill(getmypid(), 9);
sleep(5);
echo "still alive?\n";
