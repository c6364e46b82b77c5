<?php
// flush() with output_buffering on: nothing has left PHP's output buffer yet, so headers and
// the status can still be changed afterwards (php-fpm's flush() only pushes what PHP already
// handed to the SAPI).
echo "first part\n";
flush();
header('X-After-Flush: yes');
http_response_code(404);
echo "second part\n";
