<?php
// Sends the response, then keeps working and finally writes ?marker=PATH.
echo "finished-early\n";
fastcgi_finish_request();
usleep((int)((float)($_GET['s'] ?? 2) * 1000000));
file_put_contents($_GET['marker'], 'done ' . getmypid());
