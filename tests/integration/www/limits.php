<?php
// The worker's resource limits, nice value and scheduling policy, as the kernel reports them.
header('Content-Type: application/json');
$limits = [];
foreach (file('/proc/self/limits') as $line) {
    if (preg_match('/^Max open files\s+(\S+)\s+(\S+)/', $line, $m)) $limits['nofile'] = [$m[1], $m[2]];
}
$stat = explode(' ', file_get_contents('/proc/self/stat'));
// policy: 0 SCHED_OTHER, 3 SCHED_BATCH, 5 SCHED_IDLE
echo json_encode(['limits' => $limits, 'nice' => (int)$stat[18], 'policy' => (int)$stat[40]]);
