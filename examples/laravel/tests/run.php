<?php

declare(strict_types=1);

/*
 * Drives the Laravel example classes through a real Laravel (Debian 12's php-laravel-framework
 * 8.83, booted by bootstrap.php: the Redis and Queue facades, Laravel's RedisQueue) against a real
 * redis-server and a real wa-routerd (started by run.sh, with redis.prefix = laravel_database_).
 *
 *   php run.php REDIS_UNIX_SOCKET phpredis|predis DAEMON_LOG v1|paced
 *
 * v1: the daemon runs with pacing off (the senders pop the dispatch lists); paced: with pacing on,
 * the campaigns are sent by PacedSender (`php artisan wa:send`, tests/paced.php).
 *
 * Exit status 0 when every check passes; the last line is always "N passed, M failed".
 */

namespace App\WaRouter\Tests;

use App\WaRouter\CampaignDispatcher;
use App\WaRouter\CampaignStatusStore;
use App\WaRouter\ConsumeWaResults;
use App\WaRouter\ResultsConsumer;
use App\WaRouter\SessionMirror;
use DateTimeImmutable;
use Illuminate\Container\Container;
use Illuminate\Support\Facades\Queue;
use Illuminate\Support\Facades\Redis as RedisFacade;
use Redis;
use RuntimeException;
use Symfony\Component\Console\Input\ArrayInput;
use Symfony\Component\Console\Output\BufferedOutput;
use Throwable;
use UnexpectedValueException;

require __DIR__ . '/bootstrap.php';
require __DIR__ . '/paced.php';

const PREFIX = 'laravel_database_';
const WS = 7;
const PRIMARY = 's-7-a';
const SECONDARY = 's-7-b';
/** The session hash fields the app writes, in SessionMirror's order. */
const HASH_FIELDS = ['workspace_id', 'uuid', 'phone_number', 'provider_type', 'status', 'is_active', 'is_primary',
    'created_at', 'last_connected_at', 'last_activity_at', 'disconnected_at'];

/** Counts checks and prints one line per check. */
final class Checks
{
    public int $passed = 0;
    public int $failed = 0;

    public function that(string $what, bool $ok, string $detail = ''): bool
    {
        if ($ok) {
            ++$this->passed;
            echo "ok   {$what}\n";
        } else {
            ++$this->failed;
            echo "FAIL {$what}" . ($detail === '' ? '' : ": {$detail}") . "\n";
        }

        return $ok;
    }

    public function same(string $what, mixed $expected, mixed $actual): bool
    {
        return $this->that($what, $expected === $actual, 'expected ' . self::show($expected) . ', got ' . self::show($actual));
    }

    public function summary(): string
    {
        return "{$this->passed} passed, {$this->failed} failed";
    }

    private static function show(mixed $v): string
    {
        return json_encode($v, JSON_UNESCAPED_SLASHES | JSON_PARTIAL_OUTPUT_ON_ERROR) ?: var_export($v, true);
    }
}

/** The app's campaigns table, in memory. */
final class MemoryStatusStore implements CampaignStatusStore
{
    /** @var array<string, array<string, mixed>> campaign id => state */
    public array $campaigns = [];

    public function markActive(int|string $campaignId, array $distribution, array $decision): void
    {
        $this->set($campaignId, ['status' => 'active', 'distribution' => $distribution, 'provider' => $decision['type']]);
    }

    public function markWaiting(int|string $campaignId, string $reason, ?string $retryAt): void
    {
        $this->set($campaignId, ['status' => 'waiting', 'reason' => $reason, 'retry_at' => $retryAt]);
    }

    public function markFailed(int|string $campaignId, string $error): void
    {
        $this->set($campaignId, ['status' => 'failed', 'error' => $error]);
    }

    public function recordSwitch(int|string $campaignId, string $switchId, array $switch, ?array $distribution): void
    {
        $this->campaigns[(string) $campaignId]['switches'][$switchId] = $switch;
        if ($distribution !== null) {
            $this->set($campaignId, ['distribution' => $distribution]);
        }
    }

    public function get(int|string $campaignId): array
    {
        return $this->campaigns[(string) $campaignId] ?? [];
    }

    private function set(int|string $campaignId, array $fields): void
    {
        $this->campaigns[(string) $campaignId] = $fields + ($this->campaigns[(string) $campaignId] ?? []);
    }
}

/** A store whose first markActive fails, like a database that is briefly down. */
final class FlakyStore implements CampaignStatusStore
{
    private bool $failed = false;

