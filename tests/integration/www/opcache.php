<?php
// Which worker ran this, and how often opcache's shared memory served this file.
$s = opcache_get_status(true);
header('Content-Type: application/json');
echo json_encode(['pid' => getmypid(), 'enabled' => $s['opcache_enabled'] ?? false,
                  'hits' => $s['scripts'][$_GET['f']]['hits'] ?? null]);
