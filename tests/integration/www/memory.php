<?php
// Grows memory until memory_limit is exceeded.
$a = [];
echo "start\n";
for ($i = 0; $i < 100000; $i++) { $a[] = str_repeat('x', 1 << 20); }
echo "unreachable\n";
