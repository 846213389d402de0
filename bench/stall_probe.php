<?php
// Helpers of bench/redis_stall.sh (phpredis):
//   php stall_probe.php probe SOCK STOPFILE  PINGs every 2 ms until STOPFILE exists; prints the
//                                            worst round trip in ms and the number of PINGs
//   php stall_probe.php slowlog SOCK         prints the worst SLOWLOG entry of the daemon's
//                                            connections (client name wa-routerd:*) and the worst
//                                            of any other client: "us command" each ("0 -" if none),
//                                            then "N M": how many entries of each
[$_, $what, $sock] = $argv + [null, null, null];
$r = new Redis();
$r->connect($sock);
if ($what === 'probe') {
    $stop = $argv[3];
    $worst = 0.0;
    $n = 0;
    while (!file_exists($stop)) {
        $t = microtime(true);
        $r->ping();
        $worst = max($worst, microtime(true) - $t);
        ++$n;
        usleep(2000);
    }
    printf("%.2f %d\n", $worst * 1000, $n);
} elseif ($what === 'slowlog') {
    $best = ['wa' => [0, '-'], 'other' => [0, '-']];
    $count = ['wa' => 0, 'other' => 0];
    foreach ($r->slowlog('get', 100000) as $e) {
        [$id, $ts, $us, $args] = $e;
        $client = $e[5] ?? '';
        $side = str_starts_with($client, 'wa-routerd') ? 'wa' : 'other';
        ++$count[$side];
        if ($us > $best[$side][0]) {
            $cmd = strtoupper((string) ($args[0] ?? '?'));
            if ($cmd === 'EVALSHA') $cmd .= '(' . substr((string) $args[1], 0, 8) . ')';
            if ($cmd === 'EVAL') $cmd .= '(sha ' . substr(sha1((string) $args[1]), 0, 8) . ')';
            $cmd = preg_replace('/\s+/', ' ', $cmd);
            $best[$side] = [$us, $cmd];
        }
    }
    printf("%d %s\n%d %s\n", $best['wa'][0], $best['wa'][1], $best['other'][0], $best['other'][1]);
    printf("%d %d\n", $count['wa'], $count['other']);
}
