<?php
// Sends the response, then keeps working and finally writes ?marker=PATH. ?lines=N prints N
// lines of 100 bytes after the response (they go nowhere; the script goes on).
echo "finished-early\n";
fastcgi_finish_request();
for ($i = 0; $i < (int)($_GET['lines'] ?? 0); $i++) echo str_repeat('x', 99), "\n";
usleep((int)((float)($_GET['s'] ?? 2) * 1000000));
file_put_contents($_GET['marker'], 'done ' . getmypid() . ' status ' . connection_status());