    public function __construct(private readonly CampaignStatusStore $inner)
    {
    }

    public function markActive(int|string $campaignId, array $distribution, array $decision): void
    {
        if (!$this->failed) {
            $this->failed = true;
            throw new RuntimeException('database unavailable');
        }
        $this->inner->markActive($campaignId, $distribution, $decision);
    }

    public function markWaiting(int|string $campaignId, string $reason, ?string $retryAt): void
    {
        $this->inner->markWaiting($campaignId, $reason, $retryAt);
    }

    public function markFailed(int|string $campaignId, string $error): void
    {
        $this->inner->markFailed($campaignId, $error);
    }

    public function recordSwitch(int|string $campaignId, string $switchId, array $switch, ?array $distribution): void
    {
        $this->inner->recordSwitch($campaignId, $switchId, $switch, $distribution);
    }
}

/** Polls $probe every 50 ms until it returns true; false after $seconds. */
function waitFor(callable $probe, float $seconds = 15.0): bool
{
    $deadline = microtime(true) + $seconds;
    while (!$probe()) {
        if (microtime(true) > $deadline) {
            return false;
        }
        usleep(50_000);
    }

    return true;
}

function connect(string $socket, string $prefix): Redis
{
    $redis = new Redis();
    $redis->connect($socket);
    $redis->setOption(Redis::OPT_PREFIX, $prefix);

    return $redis;
}

/** @return array<string, mixed> the decisions and events of wa:results by campaign id */
function recordsByCampaign(array $records): array
{
    $by = [];
    foreach ($records as $json) {
        $r = json_decode($json, true);
        $by[(string) $r['campaign_id']][$r['event'] ?? 'decision'] = $r;
    }

    return $by;
}

/**
 * Every contact of $contacts is in exactly one of the campaign's dispatch lists, each list keeps
 * the input order, and each list holds what $distribution says.
 */
function checkDispatchLists(Checks $t, Redis $redis, string $campaign, array $distribution, array $contacts): void
{
    $position = array_flip(array_map('strval', $contacts));
    $seen = [];
    foreach ($distribution as $entry) {
        $list = $redis->lRange($entry['key'], 0, -1);
        $t->same("campaign {$campaign}: {$entry['key']} holds its count", $entry['count'], count($list));
        $positions = array_map(static fn (string $c): int => $position[$c] ?? -1, $list);
        $sorted = $positions;
        sort($sorted);
        $t->that("campaign {$campaign}: {$entry['key']} keeps the input order", $positions === $sorted && !in_array(-1, $positions, true));
        array_push($seen, ...$list);
    }
    sort($seen);
    $expected = array_map('strval', $contacts);
    sort($expected);
    $t->that("campaign {$campaign}: every contact in exactly one dispatch list", $seen === $expected,
        count($seen) . ' listed for ' . count($expected) . ' contacts');
}

/** The world of one run: the booted app, the example classes as the app makes them, and clients for the checks. */
final class World
{
    public readonly Redis $redis;   // phpredis with Laravel's prefix, for the checks
    public readonly Redis $bare;    // no prefix: sees the real key names
    public readonly SessionMirror $mirror;
    public readonly CampaignDispatcher $dispatcher;
    public readonly MemoryStatusStore $store;
    public readonly ResultsConsumer $consumer;
    public readonly int $now;

    public function __construct(
        public readonly Container $app,
        public readonly string $client,
        public readonly string $daemonLog,
        string $socket,
    ) {
        $this->redis = connect($socket, PREFIX);
        $this->bare = connect($socket, '');
        $this->mirror = SessionMirror::fromLaravel();
        $this->dispatcher = CampaignDispatcher::fromLaravel();
        $this->store = new MemoryStatusStore();
        $this->consumer = ResultsConsumer::fromLaravel($this->store);
        $this->now = time();
    }
}

