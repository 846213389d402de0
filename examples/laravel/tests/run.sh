#!/usr/bin/env bash
# Runs the Laravel example's PHP test, through Debian 12's Laravel framework (8.83) with the given
# Redis client, against a private redis-server and a real wa-routerd.
#
#   examples/laravel/tests/run.sh build/daemon/wa-routerd [phpredis|predis]   (default phpredis)
#
# Exits with run.php's status (0: every check passed).
set -euo pipefail

daemon=${1:?usage: run.sh PATH/TO/wa-routerd [phpredis|predis]}
client=${2:-phpredis}
[[ -x "$daemon" ]] || { echo "run.sh: $daemon is not an executable" >&2; exit 2; }
[[ $client == phpredis || $client == predis ]] || { echo "run.sh: client must be phpredis or predis" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)

# php-cli, php-redis, php-laravel-framework, php-predis: scripts/deps.sh installs what is missing.
"$here/../../../scripts/deps.sh"

work=$(mktemp -d /tmp/wa-laravel-test.XXXXXX)
redis_pid="" daemon_pid=""
cleanup() {
  [[ -n "$daemon_pid" ]] && kill -TERM "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null || true
  [[ -n "$redis_pid" ]] && kill -TERM "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

sock="$work/r.sock"
redis-server --port 0 --unixsocket "$sock" --save "" --appendonly no --dir "$work" \
  --maxmemory-policy noeviction --logfile "$work/redis.log" &
redis_pid=$!
for _ in $(seq 100); do redis-cli -s "$sock" PING >/dev/null 2>&1 && break; sleep 0.05; done
redis-cli -s "$sock" PING >/dev/null || { echo "run.sh: redis-server did not start" >&2; cat "$work/redis.log" >&2; exit 1; }

cat >"$work/wa-routerd.yaml" <<YAML
redis: {unix_socket: "$sock", prefix: laravel_database_}
health: {check_interval: 1}
metrics: {listen: ""}
YAML
"$daemon" --config "$work/wa-routerd.yaml" 2>"$work/daemon.log" &
daemon_pid=$!
sleep 0.3
if ! kill -0 "$daemon_pid" 2>/dev/null; then
  echo "run.sh: wa-routerd did not start:" >&2
  cat "$work/daemon.log" >&2
  exit 1
fi

status=0
php "$here/run.php" "$sock" "$client" "$work/daemon.log" || status=$?
if ! kill -0 "$daemon_pid" 2>/dev/null; then
  echo "run.sh: wa-routerd exited during the test" >&2
  status=1
fi
if [[ $status -ne 0 ]]; then
  echo "--- wa-routerd log (last 30 lines)" >&2
  tail -n 30 "$work/daemon.log" >&2
fi
exit "$status"
