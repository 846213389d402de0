<?php

declare(strict_types=1);

/*
 * The paced phase of run.php: the daemon runs with `pacing: {enabled: true}`. Campaigns pushed
 * by CampaignDispatcher are released by the daemon into wa:ready:<target> and sent by one
 * `php artisan wa:send <target>` process per target (sender.php), which reports every outcome
 * to wa:events. Checks backpressure, pausing, every contact sent exactly once and in order per
 * target, the events and the daemon's counters.
 */

namespace App\WaRouter\Tests;

use App\WaRouter\PacedSender;
use App\WaRouter\PacingControl;
use App\WaRouter\SessionMirror;

const PACED_WS = 9;
const PACED_A = 's-9-a';
const PACED_B = 's-9-b';
const PACED_META = 'meta_api:9';
const PACED_RATE = 36000;          // per hour and session: one release every 0.1 s
const PACED_ROOM = 10;             // max(pacing.ahead 2, one second's releases)

/** The senders, one process per target, as Supervisor runs them. */
final class SenderProcesses
{
    /** @var array<string, resource> target => proc_open handle */
    private array $procs = [];

    public function __construct(private readonly string $socket, private readonly string $client, public readonly string $log)
    {
    }

    public function start(string $target): void
    {
        $cmd = [PHP_BINARY, __DIR__ . '/sender.php', $this->socket, $this->client, $target];
        $io = [0 => ['file', '/dev/null', 'r'], 1 => ['file', $this->log, 'a'], 2 => ['file', $this->log, 'a']];
        $proc = proc_open($cmd, $io, $pipes);
        if ($proc === false) {
            throw new \RuntimeException("cannot start the sender of {$target}");
        }
        $this->procs[$target] = $proc;
    }

    /** SIGTERM to each, as Supervisor stops them; returns target => exit code (-1: still running). */
    public function stop(float $seconds = 8.0): array
    {
        foreach ($this->procs as $proc) {
            proc_terminate($proc, SIGTERM);
        }
        $codes = [];
        foreach ($this->procs as $target => $proc) {
            $code = -1;
            waitFor(static function () use ($proc, &$code): bool {
                $s = proc_get_status($proc);
                if ($s['running']) {
                    return false;
                }
                $code = $s['exitcode'];

                return true;
            }, $seconds);
            if ($code === -1) {
                proc_terminate($proc, SIGKILL);
            }
            proc_close($proc);
            $codes[$target] = $code;
        }
        $this->procs = [];

        return $codes;
    }
}

function pacedCampaigns(Checks $t, World $w, string $socket): void
{
    echo "# pacing on: the sessions, the workspace's speed, a paused campaign\n";
    $pacing = PacingControl::fromLaravel();
    pacedSetup($t, $w, $pacing);

    $contacts = [
        '5001' => range(1, 60),
        '5002' => array_map(static fn (int $i): string => match ($i) { 27 => 'fail-27', 29 => 'throw-29', default => "c-{$i}" }, range(1, 30)),
        '5003' => array_map(static fn (int $i): string => "m-{$i}", range(1, 10)),
    ];
    $pacing->pause(5002);  // before it is even dispatched
    $t->that('PacingControl::pause() adds the campaign to wa:campaigns:paused', $pacing->isPaused(5002));
    $w->dispatcher->dispatch(5001, PACED_WS, 'direct', $contacts['5001']);
    $w->dispatcher->dispatch(5002, PACED_WS, 'template', $contacts['5002'], ['id' => 21, 'status' => 'APPROVED']);
    $w->dispatcher->dispatch(5003, PACED_WS, 'template', $contacts['5003'],
        ['id' => 22, 'status' => 'APPROVED', 'webjs_compatible' => false]);
    $t->that('the three campaigns are decided', waitFor(static fn (): bool => $w->redis->lLen('wa:results') >= 3),
        'only ' . $w->redis->lLen('wa:results'));
    $w->consumer->drain();
    $plan = [];
    foreach (array_keys($contacts) as $campaign) {
        $plan[$campaign] = array_column($w->store->get($campaign)['distribution'] ?? [], 'count', 'target');
    }
    $t->same('campaign 5001 is spread over both sessions', [PACED_A, PACED_B], array_keys($plan['5001']));
    $t->same('campaign 5003 goes to Meta', ['meta_api'], array_keys($plan['5003']));

    pacedBackpressure($t, $w, $pacing);

    echo "# one `php artisan wa:send <target>` per target (PacedSender: BLPOP, send, report)\n";
    $senders = new SenderProcesses($socket, $w->client, dirname($w->daemonLog) . '/senders.log');
    foreach ([PACED_A, PACED_B, PACED_META] as $target) {
        $senders->start($target);
    }
    try {
        pacedSending($t, $w, $pacing, $contacts, $plan);
    } finally {
        $codes = $senders->stop();
    }
    $t->same('each sender stops on SIGTERM and exits 0', [PACED_A => 0, PACED_B => 0, PACED_META => 0], $codes);
    $log = (string) file_get_contents($senders->log);
    $t->that('a send that throws is written to the console and the loop goes on',
        str_contains($log, 'wa:send ') && str_contains($log, 'RuntimeException: the bridge refused throw-29'), $log);

    pacedCounters($t, $w, $pacing, $contacts, $plan);
}

