<?php
// ?s=SECONDS of work in a shutdown function, after the script's output.
register_shutdown_function(function () {
    usleep((int)((float)($_GET['s'] ?? 1) * 1000000));
});
echo "body";
