<?php
// Which process functions a script sees.
header('Content-Type: application/json');
$out = [];
foreach (['pcntl_fork', 'pcntl_exec', 'pcntl_unshare', 'proc_open'] as $f) $out[$f] = function_exists($f);
echo json_encode($out);