function main(string $socket, string $client, string $daemonLog, string $mode, Checks $t): void
{
    $extra = $client === 'phpredis' ? ['serialized' => ['serializer' => Redis::SERIALIZER_PHP]] : [];
    $app = bootLaravel($socket, $client, PREFIX, $extra);
    $w = new World($app, $client, $daemonLog, $socket);
    $t->same("Laravel's Redis connection uses {$client}",
        $client === 'predis' ? 'Illuminate\Redis\Connections\PredisConnection' : 'Illuminate\Redis\Connections\PhpRedisConnection',
        get_class(RedisFacade::connection()));
    if ($mode === 'paced') {
        pacedCampaigns($t, $w, $socket);

        return;
    }

    webjsStates($t);
    sessionsAndEvents($t, $w);
    pushRawLayout($t, $w);
    strayLaravelWorker($t, $w);
    [$contacts, $records, $by] = campaigns($t, $w);
    resultsConsumer($t, $w, $contacts, $records, $by);
    providerSwitch($t, $w, $contacts);
    scheduledCampaign($t, $w);
    if ($client === 'phpredis') {
        phpSerializer($t, $w);
    }

    $w->dispatcher->complete(1001);
    $t->same('complete() removes the campaign from wa:campaigns:active', false, $w->redis->zScore('wa:campaigns:active', '1001'));
    $t->same('with pacing off, no wa:ready:*, wa:backlog:*, wa:pace:* key is written', [],
        array_merge(...array_map(static fn (string $p): array => $w->bare->keys(PREFIX . $p),
            ['wa:ready:*', 'wa:backlog:*', 'wa:pace:*'])));
}

function webjsStates(Checks $t): void
{
    echo "# whatsapp-web.js states\n";
    $states = [
        'CONNECTED' => 'connected', 'OPENING' => 'connecting', 'PAIRING' => 'connecting',
        'TIMEOUT' => 'disconnected', 'CONFLICT' => 'disconnected', 'UNPAIRED' => 'qr_scanning',
        'TOS_BLOCK' => 'failed', 'SMB_TOS_BLOCK' => 'failed', 'PROXYBLOCK' => 'error',
        'authenticated' => 'authenticated', 'SOMETHING_NEW' => 'error',
    ];
    foreach ($states as $state => $status) {
        $t->same("{$state} maps to {$status}", $status, SessionMirror::statusFromWebJs($state));
    }
}

