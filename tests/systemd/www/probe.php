<?php
// The systemd tests' probe: ?busy=SECONDS first (a busy loop: unlike sleep(), a signal to the
// worker cannot cut it short), then JSON with the worker's pid, the php.ini it was started
// from, the ini values named in ?ini=a,b,c and how long it ran. ?log=TEXT: error_log(TEXT)
// (PHP's error_log unset: the SAPI's log, i.e. the pool's log).
$t0 = microtime(true);
if (isset($_GET['log'])) error_log($_GET['log']);
if (isset($_GET['busy'])) {
    $end = $t0 + (float)$_GET['busy'];
    while (microtime(true) < $end) { }
}
$ini = [];
foreach (array_filter(explode(',', $_GET['ini'] ?? '')) as $k) $ini[$k] = ini_get($k);
header('Content-Type: application/json');
echo json_encode(['pid' => getmypid(), 'php_ini' => php_ini_loaded_file(), 'ini' => $ini,
                  'ran' => microtime(true) - $t0]);
