#!/usr/bin/env bash
# Redis is shared with the Laravel app (issue 10): no command or script of the daemon may hold it
# for more than 10 ms. This runs, one after the other against one daemon, the workloads that
# once stalled Redis for hundreds of milliseconds, and reports for each the worst SLOWLOG entry
# of the daemon's connections (named wa-routerd:*), the worst of other clients, and the worst
# round trip of a PING sent every 2 ms meanwhile; first the same figures for a plain
# redis-benchmark run (the baseline: what Redis itself does on this machine at that moment).
#
#   bench/redis_stall.sh [-n CONTACTS] [--no-build] [--keep]
#
#   -n CONTACTS  the size of the big workloads (default 1000000; the issue asks for 1M and 10M)
# Workloads: a contacts_key list appended to dispatch lists that exist (round_robin), a batch of
# 64 round_robin contacts_key jobs of CONTACTS/64 each, a 51 MB payload taken (over
# queue.max_payload_bytes), a provider switch of CONTACTS contacts, one events batch over 20,000
# workspaces, and a session statistics hash of 100,000 far-future minutes pruned by the health
# cycle. Exits 1 when a workload's outcome is wrong (not when a figure is high: the table says).
set -euo pipefail
export LC_ALL=C
bench=redis_stall
contacts=1000000
args=()
while [[ $# -gt 0 ]]; do
  case $1 in
    -n) contacts=${2:?}; shift 2 ;;
    --no-build) build=0; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) args+=("$1"); shift ;;
  esac
done
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
probe=$root/bench/stall_probe.php

wa_build
wa_start_redis
R CONFIG SET slowlog-log-slower-than 1000 >/dev/null
R CONFIG SET slowlog-max-len 100000 >/dev/null
cat >"$work/wa.yaml" <<YAML
redis: {unix_socket: "$sock"}
health: {check_interval: 1}
load_balancing: {strategy: round_robin}
metrics: {listen: ""}
YAML
bash "$root/bench/switch_seed.sh" seed -n "$contacts" -- -s "$sock" >/dev/null
wa_start_daemon "$work/wa.yaml" "$work/daemon.log"

list_resp() {  # KEY N: RPUSH commands of 1000 ids each
  awk -v n="$2" -v key="$1" 'BEGIN {
    for (i = 0; i < n; i += 1000) {
      m = (n - i < 1000) ? n - i : 1000
      printf "*%d\r\n$5\r\nRPUSH\r\n$%d\r\n%s\r\n", m + 2, length(key), key
      for (k = i; k < i + m; k++) { c = sprintf("%.0f", 80000000000 + k); printf "$%d\r\n%s\r\n", length(c), c }
    }
  }'
}
push_job() {  # PAYLOAD
  R RPUSH queues:wa-campaigns "$1" >/dev/null
  R RPUSH queues:wa-campaigns:notify 1 >/dev/null
}
wait_for() {  # SECONDS CONDITION...: polls the shell condition every 50 ms
  local limit=$1 i
  shift
  for ((i = 0; i < limit * 20; i++)); do
    if eval "$@"; then return 0; fi
    sleep 0.05
  done
  die "timed out waiting for: $*"
}

rows=()
# phase NAME FUNCTION: resets the slow log, runs FUNCTION with a PING prober beside it, and adds
# a row "name|daemon worst us|its command|others' worst us|its command|PING worst ms|seconds".
phase() {
  local name=$1 fn=$2 t0 t1
  R SLOWLOG RESET >/dev/null
  rm -f "$work/stop"
  php "$probe" probe "$sock" "$work/stop" >"$work/probe.txt" &
  local probe_pid=$!
  t0=$(date +%s.%N)
  "$fn"
  t1=$(date +%s.%N)
  touch "$work/stop"
  wait "$probe_pid"
  php "$probe" slowlog "$sock" >"$work/slow.txt"
  local wa other ping secs
  wa=$(sed -n 1p "$work/slow.txt") other=$(sed -n 2p "$work/slow.txt")
  ping=$(awk '{ print $1 }' "$work/probe.txt")
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
  rows+=("$name|${wa% *}|${wa#* }|${other% *}|${other#* }|$ping|$secs")
  log "== $name ($secs s): daemon worst ${wa% *} us (${wa#* }), others ${other% *} us, PING worst $ping ms"
}

baseline() {
  redis-benchmark -s "$sock" -n 300000 -P 16 -q -t set,lpush,lpop,get >/dev/null
}

append_existing() {  # a contacts_key list appended to dispatch lists that exist
  for s in s1 s2 s3; do R RPUSH "wa:dispatch:11:$s" first >/dev/null; done
  push_job '{"job_id":"append","campaign_id":11,"workspace_id":"1","template_mode":"direct","attempts":0,"contacts_key":"stall:src"}'
  wait_for 300 '[[ $(R EXISTS wa:campaign:11:decision) == 1 && $(R EXISTS wa:appending) == 0 ]]'
  local total=0 s
  for s in s1 s2 s3; do total=$((total + $(R LLEN "wa:dispatch:11:$s"))); done
  [[ $total == $((contacts + 3)) ]] || die "append: $total contacts in the lists, $((contacts + 3)) expected"
}

