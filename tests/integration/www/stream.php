<?php
// Streams output in chunks with explicit flushes (headers go out with the first flush).
header('X-Stream: 1');
while (ob_get_level()) ob_end_flush();
for ($i = 0; $i < 5; $i++) { echo str_repeat((string)$i, 1000), "\n"; flush(); usleep(20000); }
