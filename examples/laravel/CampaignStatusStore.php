<?php

declare(strict_types=1);

namespace App\WaRouter;

/**
 * Where ResultsConsumer records what wa-routerd did with a campaign: usually the app's
 * `campaigns` table (see README.md for an Eloquent version).
 *
 * Every method is an upsert: calling it twice with the same arguments must leave the same state
 * as calling it once, because a record the app failed to store is put back and read again.
 */
interface CampaignStatusStore
{
    /**
     * A served decision: the campaign's contacts wait in the dispatch lists of $distribution.
     *
     * @param list<array{target: string, count: int, key: string}> $distribution
     * @param array<string, mixed> $decision the whole decision record (type, reason, session, …)
     */
    public function markActive(int|string $campaignId, array $distribution, array $decision): void;

    /**
     * A `queue` decision: the daemon retries at $retryAt (ISO-8601 UTC); null means it will not
     * (a `dead` event follows).
     */
    public function markWaiting(int|string $campaignId, string $reason, ?string $retryAt): void;

    /** The job went to dead: the campaign will never be sent as queued. */
    public function markFailed(int|string $campaignId, string $error): void;

    /**
     * The daemon moved undelivered contacts off a failing target. $switchId identifies the
     * record (store it once); $distribution is the campaign's distribution after the move, or
     * null when the stored decision has already expired.
     *
     * @param array{campaign_id: int|string, from: string, to: list<string>, moved: int, reason: string, at: string} $switch
     * @param list<array{target: string, count: int, key: string}>|null $distribution
     */
    public function recordSwitch(int|string $campaignId, string $switchId, array $switch, ?array $distribution): void;
}
