<?php

declare(strict_types=1);

/*
 * A minimal Laravel application for the test: the framework as Debian 12 ships it
 * (php-laravel-framework 8.83, autoloaders under /usr/share/php/Illuminate), with what
 * config/database.php and config/queue.php give an app: the Redis manager (phpredis or predis) with
 * Laravel's key prefix, and the `redis` queue connection on it. The Redis and Queue facades work.
 */

namespace App\WaRouter\Tests;

require_once 'Illuminate/Config/autoload.php';
require_once 'Illuminate/Console/autoload.php';
require_once 'Illuminate/Container/autoload.php';
require_once 'Illuminate/Queue/autoload.php';
require_once 'Illuminate/Redis/autoload.php';
require_once 'Illuminate/Support/autoload.php';

use Illuminate\Config\Repository;
use Illuminate\Container\Container;
use Illuminate\Queue\Connectors\RedisConnector;
use Illuminate\Queue\QueueManager;
use Illuminate\Redis\RedisManager;
use Illuminate\Support\Arr;
use Illuminate\Support\Facades\Facade;

foreach (['CampaignStatusStore', 'CampaignDispatcher', 'ResultsConsumer', 'SessionMirror', 'ConsumeWaResults',
    'MessageSender', 'PacedSender', 'PacingControl', 'SendPaced'] as $class) {
    require_once __DIR__ . "/../{$class}.php";
}

/**
 * Boots the container on a Redis at a Unix socket. $client: 'phpredis' or 'predis'. Besides the
 * `default` connection (what the app and wa-router share), $extra names more connections with
 * their own options (e.g. a phpredis `serializer`).
 *
 * @param array<string, array<string, mixed>> $extra connection name => options
 */
function bootLaravel(string $socket, string $client, string $prefix, array $extra = []): Container
{
    $server = $client === 'predis'
        ? ['scheme' => 'unix', 'path' => $socket, 'database' => 0]
        : ['host' => $socket, 'port' => 0, 'database' => 0];
    $redis = ['client' => $client, 'options' => ['prefix' => $prefix], 'default' => $server];
    foreach ($extra as $name => $options) {
        $redis[$name] = $server + ['options' => $options];
    }

    $app = new Container();
    Container::setInstance($app);
    $app->instance('config', new Repository([
        'database' => ['redis' => $redis],
        'queue' => [
            'default' => 'redis',
            'connections' => ['redis' => [
                'driver' => 'redis', 'connection' => 'default', 'queue' => 'default',
                'retry_after' => 90, 'block_for' => null,
            ]],
        ],
    ]));
    // As Illuminate\Redis\RedisServiceProvider and Illuminate\Queue\QueueServiceProvider register them.
    $app->singleton('redis', static function (Container $app): RedisManager {
        $config = $app->make('config')->get('database.redis', []);

        return new RedisManager($app, Arr::pull($config, 'client', 'phpredis'), $config);
    });
    $app->bind('redis.connection', static fn (Container $app) => $app['redis']->connection());
    $app->singleton('queue', static function (Container $app): QueueManager {
        $manager = new QueueManager($app);
        $manager->addConnector('redis', static fn () => new RedisConnector($app['redis']));

        return $manager;
    });
    Facade::clearResolvedInstances();
    Facade::setFacadeApplication($app);

    return $app;
}
