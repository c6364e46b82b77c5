<?php
// The whole of $_SERVER, for backend comparisons.
ksort($_SERVER);
header('Content-Type: text/plain');
var_export($_SERVER);