batch_of_64() {  # 64 round_robin contacts_key jobs pushed at once (one take)
  local i jobs=()
  for i in $(seq 1 64); do
    jobs+=("{\"job_id\":\"rr$i\",\"campaign_id\":$((100 + i)),\"workspace_id\":\"1\",\"template_mode\":\"direct\",\"attempts\":0,\"contacts_key\":\"stall:src64\"}")
  done
  R RPUSH queues:wa-campaigns "${jobs[@]}" >/dev/null
  R RPUSH queues:wa-campaigns:notify 1 >/dev/null
  wait_for 300 '[[ $(R EXISTS wa:campaign:164:decision) == 1 && $(R LLEN queues:wa-campaigns) == 0 && $(R ZCARD queues:wa-campaigns:reserved) == 0 ]]'
}

oversized() {  # a 51 MB payload, over queue.max_payload_bytes
  R -x RPUSH queues:wa-campaigns <"$work/huge.json" >/dev/null
  R RPUSH queues:wa-campaigns:notify 1 >/dev/null
  wait_for 120 '[[ $(R LLEN queues:wa-campaigns:dead) -ge 1 ]]'
}

switch_big() {  # the session holding CONTACTS contacts of campaign 77 breaks
  bash "$root/bench/switch_seed.sh" break -- -s "$sock"
  wait_for 300 'R LRANGE wa:results -20 -1 | grep -q "\"provider_switch\",\"campaign_id\":77,"'
}
switch_check() {  # outside the measured window: it reads every list
  bash "$root/bench/switch_seed.sh" check -n "$contacts" -- -s "$sock" >/dev/null ||
    die "switch: contacts lost, doubled or out of order"
}

events_wide() {  # one events batch over 20,000 workspaces
  awk -v now="$(date +%s)" 'BEGIN {
    for (i = 1; i <= 20000; i++) {
      e = sprintf("{\"session_id\":\"s1\",\"workspace_id\":\"w%d\",\"provider\":\"webjs\",\"status\":\"delivered\",\"at\":%d}", i, now)
      printf "*3\r\n$5\r\nRPUSH\r\n$9\r\nwa:events\r\n$%d\r\n%s\r\n", length(e), e
    }
  }' | wa_pipe
  wait_for 120 '[[ $(R LLEN wa:events) == 0 && $(R EXISTS wa:events:staged) == 0 ]]'
}

far_future_stats() {  # 100,000 far-future minutes in a session's statistics hash
  wait_for 30 '[[ $(R HLEN wa:stats:session:s3) -lt 1000 ]]'
}

seed_far_future() {
  awk 'BEGIN {
    v = "0123456789012345678901234567890123456789abcd"
    for (i = 0; i < 100000; i += 1000) {
      printf "*%d\r\n$4\r\nHSET\r\n$19\r\nwa:stats:session:s3\r\n", 2 + 2000
      for (k = i; k < i + 1000; k++) { f = sprintf("%d", 900000000 + k); printf "$%d\r\n%s\r\n$44\r\n%s\r\n", length(f), f, v }
    }
  }' | wa_pipe
}

log "== seeding ($contacts contacts)"
list_resp stall:src "$contacts" | wa_pipe
list_resp stall:src64 $((contacts / 64)) | wa_pipe
php -r '$n = 51 * 1024 * 1024; echo "{\"job_id\":\"huge\",\"campaign_id\":12,\"workspace_id\":\"1\",\"template_mode\":\"direct\",\"attempts\":0,\"contacts\":[\"", str_repeat("x", $n), "\"]}";' >"$work/huge.json"
wait_for 30 '[[ $(R EXISTS wa:health:s1) == 1 ]]'

phase "baseline: redis-benchmark -P 16 (SET, LPUSH, LPOP, GET; 300,000 each)" baseline
phase "contacts_key of $contacts appended to dispatch lists that exist" append_existing
phase "64 round_robin contacts_key jobs of $((contacts / 64)) in one batch" batch_of_64
phase "a 51 MB payload taken (over queue.max_payload_bytes)" oversized
phase "provider switch of $contacts contacts" switch_big
switch_check
phase "one events batch over 20,000 workspaces" events_wide
seed_far_future
phase "100,000 far-future minutes pruned by the health cycle" far_future_stats

wa_stop_daemon
[[ $(log_errors "$work/daemon.log") == 0 ]] || die "daemon errors: $(first_log_error "$work/daemon.log")"
printf '\n| workload | daemon: worst command | other clients: worst command | worst PING | time |\n'
printf '|---|---|---|---|---|\n'
for row in "${rows[@]}"; do
  IFS='|' read -r name wus wcmd ous ocmd ping secs <<<"$row"
  printf '| %s | %s ms %s | %s ms %s | %s ms | %s s |\n' "$name" \
    "$(awk -v u="$wus" 'BEGIN { printf "%.1f", u / 1000 }')" "$wcmd" \
    "$(awk -v u="$ous" 'BEGIN { printf "%.1f", u / 1000 }')" "$ocmd" "$ping" "$secs"
done