function sessionsAndEvents(Checks $t, World $w): void
{
    echo "# sessions, Meta settings and message events (SessionMirror::fromLaravel())\n";
    [$redis, $mirror, $now] = [$w->redis, $w->mirror, $w->now];
    $mirror->mirrorSession(PRIMARY, WS, SessionMirror::statusFromWebJs('CONNECTED'), $now - 86400,
        uuid: 'uuid-a', phoneNumber: '+15550001', isPrimary: true,
        lastConnectedAt: $now - 86400, lastActivityAt: $now - 60);
    $mirror->mirrorSession(SECONDARY, WS, SessionMirror::statusFromWebJs('TIMEOUT'), $now - 86400,
        uuid: 'uuid-b', phoneNumber: '+15550002',
        lastConnectedAt: $now - 86400, lastActivityAt: $now - 7200, disconnectedAt: $now - 3600);
    $mirror->mirrorSession(SECONDARY, WS, SessionMirror::statusFromWebJs('READY'), $now - 86400,
        uuid: 'uuid-b', phoneNumber: '+15550002',
        lastConnectedAt: $now - 600, lastActivityAt: $now - 120);
    $mirror->mirrorMeta(WS, true, throughputMps: 80, tierLimit: 1000, quality: 'GREEN');

    $t->same('wa:workspaces', [(string) WS], $redis->sMembers('wa:workspaces'));
    $sessions = $redis->sMembers('wa:workspace:' . WS . ':sessions');
    sort($sessions);
    $t->same('the workspace\'s session set', [PRIMARY, SECONDARY], $sessions);
    $appFields = ['workspace_id' => '7', 'uuid' => 'uuid-a', 'phone_number' => '+15550001', 'provider_type' => 'webjs',
        'status' => 'connected', 'is_active' => '1', 'is_primary' => '1', 'created_at' => (string) ($now - 86400),
        'last_connected_at' => (string) ($now - 86400), 'last_activity_at' => (string) ($now - 60)];
    $t->same('a session hash holds the contract fields', $appFields,
        array_intersect_key($redis->hGetAll('wa:session:' . PRIMARY), array_flip(HASH_FIELDS)));
    $t->same('a reconnected session loses disconnected_at', false, $redis->hExists('wa:session:' . SECONDARY, 'disconnected_at'));
    $t->same('Meta settings', ['configured' => '1', 'throughput_mps' => '80', 'tier_limit' => '1000', 'quality' => 'GREEN'],
        $redis->hGetAll('wa:workspace:' . WS . ':meta'));
    $t->same('the raw key carries the Laravel prefix', 1, $w->bare->exists(PREFIX . 'wa:session:' . PRIMARY));

    $mirror->reportMessage('webjs', 'delivered', WS, PRIMARY, responseTimeMs: 400, deliveryTimeMs: 1500);
    $mirror->reportMessage('webjs', 'read', WS, PRIMARY, responseTimeMs: 600, deliveryTimeMs: 2000);
    $mirror->reportMessage('webjs', 'sent', WS, SECONDARY, responseTimeMs: 500);
    $mirror->reportMessage('meta_api', 'delivered', WS, deliveryTimeMs: 900);
    $mirror->reportMessage('meta_api', 'failed', WS);

    $health = static fn (): bool => $redis->hExists('wa:session:' . PRIMARY, 'health_score')
        && $redis->hExists('wa:session:' . SECONDARY, 'health_score');
    $t->that('the daemon scores both sessions', waitFor($health), 'no health_score after 15 s');
    $day = gmdate('Y-m-d', $now);
    $webjsDay = 'wa:stats:daily:' . WS . ":webjs:{$day}";
    $metaDay = 'wa:stats:daily:' . WS . ":meta_api:{$day}";
    $counted = static fn (): bool => $redis->lLen('wa:events') === 0
        && $redis->hGet($webjsDay, 'total') === '3' && $redis->hGet($metaDay, 'total') === '2';
    $t->that('the daemon consumes the five message events', waitFor($counted),
        sprintf('wa:events %d, webjs %s, meta_api %s', $redis->lLen('wa:events'),
            json_encode($redis->hGetAll($webjsDay)), json_encode($redis->hGetAll($metaDay))));
    $t->same('webjs daily counters: delivered (read included), read', ['delivered' => '2', 'read' => '1'],
        $redis->hMGet($webjsDay, ['delivered', 'read']));
    $t->same('meta_api daily counters: delivered, failed', ['delivered' => '1', 'failed' => '1'],
        $redis->hMGet($metaDay, ['delivered', 'failed']));
    $t->that('no event was malformed', in_array($redis->get('wa:stats:events:malformed'), [false, '0'], true));

    $mirror->mirrorSession(PRIMARY, WS, 'connected', $now - 86400, uuid: 'uuid-a', phoneNumber: '+15550001',
        isPrimary: true, lastConnectedAt: $now - 86400, lastActivityAt: $now - 30);
    $kept = $redis->hMGet('wa:session:' . PRIMARY, ['health_score', 'health_updated_at', 'health_metrics', 'last_activity_at']);
    $t->that('updating a session keeps the daemon\'s health fields',
        !in_array(false, $kept, true) && $kept['last_activity_at'] === (string) ($now - 30), json_encode($kept));
}

