<?php

declare(strict_types=1);

/*
 * One paced sender process, as Supervisor would run `php artisan wa:send <target>`: boots the
 * test's Laravel (bootstrap.php), binds a MessageSender that records every send, and runs the
 * SendPaced command until SIGTERM. Started by paced.php.
 *
 *   php sender.php REDIS_UNIX_SOCKET phpredis|predis TARGET
 *
 * The recording sender RPUSHes {"target", "campaign_id", "contact"} to test:sent (through the
 * same Laravel connection) and answers 'delivered', except: a contact id starting with "fail-"
 * is 'failed', one starting with "throw-" throws.
 */

namespace App\WaRouter\Tests;

use App\WaRouter\MessageSender;
use App\WaRouter\SendPaced;
use Illuminate\Support\Facades\Redis;
use RuntimeException;
use Symfony\Component\Console\Input\ArrayInput;
use Symfony\Component\Console\Output\StreamOutput;

require __DIR__ . '/bootstrap.php';

final class RecordingSender implements MessageSender
{
    public const SENT = 'test:sent';

    public function send(int|string $campaignId, string $contactId, string $target): string
    {
        Redis::connection()->rpush(self::SENT, json_encode(
            ['target' => $target, 'campaign_id' => $campaignId, 'contact' => $contactId],
            JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES,
        ));
        if (str_starts_with($contactId, 'throw-')) {
            throw new RuntimeException("the bridge refused {$contactId}");
        }

        return str_starts_with($contactId, 'fail-') ? 'failed' : 'delivered';
    }
}

[, $socket, $client, $target] = $argv;
$app = bootLaravel($socket, $client, 'laravel_database_');
$app->bind(MessageSender::class, RecordingSender::class);
$command = new SendPaced();
$command->setLaravel($app);
exit($command->run(new ArrayInput(['target' => $target, '--block' => '1']), new StreamOutput(STDOUT)));
