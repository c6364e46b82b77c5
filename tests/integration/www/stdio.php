<?php
// Writes one line to the worker's own stderr and stdout streams (not the FastCGI response).
$msg = $_GET['msg'] ?? 'x';
file_put_contents('php://stderr', "$msg err\n");
$out = fopen('php://stdout', 'w');
fwrite($out, "$msg out\n");
fclose($out);
echo getmypid();