function pushRawLayout(Checks $t, World $w): void
{
    echo "# Queue::pushRaw and Queue::later layout (queue wa-layout-check, which the daemon does not read)\n";
    $bare = $w->bare;
    $layout = new CampaignDispatcher(RedisFacade::connection(), Queue::connection('redis'), 'wa-layout-check');
    $smallId = $layout->dispatch(900, WS, 'direct', [3, 'c-4'], ['id' => 5, 'status' => 'APPROVED']);
    $bigId = $layout->dispatch(901, WS, 'direct', range(1, 2500));
    $jobs = $bare->lRange(PREFIX . 'queues:wa-layout-check', 0, -1);
    $t->same('one payload per push in queues:<name>', 2, count($jobs));
    $t->same('one notify entry per push in queues:<name>:notify', ['1', '1'], $bare->lRange(PREFIX . 'queues:wa-layout-check:notify', 0, -1));
    $t->same('a small campaign carries its contacts, attempts 0, id and displayName', [
        'job_id' => $smallId, 'id' => $smallId, 'displayName' => CampaignDispatcher::DISPLAY_NAME, 'attempts' => 0,
        'campaign_id' => 900, 'workspace_id' => WS, 'template_mode' => 'direct',
        'provider_preference' => 'auto', 'template' => ['id' => 5, 'status' => 'APPROVED', 'webjs_compatible' => true],
        'contacts' => [3, 'c-4'],
    ], json_decode($jobs[0], true));
    $big = json_decode($jobs[1], true);
    $t->same('a big campaign names its contacts list', ['job_id' => $bigId, 'contacts_key' => "wa:contacts:{$bigId}"],
        array_intersect_key($big, ['job_id' => 0, 'contacts' => 0, 'contacts_key' => 0]));
    $t->same('the contacts list holds every contact in order', array_map('strval', range(1, 2500)),
        $bare->lRange(PREFIX . "wa:contacts:{$bigId}", 0, -1));
    $t->that('the contacts list expires', $bare->ttl(PREFIX . "wa:contacts:{$bigId}") > 0);
    $t->that('job ids are UUIDs', (bool) preg_match('/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/', $smallId));
    $t->same('Queue::size() counts them', 2, Queue::size('wa-layout-check'));

    // Laravel's own later() scores the delayed zset in whole Unix seconds: the daemon's unit.
    $before = time();
    Queue::later(60, 'wa-layout-check-job', ['x' => 1], 'wa-layout-check');
    $scores = $bare->zRange(PREFIX . 'queues:wa-layout-check:delayed', 0, -1, true);
    $score = (float) (array_values($scores)[0] ?? 0);
    $t->that("Laravel's later() scores :delayed in Unix seconds", $score >= $before + 60 && $score <= time() + 60
        && $score == floor($score), json_encode($scores));
    $scheduledId = $layout->dispatch(902, WS, 'direct', [5], at: new DateTimeImmutable('@' . ($before + 120)));
    $mine = $bare->zScore(PREFIX . 'queues:wa-layout-check:delayed',
        current(array_filter($bare->zRange(PREFIX . 'queues:wa-layout-check:delayed', 0, -1),
            static fn (string $p): bool => str_contains($p, $scheduledId))));
    $t->same('a scheduled campaign is scored by its time in Unix seconds, as later() does', (float) ($before + 120), (float) $mine);
    $t->same('Queue::size() counts the scheduled campaigns', 4, Queue::size('wa-layout-check'));
    $bare->del(PREFIX . 'queues:wa-layout-check', PREFIX . 'queues:wa-layout-check:notify',
        PREFIX . 'queues:wa-layout-check:delayed', PREFIX . "wa:contacts:{$bigId}");
}

/**
 * A Laravel worker (queue:work, a Horizon supervisor) that pops the queue by mistake: Laravel's
 * pop script removes the payload and then fails on one without `attempts`, so that job is gone;
 * a payload with `attempts` is reserved and comes back when its lease expires.
 */
function strayLaravelWorker(Checks $t, World $w): void
{
    echo "# a stray Laravel worker on the queue (queue wa-stray-check)\n";
    $q = PREFIX . 'queues:wa-stray-check';
    $stray = Queue::connection('redis');
    Queue::connection('redis')->pushRaw('{"job_id":"no-attempts","campaign_id":1,"workspace_id":7,"template_mode":"direct","contacts":[1]}', 'wa-stray-check');
    try {
        $stray->pop('wa-stray-check');
    } catch (Throwable) {
        // predis reports the script's error; phpredis returns false
    }
    $t->same('without attempts, the popped payload is lost', [0, 0], [$w->bare->lLen($q), $w->bare->zCard("{$q}:reserved")]);
    (new CampaignDispatcher(RedisFacade::connection(), Queue::connection('redis'), 'wa-stray-check'))
        ->dispatch(1, WS, 'direct', [1]);
    $job = $stray->pop('wa-stray-check');
    $t->that('with attempts 0, it is reserved, to come back when its lease expires',
        $job !== null && $w->bare->zCard("{$q}:reserved") === 1, $job === null ? 'pop() found no job' : get_class($job));
    $w->bare->del($q, "{$q}:notify", "{$q}:reserved");
}

