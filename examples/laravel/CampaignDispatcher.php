<?php

declare(strict_types=1);

namespace App\WaRouter;

use DateTimeInterface;
use Illuminate\Redis\Connections\Connection;
use Illuminate\Support\Facades\Queue;
use Illuminate\Support\Facades\Redis;
use InvalidArgumentException;

/**
 * Enqueues campaign jobs for wa-routerd (CONTRACT.md section 1).
 *
 * A campaign of at most $chunkSize contacts travels inline in the job (`contacts`); a bigger one
 * is first RPUSHed, chunk by chunk, into its own list `wa:contacts:<job_id>` and the job names
 * that list (`contacts_key`), so a million ids never sit in one JSON string. ResultsConsumer
 * deletes the list once the daemon has served the job or given it up.
 *
 * Every job carries `attempts: 0`, `id` (its job_id) and `displayName`, the fields Laravel's own
 * queue code reads: a stray `queue:work` or Horizon supervisor on this queue would otherwise
 * lose the job (Laravel's pop script fails on a payload without `attempts` after removing it),
 * and Horizon's pushRaw throws after queueing a payload without `id`/`displayName`, so a caller
 * that retries on that exception would queue the campaign twice.
 */
final class CampaignDispatcher
{
    public const QUEUE = 'wa-campaigns';
    public const DISPLAY_NAME = 'wa-router campaign';

    private const TEMPLATE_MODES = ['direct', 'template'];
    private const PREFERENCES = ['auto', 'webjs', 'meta_api'];
    private const TEMPLATE_STATUSES = ['APPROVED', 'PENDING', 'REJECTED', 'PAUSED', 'DISABLED'];
    private const MAX_STRING_ID_BYTES = 256;

    /** A staged contacts list outlives every retry (10 attempts take about 10 h by default). */
    private const CONTACTS_KEY_TTL_SECONDS = 7 * 86400;

    /**
     * @param \Redis|Connection $redis a phpredis client, or Laravel's Redis::connection()
     * @param object $queue anything with Laravel's pushRaw(string $payload, string $queue)
     */
    public function __construct(
        private readonly \Redis|Connection $redis,
        private readonly object $queue,
        private readonly string $queueName = self::QUEUE,
        private readonly int $chunkSize = 1000,
    ) {
        if ($chunkSize < 1) {
            throw new InvalidArgumentException('chunkSize must be at least 1');
        }
    }

    public static function fromLaravel(): self
    {
        return new self(Redis::connection(), Queue::connection('redis'));
    }

    /** The list that holds the contacts of a job too big to carry them inline. */
    public static function contactsKey(string $jobId): string
    {
        return "wa:contacts:{$jobId}";
    }

    /**
     * Builds the job, stages big contact lists, enqueues it, and returns its job_id.
     *
     * @param iterable<int|string> $contacts contact ids in sending order (an array, a Collection
     *        or a lazy cursor: only one chunk is held in memory)
     * @param array{id?: int|string|null, status: string, webjs_compatible?: bool}|null $template
     *        required in template mode; in direct mode an APPROVED one allows the Meta fallback
     * @param DateTimeInterface|null $at a scheduled campaign: the daemon takes it at that time
     *        (to the second), not before; null or a time not in the future: now
     */
    public function dispatch(
        int|string $campaignId,
        int|string $workspaceId,
        string $templateMode,
        iterable $contacts,
        ?array $template = null,
        string $providerPreference = 'auto',
        ?DateTimeInterface $at = null,
    ): string {
        $jobId = self::uuid4();
        $payload = $this->jobFields($jobId, $campaignId, $workspaceId, $templateMode, $template, $providerPreference)
            + $this->stageContacts($jobId, $contacts, $at);
        $json = json_encode($payload, JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE);

        if ($at !== null && $at->getTimestamp() > time()) {
            // What Laravel's RedisQueue::laterRaw() does (protected; Queue::later() would wrap
            // the payload in Laravel's job envelope): the delayed zset, scored by the due time in
            // Unix seconds. The daemon moves it to the queue once due.
            $this->redis->zadd("queues:{$this->queueName}:delayed", $at->getTimestamp(), $json);
        } else {
            $this->queue->pushRaw($json, $this->queueName);
        }

        return $jobId;
    }

