<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title><?= $this->e($title) ?> · Widget shop</title>
<link rel="stylesheet" href="/static/style.css">
</head>
<body>
<header>
<nav>
<a href="<?= $this->url('home') ?>">Home</a> ·
<a href="<?= $this->url('cart') ?>">Cart (<?= (int)($cartCount ?? 0) ?>)</a> ·
<a href="<?= $this->url('about') ?>">About</a>
</nav>
</header>
<main>
<h1><?= $this->e($title) ?></h1>
<?= $content ?>
</main>
<footer>Page views this session: <?= (int)($views ?? 0) ?> · <?= gmdate('Y') ?> Widget shop</footer>
</body>
</html>
