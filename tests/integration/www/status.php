<?php
// ?code=N sets the status; ?h[Name]=value adds headers; ?cookie=v sets two cookies.
if (isset($_GET['code'])) http_response_code((int)$_GET['code']);
foreach ($_GET['h'] ?? [] as $name => $value) header("$name: $value");
if (isset($_GET['multi'])) { header('X-Multi: one'); header('X-Multi: two', false); }
if (isset($_GET['cookie'])) {
    setcookie('first', $_GET['cookie']);
    setcookie('second', 'b v', ['path' => '/sub', 'httponly' => true, 'samesite' => 'Lax']);
}
if (isset($_GET['raw'])) header($_GET['raw']);
echo "status body\n";
