<?php
// The simulated senders of bench/pacing_accuracy.sh (phpredis): one loop that every INTERVAL ms
// pops every ready list in one pipeline (LPOP wa:ready:<sid> 100) until STOPFILE exists, and
// prints one line per item: "<sid> <released_at in ms> <popped at in ms>".
//   php pacing_popper.php SOCK SESSIONS_FILE STOPFILE [INTERVAL_MS]
[$_, $sock, $file, $stop] = $argv;
$interval = (int) ($argv[4] ?? 50);
$sessions = file($file, FILE_IGNORE_NEW_LINES | FILE_SKIP_EMPTY_LINES);
$r = new Redis();
$r->connect($sock);
$out = fopen('php://stdout', 'w');
$seconds = [];  // "YYYY-MM-DDTHH:MM:SS" -> Unix seconds (a few per run)

function ms_of(string $iso, array &$seconds): int
{
    // released_at is "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC, milliseconds)
    $s = substr($iso, 0, 19);
    if (!isset($seconds[$s])) $seconds[$s] = (new DateTimeImmutable($s . 'Z'))->getTimestamp();
    return $seconds[$s] * 1000 + (int) substr($iso, 20, 3);
}

while (true) {
    $last = file_exists($stop);  // one more round after the stop file appears
    $t = microtime(true);
    $pipe = $r->multi(Redis::PIPELINE);
    foreach ($sessions as $sid) $pipe->rawCommand("LPOP", "wa:ready:$sid", "100");  // phpredis 5.3: no count in lPop
    $replies = $pipe->exec();
    $now = (int) round(microtime(true) * 1000);
    $lines = '';
    foreach ($replies as $i => $items) {
        if (!is_array($items)) continue;
        foreach ($items as $json) {
            $at = json_decode($json, true)['released_at'] ?? null;
            if ($at === null) { fwrite(STDERR, "popper: no released_at in $json\n"); exit(1); }
            $lines .= $sessions[$i] . ' ' . ms_of($at, $seconds) . " $now\n";
        }
    }
    fwrite($out, $lines);
    if ($last) break;
    $sleep = $interval / 1000 - (microtime(true) - $t);
    if ($sleep > 0) usleep((int) ($sleep * 1e6));
}
