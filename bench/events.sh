#!/usr/bin/env bash
# Event-ingestion benchmark (issue 5): a backlog of message events in wa:events (CONTRACT.md
# section 2) and how fast wa-routerd folds them into its per-session minute buckets and
# per-workspace daily counters.
#
#   bench/events.sh [-e EVENTS] [-o time|random] [-r RUNS] [--no-build] [--keep]
#
#   -e EVENTS     events to preload (default 500000, or $WA_EVENTS)
#   -o ORDER      `time` (default): the list in the order the app pushed them, `at` ascending
#                 over the last 50 minutes; `random`: the same events with `at` shuffled (a
#                 backlog merged from many app servers; every batch touches every minute)
#   -r RUNS       repeat the whole run (fresh Redis, same data) and print medians
#   --no-build    use the binaries already in build-bench/
#   --keep        keep the temporary directory and print it
#
# Data: 100 workspaces x 10 healthy webjs sessions (wa:session hashes, as the app keeps them), and
# EVENTS JSON events RPUSHed 100 per command: 90 % webjs naming one of the 1,000 sessions, 10 %
# meta_api without a session; statuses 10 % sent, 68 % delivered, 15 % read, 7 % failed;
# response_time_ms on 95 %, delivery_time_ms on delivered and read. The daemon is started on
# the backlog (its start-up health cycle runs at the same time, as in production); the wall time
# runs from starting it until LLEN wa:events is 0. Goal: >= 100,000 events/s.
# Checks (exit 1 when off): the `total`s of the wa:stats:daily:* hashes add up to EVENTS (and
# their `failed` to the failed events), the `t` counters (the first of the nine packed in each
# minute field, queue/codec.hpp) of the session buckets to the events naming a session, no
# malformed events, no errors.
set -euo pipefail
export LC_ALL=C

events=${WA_EVENTS:-500000} order=time runs=1 build=1 keep=0
bench=events
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
usage_lines=6,14
while [[ $# -gt 0 ]]; do
  case $1 in
    -e) events=${2:?}; shift 2 ;;
    -o) order=${2:?}; shift 2 ;;
    -r) runs=${2:?}; shift 2 ;;
    *) wa_common_arg "$1"; shift ;;  # --no-build, --keep, -h
  esac
done
[[ $events =~ ^[1-9][0-9]*$ && $runs =~ ^[1-9][0-9]*$ && $order =~ ^(time|random)$ ]] ||
  { echo "events.sh: -e and -r take positive integers, -o time or random" >&2; exit 2; }
wa_build

# ---- -r RUNS: this script RUNS times, then the medians of its RESULT lines ----------------------
if [[ $runs -gt 1 ]]; then
  wa_rerun "$runs" -e "$events" -o "$order" --no-build
  wa_rerun_medians
  exit 0
fi

wa_start_redis

# ---- data ------------------------------------------------------------------------------------
log "== seeding 100 workspaces x 10 sessions and $events events ($order order)"
t0=$(now_us)
seed_sessions 1 100 10
awk -v n="$events" -v now="$(date +%s)" -v order="$order" -v stats="$work/expected.txt" '
  function rnd(k) { state = (state * 48271) % 2147483647; return int(state / 2147483647 * k) }
  function flush(   i) {
    printf "*%d\r\n$5\r\nRPUSH\r\n$9\r\nwa:events\r\n", nb + 2
    for (i = 1; i <= nb; i++) printf "$%d\r\n%s\r\n", length(b[i]), b[i]
    nb = 0
  }
  BEGIN {
    state = 20261125; span = 3000   # the last 50 minutes: no bucket goes stale during the run
    split("sent delivered read failed", st, " ")
    for (i = 1; i <= n; i++) {
      at = (order == "time") ? now - span + int((i - 1) * span / n) : now - span + rnd(span)
      w = 1 + rnd(100); r = rnd(100)
      s = (r < 10) ? "sent" : (r < 78) ? "delivered" : (r < 93) ? "read" : "failed"
      if (rnd(10) == 0) {
        e = "{\"workspace_id\":" w ",\"provider\":\"meta_api\",\"status\":\"" s "\""
      } else {
        e = "{\"session_id\":\"s-" w "-" (1 + rnd(10)) "\",\"workspace_id\":" w ",\"provider\":\"webjs\",\"status\":\"" s "\""
        with_session++
      }
      if (rnd(20)) e = e ",\"response_time_ms\":" (200 + rnd(3000))
      if (s == "delivered" || s == "read") e = e ",\"delivery_time_ms\":" (1000 + rnd(9000))
      e = e ",\"at\":" at "}"
      if (s == "failed") failed++
      b[++nb] = e
      if (nb == 100) flush()
    }
    if (nb) flush()
    printf "with_session %d\nfailed %d\n", with_session, failed > stats
  }' </dev/null | wa_pipe
t1=$(now_us)
[[ $(R LLEN wa:events) == "$events" ]] || die "wa:events does not hold $events events after seeding"
expect() { awk -v k="$1" '$1 == k { print $2 }' "$work/expected.txt"; }
log "   $(R LINDEX wa:events 0)"
log "   $(redis_mem_human) in Redis; $(secs "$t0" "$t1") s"

