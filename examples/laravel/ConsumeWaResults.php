<?php

declare(strict_types=1);

namespace App\WaRouter;

use Illuminate\Console\Command;

/**
 * `php artisan wa:consume-results`: applies wa-routerd's records (wa:results) to the app's
 * campaigns until SIGTERM or SIGINT, like `queue:work`; run it under Supervisor or systemd.
 *
 * Register it in app/Console/Kernel.php (`protected $commands = [ConsumeWaResults::class];`) and
 * bind your store: `$this->app->bind(CampaignStatusStore::class, EloquentCampaignStatusStore::class);`.
 * Signals are caught with pcntl directly (Command::trap() only exists since Laravel 9), so it runs
 * on Laravel 8.83 and later.
 */
final class ConsumeWaResults extends Command
{
    protected $signature = 'wa:consume-results {--idle=1 : seconds to wait when wa:results is empty}';

    protected $description = 'Apply wa-routerd decisions and events (wa:results) to the campaigns';

    public function handle(CampaignStatusStore $store): int
    {
        $stop = false;
        $async = pcntl_async_signals(true);
        $stopOn = static function () use (&$stop): void {
            $stop = true;
        };
        pcntl_signal(SIGTERM, $stopOn);
        pcntl_signal(SIGINT, $stopOn);
        try {
            // A closure over $stop by reference: fn () => $stop would copy it.
            ResultsConsumer::fromLaravel($store)->run(static function () use (&$stop): bool {
                return $stop;
            }, (float) $this->option('idle'));
        } finally {
            pcntl_signal(SIGTERM, SIG_DFL);
            pcntl_signal(SIGINT, SIG_DFL);
            pcntl_async_signals($async);
        }

        return self::SUCCESS;
    }
}
