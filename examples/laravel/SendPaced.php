<?php

declare(strict_types=1);

namespace App\WaRouter;

use Illuminate\Console\Command;
use Illuminate\Support\Facades\Redis;
use Throwable;

/**
 * `php artisan wa:send <target>`: the paced sender of one target (a whatsapp-web.js session id,
 * or meta_api:<workspace_id>) until SIGTERM or SIGINT. Run one per target under Supervisor or
 * systemd, like `queue:work`: a program per session (`wa:send 42`) and one per workspace with
 * Meta (`wa:send meta_api:7`).
 *
 * Register it in app/Console/Kernel.php (`protected $commands = [SendPaced::class];`) and bind
 * your sender: `$this->app->bind(MessageSender::class, WhatsAppMessageSender::class);`. A send
 * that throws is reported as failed, written to the console, and the loop goes on. A session's
 * workspace is read from its hash (what SessionMirror wrote), unless --workspace gives it.
 */
final class SendPaced extends Command
{
    protected $signature = 'wa:send {target : a session id, or meta_api:<workspace_id>}
        {--workspace= : the session\'s workspace id (default: from wa:session:<id>)}
        {--block=5 : seconds each BLPOP waits (a stop takes at most this long)}';

    protected $description = 'Send what wa-routerd releases for one target (wa:ready:<target>) and report the outcomes';

    public function handle(MessageSender $sender): int
    {
        $target = (string) $this->argument('target');
        $workspaceId = $this->workspaceOf($target);
        if ($workspaceId === null) {
            $this->error("wa:send {$target}: no workspace (no wa:session:{$target} hash; pass --workspace)");

            return self::FAILURE;
        }
        $paced = new PacedSender(Redis::connection(), $target, $workspaceId,
            static fn (int|string $campaignId, string $contactId, string $t): string => $sender->send($campaignId, $contactId, $t),
            (int) $this->option('block'));

        $stop = false;
        $async = pcntl_async_signals(true);
        $stopOn = static function () use (&$stop): void {
            $stop = true;
        };
        pcntl_signal(SIGTERM, $stopOn);
        pcntl_signal(SIGINT, $stopOn);
        try {
            while (!$stop) {
                try {
                    $paced->sendNext();
                } catch (Throwable $e) {
                    // Reported as failed already (or a malformed item, dropped); the next contact
                    // must not wait for this one.
                    $this->error("wa:send {$target}: " . get_class($e) . ': ' . $e->getMessage());
                }
            }
        } finally {
            pcntl_signal(SIGTERM, SIG_DFL);
            pcntl_signal(SIGINT, SIG_DFL);
            pcntl_async_signals($async);
        }

        return self::SUCCESS;
    }

    /** The workspace id, an integer when it reads as one (as the app's events carry it). */
    private function workspaceOf(string $target): int|string|null
    {
        $ws = $this->option('workspace');
        if ($ws === null || $ws === '') {
            $ws = str_starts_with($target, PacedSender::META_PREFIX)
                ? substr($target, strlen(PacedSender::META_PREFIX))
                : Redis::connection()->hget("wa:session:{$target}", 'workspace_id');
        }
        if (!is_string($ws) || $ws === '') {
            return null;
        }

        return preg_match('/^[1-9][0-9]{0,17}$/', $ws) ? (int) $ws : $ws;
    }
}