/** @return array{0: array<string, list<int|string>>, 1: list<string>, 2: array<string, mixed>} */
function campaigns(Checks $t, World $w): array
{
    echo "# campaigns (CampaignDispatcher::fromLaravel(), Queue::pushRaw)\n";
    [$redis, $bare, $dispatcher] = [$w->redis, $w->bare, $w->dispatcher];
    $contacts = [
        '1001' => range(1, 10),
        'spring-sale' => array_map(static fn (int $i): string => "c-{$i}", range(1, 25)),
        '1003' => range(201, 207),
        '1004' => range(100001, 102500),
        '1005' => [301, 302],
        '1006' => [401],
    ];
    $approved = ['id' => 11, 'status' => 'APPROVED', 'webjs_compatible' => true];
    $jobIds = [
        '1001' => $dispatcher->dispatch(1001, WS, 'direct', $contacts['1001']),
        'spring-sale' => $dispatcher->dispatch('spring-sale', WS, 'template', $contacts['spring-sale'], $approved),
        '1003' => $dispatcher->dispatch(1003, WS, 'template', $contacts['1003'], ['webjs_compatible' => false] + $approved),
        '1004' => $dispatcher->dispatch(1004, WS, 'direct', (static fn () => yield from $contacts['1004'])()),
        '1005' => $dispatcher->dispatch(1005, WS, 'template', $contacts['1005'], ['id' => 12, 'status' => 'PENDING']),
        '1006' => $dispatcher->dispatch(1006, WS, 'template', $contacts['1006'], ['id' => 13, 'status' => 'REJECTED']),
    ];
    $expectedRecords = 7;  // four served, two queue decisions, one dead event
    $t->that("the daemon appends {$expectedRecords} records to wa:results",
        waitFor(static fn (): bool => $redis->lLen('wa:results') >= $expectedRecords),
        'only ' . $redis->lLen('wa:results'));
    $records = $redis->lRange('wa:results', 0, -1);
    $by = recordsByCampaign($records);

    $expected = [
        '1001' => ['webjs', 'primary_session'],
        'spring-sale' => ['webjs', 'template_webjs'],
        '1003' => ['meta_api', 'standard_template'],
        '1004' => ['webjs', 'primary_session'],
        '1005' => ['queue', 'template_not_approved'],
        '1006' => ['queue', 'template_not_approved'],
    ];
    foreach ($expected as $campaign => [$type, $reason]) {
        $d = $by[$campaign]['decision'] ?? [];
        $t->same("campaign {$campaign}: decision {$type}/{$reason}", [$type, $reason, $jobIds[$campaign]],
            [$d['type'] ?? null, $d['reason'] ?? null, $d['job_id'] ?? null]);
    }
    $t->same('ids come back with their JSON type', [1001, 'spring-sale', WS],
        [$by['1001']['decision']['campaign_id'], $by['spring-sale']['decision']['campaign_id'], $by['1001']['decision']['workspace_id']]);
    $t->that('a PENDING template waits with retry_at', isset($by['1005']['decision']['retry_at']));
    $t->that('a REJECTED template does not wait', !isset($by['1006']['decision']['retry_at']) && isset($by['1006']['dead']));

    $t->same('queues:wa-campaigns and its notify list are empty', [0, 0],
        [$bare->lLen(PREFIX . 'queues:wa-campaigns'), $bare->lLen(PREFIX . 'queues:wa-campaigns:notify')]);
    $t->same('Queue::size() counts the waiting job (queue + delayed + reserved)', 1, Queue::size('wa-campaigns'));
    $retry = $bare->zRange(PREFIX . 'queues:wa-campaigns:delayed', 0, -1, true);
    $due = (float) (array_values($retry)[0] ?? 0);
    $t->that('its retry is scored in Unix seconds (the due time of retry_at)',
        abs($due - strtotime($by['1005']['decision']['retry_at'])) < 1.0, json_encode($retry));
    $t->same('the REJECTED job is in queues:wa-campaigns:dead', 1, $bare->lLen(PREFIX . 'queues:wa-campaigns:dead'));

    return [$contacts, $records, $by];
}

/**
 * The artisan command (ConsumeWaResults, Laravel 8.83's console) drains wa:results until SIGTERM;
 * then replays, a store failure and a malformed record through ResultsConsumer::drain().
 */
