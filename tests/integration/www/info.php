<?php
// Echoes what PHP saw of the request, as JSON.
$input = file_get_contents('php://input');
$files = [];
foreach ($_FILES as $field => $f) {
    if (is_array($f['name'])) {
        foreach ($f['name'] as $i => $name) {
            $files[] = ['field' => $field, 'name' => $name, 'size' => $f['size'][$i],
                        'error' => $f['error'][$i], 'type' => $f['type'][$i],
                        'md5' => $f['error'][$i] === 0 ? md5_file($f['tmp_name'][$i]) : null,
                        'uploaded' => is_uploaded_file($f['tmp_name'][$i]),
                        'tmp_name' => $f['tmp_name'][$i]];
        }
    } else {
        $files[] = ['field' => $field, 'name' => $f['name'], 'size' => $f['size'],
                    'error' => $f['error'], 'type' => $f['type'],
                    'md5' => $f['error'] === 0 ? md5_file($f['tmp_name']) : null,
                    'uploaded' => is_uploaded_file($f['tmp_name']),
                    'tmp_name' => $f['tmp_name']];
    }
}
$post = [];
foreach ($_POST as $k => $v) {
    $post[$k] = is_string($v) && strlen($v) > 256 ? ['len' => strlen($v), 'md5' => md5($v)] : $v;
}
$server = [];
foreach (['REQUEST_METHOD', 'QUERY_STRING', 'REQUEST_URI', 'SCRIPT_NAME', 'SCRIPT_FILENAME',
          'PHP_SELF', 'PATH_INFO', 'PATH_TRANSLATED', 'DOCUMENT_ROOT', 'DOCUMENT_URI',
          'CONTENT_TYPE', 'CONTENT_LENGTH', 'SERVER_PROTOCOL', 'SERVER_NAME', 'SERVER_PORT',
          'REMOTE_ADDR', 'HTTP_HOST', 'HTTPS', 'GATEWAY_INTERFACE', 'ORIG_PATH_INFO'] as $k) {
    if (array_key_exists($k, $_SERVER)) $server[$k] = $_SERVER[$k];
}
foreach ($_SERVER as $k => $v) {
    if (strncmp($k, 'HTTP_X_', 7) === 0 || $k === 'HTTP_COOKIE' || $k === 'HTTP_PROXY') $server[$k] = $v;
}
header('Content-Type: application/json');
echo json_encode([
    'method' => $_SERVER['REQUEST_METHOD'],
    'get' => $_GET,
    'post' => $post,
    'cookie' => $_COOKIE,
    'request' => $_REQUEST,
    'server' => $server,
    'headers' => function_exists('getallheaders') ? getallheaders() : null,
    'input_len' => strlen($input),
    'input_md5' => md5($input),
    'files' => $files,
    'pid' => getmypid(),
    'sapi' => PHP_SAPI,
], JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES);
