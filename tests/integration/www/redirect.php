<?php
// header('Location: ...') alone must give 302; ?code=301 keeps an explicit code.
if (isset($_GET['code'])) header('Location: /target.php?x=1', true, (int)$_GET['code']);
else header('Location: /target.php?x=1');
echo "moved\n";
