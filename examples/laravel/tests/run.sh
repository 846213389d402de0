#!/usr/bin/env bash
# Runs the Laravel example's PHP test, through Debian 12's Laravel framework (8.83) with the given
# Redis client, against a private redis-server and a real wa-routerd.
#
#   examples/laravel/tests/run.sh build/daemon/wa-routerd [phpredis|predis]   (default phpredis)
#
# Runs it twice, each time on a fresh redis-server and daemon: with pacing off (v1: the
# senders pop the dispatch lists) and on (PacedSender pops wa:ready:<target>).
# Exits 0 when every check of both passed.
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
stop_stack() {
  [[ -n "$daemon_pid" ]] && kill -TERM "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null || true
  [[ -n "$redis_pid" ]] && kill -TERM "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null || true
  daemon_pid="" redis_pid=""
}
cleanup() {
  stop_stack
  rm -rf "$work"
}
trap cleanup EXIT

# One phase: a fresh redis-server and daemon (the YAML lines in $2 added to its config), and
# run.php in mode $1. Sets $status to 1 when the phase fails.
status=0
phase() {
  local mode=$1 extra=$2 dir="$work/$1"
  mkdir -p "$dir"
  local sock="$dir/r.sock"
  echo "# ---- phase ${mode}"
  redis-server --port 0 --unixsocket "$sock" --save "" --appendonly no --dir "$dir" \
    --maxmemory-policy noeviction --logfile "$dir/redis.log" &
  redis_pid=$!
  for _ in $(seq 100); do redis-cli -s "$sock" PING >/dev/null 2>&1 && break; sleep 0.05; done
  redis-cli -s "$sock" PING >/dev/null || { echo "run.sh: redis-server did not start" >&2; cat "$dir/redis.log" >&2; exit 1; }

  cat >"$dir/wa-routerd.yaml" <<YAML
redis: {unix_socket: "$sock", prefix: laravel_database_}
health: {check_interval: 1}
metrics: {listen: ""}
$extra
YAML
  "$daemon" --config "$dir/wa-routerd.yaml" 2>"$dir/daemon.log" &
  daemon_pid=$!
  sleep 0.3
  if ! kill -0 "$daemon_pid" 2>/dev/null; then
    echo "run.sh: wa-routerd did not start:" >&2
    cat "$dir/daemon.log" >&2
    exit 1
  fi

  local rc=0
  php "$here/run.php" "$sock" "$client" "$dir/daemon.log" "$mode" || rc=$?
  if ! kill -0 "$daemon_pid" 2>/dev/null; then
    echo "run.sh: wa-routerd exited during the test" >&2
    rc=1
  fi
  if [[ $rc -ne 0 ]]; then
    echo "--- wa-routerd log (last 30 lines)" >&2
    tail -n 30 "$dir/daemon.log" >&2
    status=1
  fi
  stop_stack
}

# v1: the app's senders pop the dispatch lists themselves.
phase v1 "pacing: {enabled: false}"
# v2: the daemon releases contacts into wa:ready:<target>; PacedSender sends them.
phase paced "pacing: {enabled: true}"
exit "$status"
