#!/usr/bin/env bash
# Builds wa-routerd and runs it on a realistic demo.
#
# With no Redis configured (WA_CONFIG unset) it starts a private redis-server on a free local
# port, starts wa-routerd on it, seeds workspaces, sessions of mixed health and a stream of
# message events, pushes campaigns of every kind (including bad ones), prints what the daemon
# decided and where the contacts went, then shows pacing (releases at a fast demo rate taken by
# a simulated sender, a new phone's warm-up cap, a paused campaign, predicted vs observed time,
# `wa-router stats`), and stops everything it started.
#
#   scripts/run.sh                     the demo on a private Redis
#   WA_CONFIG=/etc/wa-router/wa-routerd.yaml scripts/run.sh
#                                      just run the daemon in the foreground on that config
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target wa-routerd wa-router -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
bin="$root/build/daemon/wa-routerd"
cli="$root/build/cli/wa-router"

if [[ -n "${WA_CONFIG:-}" ]]; then
  exec "$bin" --config "$WA_CONFIG"
fi

work=$(mktemp -d /tmp/wa-demo.XXXXXX)
redis_pid="" daemon_pid="" sender_pid=""
cleanup() {
  [[ -n "$sender_pid" ]] && kill -TERM "$sender_pid" 2>/dev/null && wait "$sender_pid" 2>/dev/null || true
  [[ -n "$daemon_pid" ]] && kill -TERM "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null || true
  [[ -n "$redis_pid" ]] && kill -TERM "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  local p
  for p in $(shuf -i 20000-40000 -n 50); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  echo "no free port found" >&2; exit 1
}

redis_port=$(free_port)
metrics_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" \
  --maxmemory-policy noeviction --logfile "$work/redis.log" &
redis_pid=$!
R() { redis-cli -p "$redis_port" "$@"; }
for _ in $(seq 100); do R PING >/dev/null 2>&1 && break; sleep 0.05; done
echo "== private redis-server on 127.0.0.1:$redis_port"

cat >"$work/wa-routerd.yaml" <<YAML
redis: {host: 127.0.0.1, port: $redis_port}
retry: {base_delay: 30, max_delay: 600, jitter: 0.2, max_attempts: 10}
health: {check_interval: 2}
metrics: {listen: "127.0.0.1:$metrics_port"}
logging: {level: info, format: text}
# Pacing on (the default), with a short warm-up so that the demo shows its three stages: a phone
# linked today gets start_per_day (10), a day-old one 10 x (1000 / 10)^(1/2) = 100, older ones
# the daily cap (1000). Real deployments keep the 14 days.
pacing: {enabled: true, ahead: 2, jitter: 0.3, daily_cap: 1000, warmup: {days: 2, start_per_day: 10}}
YAML

# The app's data first: the daemon computes health at start-up from it.
bash scripts/demo/seed.sh "$redis_port"

"$bin" --config "$work/wa-routerd.yaml" 2>"$work/daemon.log" &
daemon_pid=$!
echo "== wa-routerd started (pid $daemon_pid), metrics on http://127.0.0.1:$metrics_port/metrics"
echo "== status page: http://127.0.0.1:$metrics_port/status (open it while the demo runs)"
sleep 2.5  # one health cycle over the seeded events
bash scripts/demo/sender.sh "$redis_port" "$work/sent.log" &
sender_pid=$!

bash scripts/demo/campaigns.sh "$redis_port"
expected=$(R GET demo:expected_results)
for _ in $(seq 200); do
  [[ $(R LLEN wa:results) -ge $expected ]] && break
  sleep 0.05
done
sleep 0.3

bash scripts/demo/report.sh "$redis_port" "$metrics_port"
bash scripts/demo/pacing.sh "$redis_port" "$cli" "$work/wa-routerd.yaml" "$work/sent.log"
echo
echo "== daemon log (last 15 lines)"
tail -n 15 "$work/daemon.log"

# The daemon is still running: let whoever watches open the status page before it stops.
# Interactive: until Enter; WA_DEMO_HOLD=<seconds> holds that long (0: not at all).
hold=${WA_DEMO_HOLD:-}
if [[ -z $hold && -t 0 && -t 1 ]]; then
  echo
  read -r -p "== wa-routerd keeps running: http://127.0.0.1:$metrics_port/status — press Enter to stop " _ || true
elif [[ -n $hold && $hold != 0 ]]; then
  echo
  echo "== wa-routerd keeps running for $hold s: http://127.0.0.1:$metrics_port/status"
  sleep "$hold"
fi