    /** Call when the campaign's senders are done: the daemon stops watching it for switches. */
    public function complete(int|string $campaignId): void
    {
        $this->redis->zrem('wa:campaigns:active', (string) $campaignId);
    }

    /** @return array<string, mixed> every field of the job except the contacts */
    private function jobFields(
        string $jobId,
        int|string $campaignId,
        int|string $workspaceId,
        string $templateMode,
        ?array $template,
        string $providerPreference,
    ): array {
        self::requireOneOf('template_mode', $templateMode, self::TEMPLATE_MODES);
        self::requireOneOf('provider_preference', $providerPreference, self::PREFERENCES);
        if ($templateMode === 'template' && $template === null) {
            throw new InvalidArgumentException('template mode needs a template');
        }

        $fields = [
            'job_id' => $jobId,
            'id' => $jobId,                        // Laravel's and Horizon's job id
            'displayName' => self::DISPLAY_NAME,   // read by Horizon
            'attempts' => 0,                       // read by Laravel's pop script
            'campaign_id' => self::id('campaign_id', $campaignId),
            'workspace_id' => self::id('workspace_id', $workspaceId),
            'template_mode' => $templateMode,
            'provider_preference' => $providerPreference,
        ];
        if ($template !== null) {
            self::requireOneOf('template.status', $template['status'] ?? '', self::TEMPLATE_STATUSES);
            $fields['template'] = array_filter([
                'id' => $template['id'] ?? null,
                'status' => $template['status'],
                'webjs_compatible' => (bool) ($template['webjs_compatible'] ?? true),
            ], static fn (mixed $v): bool => $v !== null);
        }

        return $fields;
    }

    /** @return array{contacts: list<int|string>}|array{contacts_key: string} */
    private function stageContacts(string $jobId, iterable $contacts, ?DateTimeInterface $at): array
    {
        $chunk = [];
        $key = null;
        foreach ($contacts as $contact) {
            if (count($chunk) === $this->chunkSize) {
                $key ??= self::contactsKey($jobId);
                $this->redis->rpush($key, ...$chunk);
                $chunk = [];
            }
            $chunk[] = self::id('contact id', $contact);
        }

        if ($key === null) {
            return ['contacts' => $chunk];
        }
        if ($chunk !== []) {
            $this->redis->rpush($key, ...$chunk);
        }
        $this->redis->expire($key, self::CONTACTS_KEY_TTL_SECONDS + max(0, ($at?->getTimestamp() ?? 0) - time()));

        return ['contacts_key' => $key];
    }

    /** An id as the contract takes it: an integer 1…2^63−1 or a non-empty string of ≤ 256 bytes. */
    private static function id(string $what, mixed $id): int|string
    {
        $valid = is_int($id)
            ? $id >= 1
            : is_string($id) && $id !== '' && strlen($id) <= self::MAX_STRING_ID_BYTES;
        if (!$valid) {
            throw new InvalidArgumentException(sprintf(
                '%s: expected a positive integer or a non-empty string of at most 256 bytes, got %s',
                $what,
                var_export($id, true),
            ));
        }

        return $id;
    }

    /** @param list<string> $allowed */
    private static function requireOneOf(string $field, mixed $value, array $allowed): void
    {
        if (!in_array($value, $allowed, true)) {
            throw new InvalidArgumentException(
                sprintf('%s: expected one of %s, got %s', $field, implode(', ', $allowed), var_export($value, true)),
            );
        }
    }

    private static function uuid4(): string
    {
        $bytes = random_bytes(16);
        $bytes[6] = chr(ord($bytes[6]) & 0x0f | 0x40);
        $bytes[8] = chr(ord($bytes[8]) & 0x3f | 0x80);

        return vsprintf('%s%s-%s-%s-%s-%s%s%s', str_split(bin2hex($bytes), 4));
    }
}
