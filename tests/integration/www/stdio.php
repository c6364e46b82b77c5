<?php
// Writes one line to the worker's own stderr and stdout streams (not the FastCGI response);
// ?partial=1: then text without a newline to stderr.
$msg = $_GET['msg'] ?? 'x';
file_put_contents('php://stderr', "$msg err\n");
$out = fopen('php://stdout', 'w');
fwrite($out, "$msg out\n");
fclose($out);
if (!empty($_GET['partial'])) file_put_contents('php://stderr', "$msg partial");
echo getmypid();
