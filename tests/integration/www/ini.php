<?php
// Shows ini values; ?set=1 tries to change them in this request.
$keys = ['user_agent', 'default_socket_timeout', 'ignore_user_abort', 'memory_limit',
         'display_errors', 'post_max_size', 'upload_max_filesize', 'precision'];
$set = [];
if (!empty($_GET['set'])) {
    $set['user_agent'] = ini_set('user_agent', 'changed-by-script');
    $set['default_socket_timeout'] = ini_set('default_socket_timeout', '99');
    $set['precision'] = ini_set('precision', '3');
}
$vals = [];
foreach ($keys as $k) $vals[$k] = ini_get($k);
header('Content-Type: application/json');
echo json_encode(['ini' => $vals, 'set' => $set]);