function resultsConsumer(Checks $t, World $w, array $contacts, array $records, array $by): void
{
    echo "# the results consumer (php artisan wa:consume-results)\n";
    [$redis, $store, $consumer] = [$w->redis, $w->store, $w->consumer];
    $w->app->instance(CampaignStatusStore::class, $store);
    $command = new ConsumeWaResults();
    $command->setLaravel($w->app);
    pcntl_async_signals(true);
    pcntl_signal(SIGALRM, static fn () => posix_kill(posix_getpid(), SIGTERM));  // Supervisor stops it
    pcntl_alarm(2);
    $started = microtime(true);
    $status = $command->run(new ArrayInput(['--idle' => '0.1']), new BufferedOutput());
    $took = microtime(true) - $started;
    $t->that('the command stops on SIGTERM and exits 0', $status === 0 && $took > 1.5 && $took < 6,
        sprintf('status %d after %.1f s', $status, $took));
    $t->same('the command consumed wa:results', 0, $redis->lLen('wa:results'));
    foreach (['1001', 'spring-sale', '1003', '1004'] as $campaign) {
        $state = $store->get($campaign);
        $t->same("campaign {$campaign} is active with the decision's distribution",
            ['active', $by[$campaign]['decision']['distribution']], [$state['status'] ?? null, $state['distribution'] ?? null]);
        checkDispatchLists($t, $redis, $campaign, $state['distribution'] ?? [], $contacts[$campaign]);
        $t->that("campaign {$campaign} is in wa:campaigns:active", $redis->zScore('wa:campaigns:active', $campaign) !== false);
    }
    $t->same('campaign 1003 goes to meta_api', ['meta_api'], array_column($store->get('1003')['distribution'], 'target'));
    $t->same('the served big campaign\'s contacts list is deleted', 0,
        $redis->exists(CampaignDispatcher::contactsKey($by['1004']['decision']['job_id'])));
    $t->same('campaign 1005 waits', ['waiting', 'template_not_approved', $by['1005']['decision']['retry_at']],
        [$store->get('1005')['status'] ?? null, $store->get('1005')['reason'] ?? null, $store->get('1005')['retry_at'] ?? null]);
    $t->that('campaign 1005 retries in the future', strtotime($by['1005']['decision']['retry_at']) > $w->now);
    $t->same('campaign 1006 failed', ['failed', $by['1006']['dead']['error']],
        [$store->get('1006')['status'] ?? null, $store->get('1006')['error'] ?? null]);

    $before = $store->campaigns;
    $redis->rPush('wa:results', ...$records);
    $t->same('drain() handles every record', count($records), $consumer->drain());
    $t->same('the same records twice change nothing', $before, $store->campaigns);

    // Six consumers append in no fixed order: take a served campaign's decision, the record
    // FlakyStore::markActive fails on.
    $servedRecord = current(array_filter($records, static function (string $json): bool {
        $r = json_decode($json, true);

        return (string) $r['campaign_id'] === '1001' && !isset($r['event']);
    }));
    $redis->rPush('wa:results', $servedRecord);
    $flaky = ResultsConsumer::fromLaravel(new FlakyStore($store));
    try {
        $flaky->drain();
        $t->that('a store failure propagates', false, 'drain() returned');
    } catch (RuntimeException $e) {
        $t->same('a store failure propagates', 'database unavailable', $e->getMessage());
    }
    $t->same('the record is put back at the head', [$servedRecord], $redis->lRange('wa:results', 0, -1));
    $t->same('and is applied by the next drain', 1, $flaky->drain());

    $redis->rPush('wa:results', 'not json');
    try {
        $consumer->drain();
        $t->that('a malformed record is reported', false, 'drain() returned');
    } catch (UnexpectedValueException) {
        $t->same('a malformed record is reported and dropped', 0, $redis->lLen('wa:results'));
    }
}

function providerSwitch(Checks $t, World $w, array $contacts): void
{
    echo "# provider switching after a phone drops\n";
    [$redis, $store, $now] = [$w->redis, $w->store, $w->now];
    $holdsSecondary = static fn (array $c): bool => in_array(SECONDARY, array_column($c['distribution'] ?? [], 'target'), true);
    $onSecondary = array_keys(array_filter($store->campaigns, $holdsSecondary));
    $t->that('the second phone holds contacts of some campaigns', $onSecondary !== [], json_encode($store->campaigns));
    $moved = [];
    foreach ($onSecondary as $campaign) {
        $moved[$campaign] = $redis->lLen("wa:dispatch:{$campaign}:" . SECONDARY);
    }
    $w->mirror->mirrorSession(SECONDARY, WS, SessionMirror::statusFromWebJs('CONFLICT'), $now - 86400,
        uuid: 'uuid-b', phoneNumber: '+15550002', lastConnectedAt: $now - 600, lastActivityAt: $now - 120, disconnectedAt: time());
    $t->that('the daemon reports one switch per campaign', waitFor(static fn (): bool => $redis->lLen('wa:results') >= count($onSecondary)),
        'only ' . $redis->lLen('wa:results'));
    $t->same('drain() handles the switch records', count($onSecondary), $w->consumer->drain());
    foreach ($onSecondary as $campaign) {
        $state = $store->get($campaign);
        $switch = array_values($state['switches'] ?? [])[0] ?? [];
        $t->same("campaign {$campaign}: switch from the dropped phone", [SECONDARY, [PRIMARY], $moved[$campaign], 'disconnected'],
            [$switch['from'] ?? null, $switch['to'] ?? null, $switch['moved'] ?? null, $switch['reason'] ?? null]);
        $t->same("campaign {$campaign}: the stored distribution follows the switch", [PRIMARY],
            array_column($state['distribution'], 'target'));
        checkDispatchLists($t, $redis, (string) $campaign, $state['distribution'], $contacts[$campaign]);
    }
}

