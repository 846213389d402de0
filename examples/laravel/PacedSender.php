<?php

declare(strict_types=1);

namespace App\WaRouter;

use Illuminate\Redis\Connections\Connection;
use Illuminate\Support\Facades\Redis;
use InvalidArgumentException;
use Throwable;
use UnexpectedValueException;

/**
 * The sender of one target with pacing on (CONTRACT.md section 8): it pops the target's ready
 * list, `BLPOP wa:ready:<target> 5`, calls the app's send function for each released contact,
 * and reports the outcome to wa:events (section 2) with the time the send took.
 *
 * A target is a whatsapp-web.js session id, or `meta_api:<workspace_id>` for the workspace's
 * Meta Cloud API number. The daemon releases contacts into the ready list at the target's pace,
 * so the sender never waits or counts itself: it sends what it is handed, as soon as it gets it.
 * Run exactly one sender per target (two would share its pace, not double it, but would send a
 * campaign's contacts out of order).
 *
 * The send function gets the campaign id (with its JSON type), the contact id (a string) and the
 * target, and returns the furthest status it knows: 'sent', 'delivered', 'read' or 'failed'. If it
 * throws, 'failed' is reported and the exception propagates (the item is not put back: the
 * message may have gone out).
 *
 * BLPOP is at-most-once: a sender killed between the pop and the send skips that contact.
 */
final class PacedSender
{
    public const READY = 'wa:ready:';
    public const META_PREFIX = 'meta_api:';

    /** @var callable(int|string, string, string): string */
    private $send;
    private readonly SessionMirror $reporter;

    /**
     * @param \Redis|Connection $redis a phpredis client, or Laravel's Redis::connection(); its
     *        read timeout must be longer than $blockSeconds (phpredis's and predis's default,
     *        default_socket_timeout, is 60 s)
     * @param callable(int|string $campaignId, string $contactId, string $target): string $send
     */
    public function __construct(
        private readonly \Redis|Connection $redis,
        private readonly string $target,
        private readonly int|string $workspaceId,
        callable $send,
        private readonly int $blockSeconds = 5,
    ) {
        if ($target === '' || $target === self::META_PREFIX) {
            throw new InvalidArgumentException('target: a session id or meta_api:<workspace_id>');
        }
        if ($blockSeconds < 1) {
            throw new InvalidArgumentException('blockSeconds must be at least 1');
        }
        $this->send = $send;
        $this->reporter = new SessionMirror($redis);
    }

    /** The sender of a whatsapp-web.js session, on Laravel's default Redis connection. */
    public static function forSession(int|string $sessionId, int|string $workspaceId, callable $send, int $blockSeconds = 5): self
    {
        return new self(Redis::connection(), (string) $sessionId, $workspaceId, $send, $blockSeconds);
    }

    /** The sender of a workspace's Meta Cloud API number (target meta_api:<workspace_id>). */
    public static function forMeta(int|string $workspaceId, callable $send, int $blockSeconds = 5): self
    {
        return new self(Redis::connection(), self::metaTarget($workspaceId), $workspaceId, $send, $blockSeconds);
    }

    public static function metaTarget(int|string $workspaceId): string
    {
        return self::META_PREFIX . $workspaceId;
    }

    public static function readyKey(string $target): string
    {
        return self::READY . $target;
    }

    /**
     * The artisan command's loop: sends until $shouldStop() is true (checked after every pop,
     * so a stop takes at most $blockSeconds). Returns how many items it handled.
     *
     * @param callable(): bool $shouldStop
     */
    public function run(callable $shouldStop): int
    {
        $handled = 0;
        while (!$shouldStop()) {
            if ($this->sendNext()) {
                ++$handled;
            }
        }

        return $handled;
    }

    /**
     * Waits up to $blockSeconds for the next released contact, sends it and reports it. Returns
     * false when nothing came. A ready item that is not one (not JSON, no contact) is dropped and
     * reported by an UnexpectedValueException.
     */
    public function sendNext(): bool
    {
        $popped = $this->redis->blpop(self::readyKey($this->target), $this->blockSeconds);
        if (!is_array($popped) || !isset($popped[1])) {
            return false;  // timed out: nothing was released meanwhile
        }
        $item = json_decode((string) $popped[1], true);
        if (!is_array($item) || !isset($item['campaign_id'], $item['contact'])) {
            throw new UnexpectedValueException("wa:ready:{$this->target}: not a ready item: {$popped[1]}");
        }
        $this->deliver($item['campaign_id'], (string) $item['contact']);

        return true;
    }

    private function deliver(int|string $campaignId, string $contactId): void
    {
        $started = hrtime(true);
        try {
            $status = ($this->send)($campaignId, $contactId, $this->target);
        } catch (Throwable $e) {
            $this->report('failed', $started);
            throw $e;
        }
        $this->report($status, $started);
    }

    private function report(string $status, int $startedNs): void
    {
        $meta = str_starts_with($this->target, self::META_PREFIX);
        $this->reporter->reportMessage(
            $meta ? 'meta_api' : 'webjs',
            $status,
            $this->workspaceId,
            $meta ? null : $this->target,
            responseTimeMs: intdiv(hrtime(true) - $startedNs, 1_000_000),
        );
    }
}
