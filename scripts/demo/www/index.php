<?php
// php-pool demo page: what the request looked like from PHP's side.
session_start();
$_SESSION['visits'] = ($_SESSION['visits'] ?? 0) + 1;
header('Content-Type: text/plain; charset=utf-8');
printf("Hello from php-pool!\n\n");
printf("SAPI:        %s\n", php_sapi_name());
printf("PHP:         %s\n", PHP_VERSION);
printf("worker pid:  %d (user %s)\n", getmypid(), posix_getpwuid(posix_geteuid())['name'] ?? '?');
printf("opcache:     %s\n", function_exists('opcache_get_status') && (opcache_get_status(false)['opcache_enabled'] ?? false) ? 'on' : 'off');
printf("request:     %s %s\n", $_SERVER['REQUEST_METHOD'], $_SERVER['REQUEST_URI']);
printf("script:      %s\n", $_SERVER['SCRIPT_FILENAME']);
printf("path info:   %s\n", $_SERVER['PATH_INFO'] ?? '');
printf("APP_ENV:     %s\n", getenv('APP_ENV'));
printf("visits:      %d (session)\n", $_SESSION['visits']);