/** A campaign scheduled for a time to come waits in :delayed and is decided at that time, not before. */
function scheduledCampaign(Checks $t, World $w): void
{
    echo "# a scheduled campaign\n";
    $redis = $w->redis;
    $due = time() + 2;
    $jobId = $w->dispatcher->dispatch(2001, WS, 'direct', [501, 502], at: new DateTimeImmutable("@{$due}"));
    $t->same('Queue::size() counts it (with the retrying campaign 1005)', 2, Queue::size('wa-campaigns'));
    $decision = null;
    waitFor(static function () use ($redis, $jobId, &$decision): bool {
        foreach ($redis->lRange('wa:results', 0, -1) as $json) {
            $r = json_decode($json, true);
            if (($r['job_id'] ?? null) === $jobId) {
                $decision = $r;

                return true;
            }
        }

        return false;
    }, 8.0);
    $t->same('it is served', ['webjs', 'primary_session'], [$decision['type'] ?? null, $decision['reason'] ?? null]);
    $at = ($decision !== null ? (float) (new DateTimeImmutable($decision['selected_at']))->format('U.v') : 0.0) - $due;
    $t->that('not before its time, and within a second of it', $at >= 0 && $at < 1.6, sprintf('decided %.3f s after its time', $at));
    $t->same('its contacts are dispatched', ['501', '502'], $redis->lRange('wa:dispatch:2001:' . PRIMARY, 0, -1));
    $w->consumer->drain();
}

/**
 * Laravel's phpredis `serializer` option on the connection the app writes sessions through: the
 * values are PHP-serialized; the daemon still reads them, and its log names the option.
 */
function phpSerializer(Checks $t, World $w): void
{
    echo "# phpredis 'serializer' => Redis::SERIALIZER_PHP (connection 'serialized')\n";
    $serialized = new SessionMirror(RedisFacade::connection('serialized'));
    $serialized->mirrorSession('s-8-a', 8, 'connected', $w->now - 86400, uuid: 'uuid-8', phoneNumber: '+15550008',
        isPrimary: true, lastConnectedAt: $w->now - 86400, lastActivityAt: $w->now - 60);
    $t->same('the app\'s values are PHP-serialized', ['s:9:"connected";', 'i:1;'],
        array_values($w->redis->hMGet('wa:session:s-8-a', ['status', 'is_active'])));
    $jobId = $w->dispatcher->dispatch(3001, 8, 'direct', [601]);
    $decision = null;
    waitFor(static function () use ($w, $jobId, &$decision): bool {
        foreach ($w->redis->lRange('wa:results', 0, -1) as $json) {
            $r = json_decode($json, true);
            if (($r['job_id'] ?? null) === $jobId) {
                $decision = $r;

                return true;
            }
        }

        return false;
    }, 8.0);
    $t->same('a campaign of that workspace is still served', ['webjs', 'primary_session', 's-8-a'],
        [$decision['type'] ?? null, $decision['reason'] ?? null, $decision['session']['id'] ?? null]);
    $log = (string) file_get_contents($w->daemonLog);
    $t->that('the daemon\'s log names the key and the option',
        str_contains($log, PREFIX . 'wa:session:s-8-a: field ') && str_contains($log, 'holds a PHP-serialized value')
        && str_contains($log, "set Laravel's phpredis 'serializer' option to none (Redis::SERIALIZER_NONE)"),
        'log: ' . substr($log, -2000));
    $w->consumer->drain();
}

$t = new Checks();
if ($argc !== 5 || !in_array($argv[2], ['phpredis', 'predis'], true) || !in_array($argv[4], ['v1', 'paced'], true)) {
    fwrite(STDERR, "usage: php run.php REDIS_UNIX_SOCKET phpredis|predis DAEMON_LOG v1|paced\n");
    exit(2);
}
try {
    main($argv[1], $argv[2], $argv[3], $argv[4], $t);
} catch (Throwable $e) {
    $t->that('the test ran to the end', false, get_class($e) . ': ' . $e->getMessage() . ' at ' . $e->getFile() . ':' . $e->getLine());
}
echo $t->summary(), "\n";
exit($t->failed === 0 ? 0 : 1);
