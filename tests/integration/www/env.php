<?php
// getenv() and $_ENV / $_SERVER views of the environment.
$names = ['POOL_FOO', 'POOL_SPACES', 'POOL_FROM_RUNNER', 'RUNNER_LEAK', 'PATH', 'HTTP_PROXY', 'REQUEST_METHOD',
          'HTTP_X_TEST', 'SCRIPT_FILENAME', 'USER', 'HOME'];
$out = [];
foreach ($names as $n) $out['getenv'][$n] = getenv($n);
$out['server_HTTP_PROXY'] = $_SERVER['HTTP_PROXY'] ?? null;
$out['server_POOL_FOO'] = $_SERVER['POOL_FOO'] ?? null;
$all = getenv();
$out['getenv_all_has_RUNNER_LEAK'] = array_key_exists('RUNNER_LEAK', $all);
$out['getenv_all_has_POOL_FOO'] = array_key_exists('POOL_FOO', $all);
header('Content-Type: application/json');
echo json_encode($out);
