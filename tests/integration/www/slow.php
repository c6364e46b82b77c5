<?php
// Sleeps inside two nested functions, long enough to be logged by the slowlog.
function inner_sleeper($s) {
    usleep((int)($s * 1000000));
    return "slept";
}
function outer_caller($s) {
    return inner_sleeper($s);
}
echo outer_caller((float)($_GET['s'] ?? 2.5));
