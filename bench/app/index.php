<?php
// A small framework-like application for the benchmark: front controller, router, controllers,
// templates with a layout, a session (cart), a data "repository" and a little autoloading.
declare(strict_types=1);

spl_autoload_register(static function (string $class): void {
    $file = __DIR__ . '/src/' . str_replace('\\', '/', substr($class, strlen('BenchApp\\'))) . '.php';
    if (is_file($file)) {
        require $file;
    }
});

use BenchApp\App;
use BenchApp\Request;

$app = new App(__DIR__ . '/templates');
$app->run(Request::fromGlobals());
