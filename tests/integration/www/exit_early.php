<?php
// exit() with output still buffered: headers set before exit must reach the client.
header('X-Before-Exit: 1');
echo "partial output";
exit("exit message\n");