function pacedSetup(Checks $t, World $w, PacingControl $pacing): void
{
    $now = $w->now;
    foreach ([PACED_A => true, PACED_B => false] as $session => $primary) {
        $w->mirror->mirrorSession($session, PACED_WS, SessionMirror::statusFromWebJs('CONNECTED'), $now - 30 * 86400,
            uuid: "uuid-{$session}", phoneNumber: '+1555009' . ($primary ? '1' : '2'), isPrimary: $primary,
            lastConnectedAt: $now - 86400, lastActivityAt: $now - 60);
    }
    $w->mirror->mirrorMeta(PACED_WS, true, throughputMps: 80, tierLimit: 1000, quality: 'GREEN');
    $pacing->setWorkspaceSpeed(PACED_WS, PACED_RATE, dailyCap: 100000, sendingHours: '00:00-24:00', timezone: 'UTC');
    $t->same('setWorkspaceSpeed() writes wa:workspace:<ws>:pacing',
        ['rate_per_hour' => (string) PACED_RATE, 'daily_cap' => '100000', 'sending_hours' => '00:00-24:00', 'timezone' => 'UTC'],
        $w->redis->hGetAll('wa:workspace:' . PACED_WS . ':pacing'));
    $scored = static fn (): bool => $w->redis->hExists('wa:session:' . PACED_A, 'health_score')
        && $w->redis->hExists('wa:session:' . PACED_B, 'health_score');
    $t->that('the daemon scores both sessions', waitFor($scored), 'no health_score after 15 s');
}

/** Nobody pops yet: each ready list fills up to its room, the rest waits in the dispatch lists. */
function pacedBackpressure(Checks $t, World $w, PacingControl $pacing): void
{
    echo "# backpressure: no sender yet\n";
    $full = static fn (): bool => $w->redis->lLen(PacedSender::readyKey(PACED_A)) === PACED_ROOM
        && $w->redis->lLen(PacedSender::readyKey(PACED_B)) === PACED_ROOM
        && $w->redis->lLen(PacedSender::readyKey(PACED_META)) === 10;
    $t->that('the ready lists fill up (10 per session, one second at 36,000/h; all of Meta\'s 10)', waitFor($full, 8.0),
        json_encode(array_map(static fn (string $x): int => $w->redis->lLen(PacedSender::readyKey($x)), [PACED_A, PACED_B, PACED_META])));
    usleep(500_000);
    foreach ([PACED_A, PACED_B] as $session) {
        $pace = $pacing->pace($session);
        $t->same("{$session}: no more than its room is released while nobody pops", [PACED_ROOM, (string) PACED_ROOM],
            [$pace['ready'], $pace['released_today'] ?? null]);
        $t->same("{$session}: the pace hash shows the workspace's rate, today, the cap and factor 1",
            [(string) PACED_RATE, gmdate('Y-m-d'), '100000', '1'],
            [$pace['rate_per_hour'] ?? null, $pace['day'] ?? null, $pace['cap_today'] ?? null, $pace['factor'] ?? null]);
        $t->same("{$session}: the ready items are campaign 5001's (5002 is paused)", ['5001'],
            array_values(array_unique(array_map(static fn (string $j): string => (string) json_decode($j, true)['campaign_id'],
                $w->redis->lRange(PacedSender::readyKey($session), 0, -1)))));
        $t->same("{$session}: both campaigns wait in its backlog", ['5001', '5002'], $w->redis->zRange("wa:backlog:{$session}", 0, -1));
    }
    $item = json_decode((string) $w->redis->lIndex(PacedSender::readyKey(PACED_A), 0), true);
    $t->that('a ready item is {"campaign_id", "contact", "released_at"}',
        is_array($item) && $item['campaign_id'] === 5001 && is_string($item['contact'])
        && preg_match('/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/', $item['released_at'] ?? '') === 1, json_encode($item));
}

/** @return array<string, list<array{target: string, campaign_id: int|string, contact: string}>> campaign => sends */
function sentByCampaign(World $w): array
{
    $by = [];
    foreach ($w->redis->lRange('test:sent', 0, -1) as $json) {
        $s = json_decode($json, true);
        $by[(string) $s['campaign_id']][] = $s;
    }

    return $by;
}

