<?php
// Not benchmarked: the sanity check compares this between the two backends.
header('Content-Type: application/json');
$opcache = function_exists('opcache_get_status') ? opcache_get_status(false) : false;
echo json_encode([
    'sapi' => PHP_SAPI,
    'version' => PHP_VERSION,
    'ini' => php_ini_loaded_file(),
    'scanned' => array_map('basename', array_map('trim', explode(',', (string)php_ini_scanned_files()))),
    'opcache' => $opcache ? $opcache['opcache_enabled'] : false,
    'jit' => ini_get('opcache.jit'),
    'memory_limit' => ini_get('memory_limit'),
    'output_buffering' => ini_get('output_buffering'),
    'extensions' => count(get_loaded_extensions()),
]), "\n";
