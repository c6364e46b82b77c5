<?php
// ?mb=N: N MiB of output (for clients that do not read their response).
$chunk = str_repeat('x', 1 << 20);
for ($i = 0, $n = (int)($_GET['mb'] ?? 1); $i < $n; $i++) echo $chunk;
