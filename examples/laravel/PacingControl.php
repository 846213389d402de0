<?php

declare(strict_types=1);

namespace App\WaRouter;

use Illuminate\Redis\Connections\Connection;
use Illuminate\Support\Facades\Redis;
use InvalidArgumentException;

/**
 * What the app tells the pacer and reads back from it (CONTRACT.md section 8): pausing and
 * resuming a campaign, a workspace's speed setting, and a target's pace.
 */
final class PacingControl
{
    public const PAUSED = 'wa:campaigns:paused';

    /** @param \Redis|Connection $redis a phpredis client, or Laravel's Redis::connection() */
    public function __construct(private readonly \Redis|Connection $redis)
    {
    }

    public static function fromLaravel(): self
    {
        return new self(Redis::connection());
    }

    /**
     * Nothing more of the campaign is released: its contacts wait in the backlog (its dispatch
     * lists). What is already in a ready list (at most `pacing.ahead` items per target, or one
     * second's releases) is still sent. Pausing before dispatching works too.
     */
    public function pause(int|string $campaignId): void
    {
        $this->redis->sadd(self::PAUSED, (string) $campaignId);
    }

    /** Releases go on where they stopped, within one gap. */
    public function resume(int|string $campaignId): void
    {
        $this->redis->srem(self::PAUSED, (string) $campaignId);
    }

    public function isPaused(int|string $campaignId): bool
    {
        return (bool) $this->redis->sismember(self::PAUSED, (string) $campaignId);
    }

    /**
     * The workspace owner's speed setting, read by the pacer within 5 s; a null removes that
     * field (the daemon's config applies). $ratePerHour: releases per hour and whatsapp-web.js
     * session (Meta keeps its throughput_mps); $dailyCap: per session and day; $sendingHours:
     * "HH:MM-HH:MM" in $timezone (an IANA name; the daemon uses UTC when it is missing).
     */
    public function setWorkspaceSpeed(
        int|string $workspaceId,
        int|float|null $ratePerHour,
        ?int $dailyCap = null,
        ?string $sendingHours = null,
        ?string $timezone = null,
    ): void {
        if ($ratePerHour !== null && $ratePerHour <= 0) {
            throw new InvalidArgumentException('ratePerHour must be > 0 (null: the daemon decides)');
        }
        if ($dailyCap !== null && $dailyCap < 0) {
            throw new InvalidArgumentException('dailyCap must be >= 0');
        }
        if ($sendingHours !== null && !preg_match('/^\d\d:\d\d-\d\d:\d\d$/', $sendingHours)) {
            throw new InvalidArgumentException("sendingHours: expected \"HH:MM-HH:MM\", got \"{$sendingHours}\"");
        }
        $fields = ['rate_per_hour' => $ratePerHour, 'daily_cap' => $dailyCap,
            'sending_hours' => $sendingHours, 'timezone' => $timezone];
        $key = "wa:workspace:{$workspaceId}:pacing";
        $set = array_filter($fields, static fn (mixed $v): bool => $v !== null);
        if ($set !== []) {
            $this->redis->hmset($key, $set);
        }
        $unset = array_keys(array_diff_key($fields, $set));
        if ($unset !== []) {
            $this->redis->hdel($key, ...$unset);
        }
    }

    /**
     * What the pacer keeps for a target (a session id or meta_api:<workspace_id>):
     * rate_per_hour, factor, day, released_today, cap_today, next_at (ms), last_campaign; plus
     * `ready` (released, not yet popped) and `backlog` (campaigns waiting on it). Empty fields
     * until the first release.
     *
     * @return array<string, string|int>
     */
    public function pace(string $target): array
    {
        return $this->redis->hgetall("wa:pace:{$target}") + [
            'ready' => (int) $this->redis->llen(PacedSender::readyKey($target)),
            'backlog' => (int) $this->redis->zcard("wa:backlog:{$target}"),
        ];
    }
}
