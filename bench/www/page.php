<?php
// A ~2 KB HTML page built from $_SERVER and $_GET (what a small dynamic page does).
$name = isset($_GET['name']) ? (string)$_GET['name'] : 'guest';
$items = isset($_GET['items']) ? max(1, min(100, (int)$_GET['items'])) : 12;
$h = static fn($s) => htmlspecialchars((string)$s, ENT_QUOTES, 'UTF-8');
header('Content-Type: text/html; charset=UTF-8');
?>
<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Hello <?= $h($name) ?></title></head>
<body>
<h1>Hello, <?= $h($name) ?>!</h1>
<p>You asked for <?= $h($_SERVER['REQUEST_URI'] ?? '') ?> with <?= $h($_SERVER['REQUEST_METHOD'] ?? '') ?>
 over <?= $h($_SERVER['SERVER_PROTOCOL'] ?? '') ?> from <?= $h($_SERVER['REMOTE_ADDR'] ?? '') ?>.</p>
<table>
<tr><th>#</th><th>item</th><th>price</th></tr>
<?php for ($i = 1; $i <= $items; $i++): ?>
<tr><td><?= $i ?></td><td>Item <?= $h($name) ?> number <?= $i ?></td><td><?= number_format($i * 3.14159, 2) ?></td></tr>
<?php endfor; ?>
</table>
<ul>
<?php foreach (['SERVER_NAME', 'SERVER_PORT', 'SCRIPT_NAME', 'QUERY_STRING', 'HTTP_HOST', 'HTTP_USER_AGENT'] as $k): ?>
<li><?= $k ?>: <?= $h($_SERVER[$k] ?? '-') ?></li>
<?php endforeach; ?>
</ul>
<p>Generated at <?= gmdate('Y-m-d H:i:s', (int)$_SERVER['REQUEST_TIME']) ?> UTC.</p>
</body>
</html>
