<?php

declare(strict_types=1);

namespace App\WaRouter;

use DateTimeInterface;
use Illuminate\Redis\Connections\Connection;
use Illuminate\Support\Facades\Redis;
use InvalidArgumentException;

/**
 * Writes what wa-routerd reads about the app's phones, Meta account and message outcomes
 * (CONTRACT.md section 2).
 *
 * Session hashes are only ever updated field by field: health_score, health_updated_at and
 * health_metrics belong to the daemon and are never written or deleted here (except by
 * removeSession, when the session is gone). Hashes are written before their ids join the sets,
 * and ids leave the sets before their hashes go, so the daemon never finds an id without data.
 */
final class SessionMirror
{
    public const STATUSES = ['connected', 'authenticated', 'connecting', 'qr_scanning', 'disconnected', 'failed', 'error'];

    /**
     * whatsapp-web.js client states (WAState, from getState() and the change_state event) and
     * client events (qr, authenticated, ready, auth_failure, disconnected and its LOGOUT /
     * NAVIGATION reasons), upper-cased, onto the contract's session status.
     */
    private const WEBJS_STATUS = [
        'CONNECTED' => 'connected',
        'READY' => 'connected',
        'AUTHENTICATED' => 'authenticated',
        'OPENING' => 'connecting',
        'PAIRING' => 'connecting',
        'UNLAUNCHED' => 'connecting',
        'QR' => 'qr_scanning',
        // Logged out: only a new QR scan brings the phone back.
        'UNPAIRED' => 'qr_scanning',
        'UNPAIRED_IDLE' => 'qr_scanning',
        // The phone is unreachable or WhatsApp is open elsewhere: it may come back by itself.
        'TIMEOUT' => 'disconnected',
        'CONFLICT' => 'disconnected',
        'DISCONNECTED' => 'disconnected',
        'LOGOUT' => 'disconnected',
        'NAVIGATION' => 'disconnected',
        // The number is banned: it will not send again.
        'TOS_BLOCK' => 'failed',
        'SMB_TOS_BLOCK' => 'failed',
        'AUTH_FAILURE' => 'failed',
        // The bridge cannot work (blocked proxy, outdated WhatsApp Web).
        'PROXYBLOCK' => 'error',
        'DEPRECATED_VERSION' => 'error',
    ];

    private const PROVIDERS = ['webjs', 'meta_api'];
    private const OUTCOMES = ['sent', 'delivered', 'read', 'failed'];
    private const QUALITIES = ['GREEN', 'YELLOW', 'RED'];

    /** @param \Redis|Connection $redis a phpredis client, or Laravel's Redis::connection() */
    public function __construct(private readonly \Redis|Connection $redis)
    {
    }

    public static function fromLaravel(): self
    {
        return new self(Redis::connection());
    }

    /** The contract status for a whatsapp-web.js state or event; `error` for one it does not know. */
    public static function statusFromWebJs(string $stateOrEvent): string
    {
        return self::WEBJS_STATUS[strtoupper($stateOrEvent)] ?? 'error';
    }

    /**
     * Creates or updates a session. A null time removes that field (e.g. disconnected_at once
     * the phone is back), which the daemon reads as "missing" (CONTRACT.md section 2).
     */
    public function mirrorSession(
        int|string $sessionId,
        int|string $workspaceId,
        string $status,
        int|DateTimeInterface $createdAt,
        string $uuid = '',
        string $phoneNumber = '',
        string $providerType = 'webjs',
        bool $isActive = true,
        bool $isPrimary = false,
        int|DateTimeInterface|null $lastConnectedAt = null,
        int|DateTimeInterface|null $lastActivityAt = null,
        int|DateTimeInterface|null $disconnectedAt = null,
    ): void {
        self::requireOneOf('status', $status, self::STATUSES);
        self::requireOneOf('provider_type', $providerType, ['webjs', 'meta']);

        $this->writeHash("wa:session:{$sessionId}", [
            'workspace_id' => $workspaceId,
            'uuid' => $uuid,
            'phone_number' => $phoneNumber,
            'provider_type' => $providerType,
            'status' => $status,
            'is_active' => (int) $isActive,
            'is_primary' => (int) $isPrimary,
            'created_at' => self::unix($createdAt),
            'last_connected_at' => self::unix($lastConnectedAt),
            'last_activity_at' => self::unix($lastActivityAt),
            'disconnected_at' => self::unix($disconnectedAt),
        ]);
        $this->redis->sadd("wa:workspace:{$workspaceId}:sessions", (string) $sessionId);
        $this->redis->sadd('wa:workspaces', (string) $workspaceId);
    }

    public function removeSession(int|string $sessionId, int|string $workspaceId): void
    {
        $this->redis->srem("wa:workspace:{$workspaceId}:sessions", (string) $sessionId);
        $this->redis->del("wa:session:{$sessionId}");
    }

    /** The workspace's Meta Cloud API settings; null leaves the daemon's default. */
    public function mirrorMeta(
        int|string $workspaceId,
        bool $configured,
        ?int $throughputMps = null,
        ?int $tierLimit = null,
        ?string $quality = null,
    ): void {
        if ($quality !== null) {
            self::requireOneOf('quality', $quality, self::QUALITIES);
        }
        $this->writeHash("wa:workspace:{$workspaceId}:meta", [
            'configured' => (int) $configured,
            'throughput_mps' => $throughputMps,
            'tier_limit' => $tierLimit,
            'quality' => $quality,
        ]);
        $this->redis->sadd('wa:workspaces', (string) $workspaceId);
    }

    /**
     * Reports one outbound message, once, with the furthest status known when reporting
     * (read implies delivered implies sent). $sessionId is required for webjs.
     */
    public function reportMessage(
        string $provider,
        string $status,
        int|string $workspaceId,
        int|string|null $sessionId = null,
        ?int $responseTimeMs = null,
        ?int $deliveryTimeMs = null,
        int|DateTimeInterface|null $at = null,
    ): void {
        self::requireOneOf('provider', $provider, self::PROVIDERS);
        self::requireOneOf('status', $status, self::OUTCOMES);
        if ($provider === 'webjs' && $sessionId === null) {
            throw new InvalidArgumentException('a webjs message needs its session_id');
        }

        $event = array_filter([
            'session_id' => $sessionId,
            'workspace_id' => $workspaceId,
            'provider' => $provider,
            'status' => $status,
            'response_time_ms' => $responseTimeMs,
            'delivery_time_ms' => $deliveryTimeMs,
            'at' => self::unix($at ?? time()),
        ], static fn (mixed $v): bool => $v !== null);
        $json = json_encode($event, JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE);
        $this->redis->rpush('wa:events', $json);
    }

    /** Sets the non-null fields and removes the null ones. @param array<string, int|string|null> $fields */
    private function writeHash(string $key, array $fields): void
    {
        $set = array_filter($fields, static fn (mixed $v): bool => $v !== null);
        $this->redis->hmset($key, $set);
        $unset = array_keys(array_diff_key($fields, $set));
        if ($unset !== []) {
            $this->redis->hdel($key, ...$unset);
        }
    }

    private static function unix(int|DateTimeInterface|null $time): ?int
    {
        return $time instanceof DateTimeInterface ? $time->getTimestamp() : $time;
    }

    /** @param list<string> $allowed */
    private static function requireOneOf(string $field, string $value, array $allowed): void
    {
        if (!in_array($value, $allowed, true)) {
            throw new InvalidArgumentException(
                sprintf('%s: expected one of %s, got %s', $field, implode(', ', $allowed), var_export($value, true)),
            );
        }
    }
}
