<?php
// ?s=SECONDS: sleep() in whole seconds; its return value is what was left when a signal cut it
// short (0 when it slept in full), with the time it really took.
$t = microtime(true);
$left = sleep((int)($_GET['s'] ?? 2));
header('Content-Type: application/json');
echo json_encode(['left' => $left, 'took' => microtime(true) - $t]);
