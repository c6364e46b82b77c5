<?php
// The request body as a stream: md5 of php://input.
$body = file_get_contents('php://input');
echo strlen($body), ' ', md5($body), "\n";