function pacedSending(Checks $t, World $w, PacingControl $pacing, array $contacts, array $plan): void
{
    $sent = static fn (): int => $w->redis->lLen('test:sent');
    $t->that('the senders send campaigns 5001 and 5003 (70 contacts)', waitFor(static fn (): bool => $sent() >= 70, 20.0),
        "only {$sent()}");
    usleep(700_000);
    $by = sentByCampaign($w);
    $t->same('nothing of the paused campaign 5002 is sent', [70, 0], [$sent(), count($by['5002'] ?? [])]);
    $t->same('its 30 contacts wait in its dispatch lists', 30, array_sum(array_map(
        static fn (string $target): int => $w->redis->lLen("wa:dispatch:5002:{$target}"), array_keys($plan['5002']))));

    $pacing->resume(5002);
    $t->that('PacingControl::resume() removes it from wa:campaigns:paused', !$pacing->isPaused(5002));
    $t->that('after resume() its 30 contacts are sent', waitFor(static fn (): bool => $sent() >= 100, 20.0), "only {$sent()}");
    usleep(300_000);
    $t->same('100 sends in all, none twice', 100, $sent());

    $by = sentByCampaign($w);
    foreach ($contacts as $campaign => $ids) {
        $mine = $by[$campaign] ?? [];
        $got = array_column($mine, 'contact');
        sort($got);
        $want = array_map('strval', $ids);
        sort($want);
        $t->that("campaign {$campaign}: every contact sent exactly once", $got === $want,
            count($got) . ' sends for ' . count($want) . ' contacts');
        $position = array_flip(array_map('strval', $ids));
        $perTarget = [];
        foreach ($mine as $s) {
            $perTarget[$s['target']][] = $position[$s['contact']] ?? -1;
        }
        foreach ($perTarget as $target => $positions) {
            $sorted = $positions;
            sort($sorted);
            $t->that("campaign {$campaign}: {$target} sends in the campaign's order", $positions === $sorted);
        }
        $counts = array_map('count', $perTarget);
        ksort($counts);
        $expected = [];
        foreach ($plan[$campaign] as $target => $count) {
            $expected[$target === 'meta_api' ? PACED_META : $target] = $count;
        }
        ksort($expected);
        $t->same("campaign {$campaign}: each target sends what the decision gave it", $expected, $counts);
    }
}

/** The outcome events reach the daemon's counters; its release counts match the sends. */
function pacedCounters(Checks $t, World $w, PacingControl $pacing, array $contacts, array $plan): void
{
    echo "# the reported outcomes in the daemon's statistics\n";
    $day = gmdate('Y-m-d');
    $webjsDay = 'wa:stats:daily:' . PACED_WS . ":webjs:{$day}";
    $metaDay = 'wa:stats:daily:' . PACED_WS . ":meta_api:{$day}";
    $counted = static fn (): bool => $w->redis->lLen('wa:events') === 0
        && $w->redis->hGet($webjsDay, 'total') === '90' && $w->redis->hGet($metaDay, 'total') === '10';
    $t->that('the daemon counts the 100 outcome events', waitFor($counted),
        sprintf('wa:events %d, webjs %s, meta_api %s', $w->redis->lLen('wa:events'),
            json_encode($w->redis->hGetAll($webjsDay)), json_encode($w->redis->hGetAll($metaDay))));
    $t->same('webjs: 88 delivered, 2 failed (one answered failed, one thrown)', ['delivered' => '88', 'failed' => '2'],
        $w->redis->hMGet($webjsDay, ['delivered', 'failed']));
    $t->same('meta_api: 10 delivered', '10', $w->redis->hGet($metaDay, 'delivered'));
    $t->same('no event was malformed', true, in_array($w->redis->get('wa:stats:events:malformed'), [false, '0'], true));
    $sends = [];
    foreach ($w->redis->lRange('test:sent', 0, -1) as $json) {
        $target = json_decode($json, true)['target'];
        $sends[$target] = ($sends[$target] ?? 0) + 1;
    }
    foreach ([PACED_A, PACED_B, PACED_META] as $target) {
        $pace = $pacing->pace($target);
        $released = array_sum(array_map('intval', $w->redis->hGetAll("wa:stats:released:{$target}")));
        $t->same("{$target}: released today = counted releases = sends; ready list and backlog empty",
            [(string) $sends[$target], $sends[$target], 0, 0], [$pace['released_today'] ?? null, $released, $pace['ready'], $pace['backlog']]);
    }
    foreach ([PACED_A, PACED_B] as $session) {
        $t->that("{$session}: the daemon keeps its per-minute message statistics", $w->redis->hLen("wa:stats:session:{$session}") > 0);
    }
}
