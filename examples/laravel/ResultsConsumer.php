<?php

declare(strict_types=1);

namespace App\WaRouter;

use Illuminate\Redis\Connections\Connection;
use Illuminate\Support\Facades\Redis;
use Throwable;
use UnexpectedValueException;

/**
 * Consumes wa:results (CONTRACT.md sections 4-6) into the app's campaign state.
 *
 * Records are taken with LPOP, in the order the daemon appended them. A record whose store
 * update throws is pushed back to the head of the list before the exception propagates, so it
 * is read again later; the store's upserts make that second application harmless. A record that
 * is not a JSON object with a campaign_id is dropped and reported by an UnexpectedValueException.
 */
final class ResultsConsumer
{
    public const RESULTS = 'wa:results';

    /** @param \Redis|Connection $redis a phpredis client, or Laravel's Redis::connection() */
    public function __construct(
        private readonly \Redis|Connection $redis,
        private readonly CampaignStatusStore $store,
    ) {
    }

    public static function fromLaravel(CampaignStatusStore $store): self
    {
        return new self(Redis::connection(), $store);
    }

    /**
     * The artisan command's loop: drains the list, sleeps $idleSeconds when it is empty, and
     * returns once $shouldStop() is true (e.g. after SIGTERM).
     *
     * @param callable(): bool $shouldStop
     */
    public function run(callable $shouldStop, float $idleSeconds = 1.0): void
    {
        while (!$shouldStop()) {
            if ($this->drain() === 0) {
                usleep((int) ($idleSeconds * 1_000_000));
            }
        }
    }

    /** Handles every record currently in wa:results; returns how many. */
    public function drain(): int
    {
        $handled = 0;
        while (is_string($record = $this->redis->lpop(self::RESULTS))) {
            try {
                $this->handle($record);
            } catch (UnexpectedValueException $e) {
                throw $e;  // malformed: reading it again would not help, so it is not put back
            } catch (Throwable $e) {
                $this->redis->lpush(self::RESULTS, $record);
                throw $e;
            }
            ++$handled;
        }

        return $handled;
    }

    /** Applies one record; kinds this version does not know (e.g. from a newer daemon) are skipped. */
    public function handle(string $record): void
    {
        $r = json_decode($record, true);
        if (!is_array($r) || !isset($r['campaign_id'])) {
            throw new UnexpectedValueException("wa:results: not a record with a campaign_id: {$record}");
        }

        switch ($r['event'] ?? 'decision') {
            case 'decision':
                if ($r['type'] === 'queue') {
                    $this->store->markWaiting($r['campaign_id'], $r['reason'], $r['retry_at'] ?? null);
                } else {
                    $this->store->markActive($r['campaign_id'], $r['distribution'], $r);
                    $this->redis->del(CampaignDispatcher::contactsKey($r['job_id']));
                }
                break;

            case 'dead':
                $this->store->markFailed($r['campaign_id'], $r['error']);
                $this->redis->del(CampaignDispatcher::contactsKey($r['job_id']));
                break;

            case 'provider_switch':
                $switchId = "{$r['campaign_id']}:{$r['from']}:{$r['at']}";
                $distribution = $this->currentDistribution($r['campaign_id']);
                $this->store->recordSwitch($r['campaign_id'], $switchId, $r, $distribution);
                break;
        }
    }

    /** @return list<array{target: string, count: int, key: string}>|null */
    private function currentDistribution(int|string $campaignId): ?array
    {
        $decision = $this->redis->get("wa:campaign:{$campaignId}:decision");

        return is_string($decision)
            ? json_decode($decision, true, 512, JSON_THROW_ON_ERROR)['distribution']
            : null;
    }
}
