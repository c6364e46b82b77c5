<?php
// CPU-bound: build, sort and json_encode 20k items.
mt_srand(42);
$items = [];
for ($i = 0; $i < 20000; $i++) {
    $items[] = ['id' => $i, 'score' => mt_rand(0, 1000000), 'name' => 'item' . mt_rand()];
}
$scores = array_column($items, 'score');
array_multisort($scores, SORT_NUMERIC, $items);
$json = json_encode($items);
echo strlen($json), ' ', md5($json), "\n";
