<?php
// ?mb=N: builds about N MiB of PHP arrays (Zend heap chunks), frees them, prints the worker pid.
$a = [];
for ($i = 0, $n = (int)($_GET['mb'] ?? 16) * 1024 * 16; $i < $n; $i++) $a[] = [$i];
unset($a);
echo getmypid();
