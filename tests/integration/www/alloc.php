<?php
// ?mb=N: builds about N MiB of small PHP arrays (Zend heap chunks), frees them, prints the worker
// pid. In rows of 8,192, so that no single allocation is a huge block (2 MiB or more: Zend maps
// and unmaps those for each request, as php-fpm's does).
// ?kb=N: one string of N KiB instead (pages within the chunk Zend always keeps, up to 2 MiB).
if (isset($_GET['kb'])) {
    $s = str_repeat('x', (int)$_GET['kb'] * 1024);
    unset($s);
    echo getmypid();
    return;
}
$a = [];
for ($i = 0, $n = (int)($_GET['mb'] ?? 16) * 1024 * 16; $i < $n; $i++) $a[$i >> 13][] = [$i];
unset($a);
echo getmypid();