# ---- the daemon ------------------------------------------------------------------------------
cat >"$work/wa-routerd.yaml" <<YAML
redis: {unix_socket: "$sock"}
metrics: {listen: ""}
logging: {level: info}
YAML
wa_poller_start
snapshot >"$work/s0.txt"
start=$(now_us)
wa_start_daemon "$work/wa-routerd.yaml" "$work/daemon.log"
first="" npolls=0
while :; do
  wa_poll "LLEN wa:events"
  npolls=$((npolls + 1))
  left=${reply[0]}
  now=$(now_us)
  [[ -z $first && $left -lt $events ]] && first=$now
  [[ $left == 0 ]] && break
  kill -0 "$daemon_pid" 2>/dev/null || { tail -n 20 "$work/daemon.log" >&2; die "wa-routerd exited ($left events left)"; }
  ((now - start < 600000000)) || { tail -n 20 "$work/daemon.log" >&2; die "$left events left after 600 s"; }
  nap 0.01
done
end=$(now_us)
dcpu=$(proc_cpu "$daemon_pid")
snapshot >"$work/s1.txt"
wa_stop_daemon
wa_poller_stop
rcpu=$(snap_cpu "$work/s0.txt" "$work/s1.txt")
snap_top "$work/s0.txt" "$work/s1.txt" 8 "llen:$npolls info:1" >"$work/top.txt"

# ---- correctness -----------------------------------------------------------------------------
problems=()
read -r daily_total daily_failed daily_keys < <(R EVAL "
  local t, f, n, cursor = 0, 0, 0, '0'
  repeat
    local r = redis.call('SCAN', cursor, 'MATCH', 'wa:stats:daily:*', 'COUNT', 1000)
    cursor = r[1]
    for _, k in ipairs(r[2]) do
      local v = redis.call('HMGET', k, 'total', 'failed')
      t = t + (tonumber(v[1]) or 0); f = f + (tonumber(v[2]) or 0); n = n + 1
    end
  until cursor == '0'
  return {tostring(t), tostring(f), n}" 0 | paste -sd' ')
session_total=$(R EVAL "
  local t = 0
  for w = 1, 100 do for k = 1, 10 do
    local f = redis.call('HVALS', 'wa:stats:session:s-' .. w .. '-' .. k)
    for i = 1, #f do t = t + struct.unpack('<I4', f[i]) end
  end end
  return tostring(t)" 0)
malformed=$(R GET wa:stats:events:malformed)
[[ $daily_total == "$events" ]] || problems+=("the daily counters total $daily_total events, expected $events")
[[ $daily_failed == "$(expect failed)" ]] || problems+=("the daily counters count $daily_failed failed, expected $(expect failed)")
[[ $session_total == "$(expect with_session)" ]] || problems+=("the session buckets count $session_total events, expected $(expect with_session)")
[[ -z $malformed || $malformed == 0 ]] || problems+=("$malformed events counted malformed")
[[ $daemon_rc == 0 ]] || problems+=("wa-routerd exited $daemon_rc after SIGTERM")
errs=$(log_errors "$work/daemon.log")
[[ $errs == 0 ]] || problems+=("$errs error lines in the daemon's log, e.g. $(first_log_error "$work/daemon.log")")

# ---- report ----------------------------------------------------------------------------------
wall=$(secs "$start" "$end") steady=$(secs "${first:-$start}" "$end")
rate=$(calc "$events / $wall") steady_rate=$(calc "$events / $steady")
printf '\nwa-routerd event ingestion: %d events (%s order) over 1,000 sessions in 100 workspaces\n' "$events" "$order"
printf '  machine            %s\n' "$(machine_line)"
printf '  wall               %.3f s   (start of wa-routerd -> wa:events empty; first batch applied after %.3f s)\n' "$wall" "$(secs "$start" "${first:-$start}")"
printf '  events/s           %.0f   (%.0f/s from the first batch applied)   goal >= 100,000/s: %s\n' "$rate" "$steady_rate" \
  "$(awk -v r="$rate" 'BEGIN { print (r >= 100000 ? "met" : "MISSED") }')"
printf '  daemon CPU         %.2f s   (%.0f%% of one core; %.2f us/event)\n' "$dcpu" "$(calc "100 * $dcpu / $wall")" "$(calc "1e6 * $dcpu / $events")"
printf '  Redis CPU          %.2f s   (%.0f%% of one core; %.2f us/event)\n' "$rcpu" "$(calc "100 * $rcpu / $wall")" "$(calc "1e6 * $rcpu / $events")"
printf '  daily hashes       %d, session stats hashes %d\n' "$daily_keys" "$(R EVAL "return #redis.call('KEYS', 'wa:stats:session:*')" 0)"
printf '  top commands       calls  usec/event  (commandstats; EVALSHA includes its inner commands)\n'
awk -v n="$events" '$1 != "@total" { printf "    %-16s %9d  %8.3f\n", $1, $2, $3 / n }' "$work/top.txt"
if [[ ${#problems[@]} -gt 0 ]]; then
  printf '\nFAILED:\n' >&2; printf '  %s\n' "${problems[@]}" >&2
  exit 1
fi
printf '  check              ok (daily totals = %d events, %d failed; session buckets = %d events naming a session; none malformed)\n' \
  "$events" "$daily_failed" "$session_total"
printf 'RESULT events=%d order=%s wall_s=%s events_per_s=%.0f steady_events_per_s=%.0f daemon_cpu_s=%s redis_cpu_s=%s daemon_us_per_event=%.2f redis_us_per_event=%.2f\n' \
  "$events" "$order" "$wall" "$rate" "$steady_rate" "$dcpu" "$rcpu" "$(calc "1e6 * $dcpu / $events")" "$(calc "1e6 * $rcpu / $events")"
