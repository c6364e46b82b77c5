<?php
// multipart/form-data upload: PHP parses the body and writes the file to upload_tmp_dir.
$f = $_FILES['file'] ?? null;
if (!$f || $f['error'] !== UPLOAD_ERR_OK) {
    http_response_code(400);
    echo "no upload\n";
    return;
}
echo $f['size'], ' ', $_POST['title'] ?? '', "\n";
