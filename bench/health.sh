#!/usr/bin/env bash
# Health-cycle benchmark (issue 5): 10,000 sessions (1,000 workspaces x 10) with an hour of
# message statistics each, already aggregated in the daemon's per-session minute buckets
# (wa:stats:session:<id>, one field per minute: "<minute>" -> "t s d r f rs rc ds dc", minute =
# floor(unix/60)); how long wa-routerd's start-up health cycle takes to score them all.
#
#   bench/health.sh [-w WORKSPACES] [-p SESSIONS_PER_WORKSPACE] [-f "FIELDS"] [-r RUNS] [--no-build] [--keep]
#
#   -w WORKSPACES  workspaces (default 1000)
#   -p SESSIONS    sessions per workspace (default 10)
#   -f FIELDS      the counters seeded per minute (default all nine, "t s d r f rs rc ds dc", as
#                  an hour of events with response and delivery times leaves them; e.g. "t s f":
#                  the others are 0 in the packed value)
#   -r RUNS        start the daemon RUNS times on the same data (default 3): run 1 finds no
#                  wa:health:<id> hashes (first start), the others find the previous cycle's
#   --no-build     use the binaries already in build-bench/
#   --keep         keep the temporary directory and print it
#
# The daemon runs with health.check_interval 3600 (only the start-up cycle) and metrics on a free
# port. The duration is wa_health_cycle_seconds_sum once wa_health_cycles_total is 1 (/metrics);
# the wall time from starting the process to the log line "health: N sessions in M workspaces
# checked" is reported too. Goal: the cycle under 1 s. Checks (exit 1 when off): the log line
# names every session and workspace, and every session hash got a health_score (integer 0-100),
# health_updated_at and health_metrics; the session bands in /metrics add up.
set -euo pipefail
export LC_ALL=C

nws=1000 per=10 runs=3 build=1 keep=0 fields="t s d r f rs rc ds dc"
bench=health
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
usage_lines=7,16
while [[ $# -gt 0 ]]; do
  case $1 in
    -w) nws=${2:?}; shift 2 ;;
    -p) per=${2:?}; shift 2 ;;
    -f) fields=${2:?}; shift 2 ;;
    -r) runs=${2:?}; shift 2 ;;
    *) wa_common_arg "$1"; shift ;;  # --no-build, --keep, -h
  esac
done
[[ $nws =~ ^[1-9][0-9]*$ && $per =~ ^[1-9][0-9]*$ && $runs =~ ^[1-9][0-9]*$ ]] ||
  { echo "health.sh: -w, -p and -r take positive integers" >&2; exit 2; }
for f in $fields; do
  [[ " t s d r f rs rc ds dc " == *" $f "* ]] || { echo "health.sh: -f: unknown counter $f" >&2; exit 2; }
done
wa_build
wa_start_redis
nsessions=$((nws * per))

# ---- data ------------------------------------------------------------------------------------
log "== seeding $nws workspaces x $per sessions, 60 minute buckets of \"$fields\" each"
t0=$(now_us)
seed_sessions 1 "$nws" "$per"
# Per session an hour of traffic: 5-30 messages a minute; most sessions fail ~1 %, one in 20
# fails 20-40 % (alerts), one in 10 answers slowly. All nine counters of every minute are set, as
# the daemon writes them after an hour of events: one field per minute, the nine counters packed
# in binary (queue/codec.hpp) by a script with Lua's struct.pack, as the daemon's events script
# does. TTL 2 h like the daemon's.
pack_sha=$(R SCRIPT LOAD "
  local set = {}
  for i = 1, #ARGV, 10 do
    set[#set + 1] = ARGV[i]
    set[#set + 1] = struct.pack('<I4I4I4I4I4dI4dI4', tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2]),
      tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4]), tonumber(ARGV[i + 5]), tonumber(ARGV[i + 6]),
      tonumber(ARGV[i + 7]), tonumber(ARGV[i + 8]), tonumber(ARGV[i + 9]))
  end
  redis.call('HSET', KEYS[1], unpack(set))
  redis.call('EXPIRE', KEYS[1], 7200)")
# shellcheck disable=SC2016  # awk source
stats_awk='
  function rnd(n) { state = (state * 48271) % 2147483647; return int(state / 2147483647 * n) }
  function arg(x) { x = x ""; return "$" length(x) "\r\n" x "\r\n" }
  BEGIN {
    split("t s d r f rs rc ds dc", names, " ")
    nf = split(fields, want, " "); for (i = 1; i <= nf; i++) keep[want[i]] = 1
    state = 20261125; m0 = int(now / 60)
    for (w = 1; w <= nws; w++) for (k = 1; k <= per; k++) {
      key = "wa:stats:session:s-" w "-" k
      fail = (rnd(20) == 0) ? 20 + rnd(21) : rnd(3)
      slow = (rnd(10) == 0) ? 6000 : 800
      out = ""; n = 0
      for (m = m0 - 59; m <= m0; m++) {
        t = 5 + rnd(26); f = int(t * fail / 100 + rnd(100) / 100); s = t - f
        d = int(s * 0.9); r = int(d * 0.5); rc = t; rs = rc * (slow + rnd(400)); dc = d; ds = dc * (2000 + rnd(3000))
        v[1] = t; v[2] = s; v[3] = d; v[4] = r; v[5] = f; v[6] = rs; v[7] = rc; v[8] = ds; v[9] = dc
        out = out arg(m); n++
        for (i = 1; i <= 9; i++) { out = out arg((names[i] in keep) ? v[i] : 0); n++ }
      }
      printf "*%d\r\n%s%s%s%s", n + 4, arg("EVALSHA"), arg(sha), arg(1), arg(key)
      printf "%s", out
    }
  }'
awk -v now="$(date +%s)" -v nws="$nws" -v per="$per" -v fields="$fields" -v sha="$pack_sha" \
  "$stats_awk" </dev/null | wa_pipe
t1=$(now_us)
nstats=$(R EVAL "return #redis.call('KEYS', 'wa:stats:session:*')" 0)
[[ $nstats == "$nsessions" ]] || die "$nstats stats hashes after seeding, expected $nsessions"
log "   $nsessions sessions, $(R HLEN wa:stats:session:s-1-1) fields per stats hash; $(redis_mem_human) in Redis; $(secs "$t0" "$t1") s"

# ---- runs ------------------------------------------------------------------------------------
port=$(free_port)
cat >"$work/wa-routerd.yaml" <<YAML
redis: {unix_socket: "$sock"}
health: {check_interval: 3600}
metrics: {listen: "127.0.0.1:$port"}
logging: {level: info}
YAML
metric() {  # NAME (full series text before the value) from the last scrape
  awk -v m="$1" '$1 == m { print $2; found = 1 } END { if (!found) print "" }' "$work/metrics.txt"
}
problems=() cycles=() walls=() dcpus=() rcpus=() lines=()
for ((run = 1; run <= runs; run++)); do
  R DEL wa:lock:health >/dev/null   # the previous daemon's lock: this start-up must run the cycle
  snapshot >"$work/s0.txt"
  start=$(now_us)
  wa_start_daemon "$work/wa-routerd.yaml" "$work/daemon-$run.log"
  line="" logged=""
  while :; do
    if [[ -z $logged ]] && line=$(grep -m1 'health: [0-9]* sessions in [0-9]* workspaces checked' "$work/daemon-$run.log"); then
      logged=$(now_us)
    fi
    if curl -sf "http://127.0.0.1:$port/metrics" >"$work/metrics.txt" 2>/dev/null &&
      [[ $(metric wa_health_cycles_total) == 1 ]]; then
      break
    fi
    kill -0 "$daemon_pid" 2>/dev/null || { cat "$work/daemon-$run.log" >&2; die "wa-routerd exited (run $run)"; }
    (($(now_us) - start < 120000000)) || die "no health cycle within 120 s (run $run)"
    sleep 0.01
  done
  while [[ -z $logged ]]; do   # the counter may be scraped a moment before the line is flushed
    line=$(grep -m1 'health: [0-9]* sessions in [0-9]* workspaces checked' "$work/daemon-$run.log") && logged=$(now_us)
    [[ -n $logged ]] || sleep 0.01
    (($(now_us) - start < 130000000)) || die "no log line about the health cycle (run $run)"
  done
  dcpu=$(proc_cpu "$daemon_pid")
  snapshot >"$work/s1.txt"
  cycle=$(metric wa_health_cycle_seconds_sum)
  bands=$(( $(metric 'wa_sessions{band="healthy"}') + $(metric 'wa_sessions{band="degraded"}') + $(metric 'wa_sessions{band="unhealthy"}') ))
  band_text="healthy $(metric 'wa_sessions{band="healthy"}'), degraded $(metric 'wa_sessions{band="degraded"}'), unhealthy $(metric 'wa_sessions{band="unhealthy"}')"
  alerts=$(metric wa_alerts_total)
  wa_stop_daemon
  [[ $daemon_rc == 0 ]] || problems+=("run $run: wa-routerd exited $daemon_rc after SIGTERM")
  errs=$(log_errors "$work/daemon-$run.log")
  [[ $errs == 0 ]] || problems+=("run $run: $errs error lines in the daemon's log, e.g. $(first_log_error "$work/daemon-$run.log")")
  read -r n_checked n_ws <<<"$(sed -E 's/.*health: ([0-9]+) sessions in ([0-9]+) workspaces checked.*/\1 \2/' <<<"$line")"
  [[ $n_checked == "$nsessions" && $n_ws == "$nws" ]] ||
    problems+=("run $run: the log says $n_checked sessions in $n_ws workspaces, expected $nsessions in $nws")
  [[ $bands == "$nsessions" ]] || problems+=("run $run: wa_sessions bands add up to $bands, expected $nsessions")
  cycles+=("$cycle") walls+=("$(secs "$start" "$logged")") dcpus+=("$dcpu") rcpus+=("$(snap_cpu "$work/s0.txt" "$work/s1.txt")")
  snap_top "$work/s0.txt" "$work/s1.txt" 6 "info:1" >"$work/top-$run.txt"
  lines+=("$(printf '  run %d %-6s     cycle %.3f s   start -> log line %.3f s   daemon CPU %.2f s   Redis CPU %.2f s   (%s; %s alerts)' \
    "$run" "$([[ $run == 1 ]] && echo cold || echo warm)" "$cycle" "${walls[-1]}" "$dcpu" "${rcpus[-1]}" "$band_text" "$alerts")")
  log "${lines[-1]}"
done

# ---- every session scored --------------------------------------------------------------------
read -r scored bad_score no_metrics no_time min_s max_s sum_s health_hashes < <(R EVAL "
  local scored, bad, nom, notime, mn, mx, sum, hh = 0, 0, 0, 0, 101, -1, 0, 0
  for _, w in ipairs(redis.call('SMEMBERS', 'wa:workspaces')) do
    for _, s in ipairs(redis.call('SMEMBERS', 'wa:workspace:' .. w .. ':sessions')) do
      local v = redis.call('HMGET', 'wa:session:' .. s, 'health_score', 'health_metrics', 'health_updated_at')
      local h = tonumber(v[1])
      if h and h == math.floor(h) and h >= 0 and h <= 100 then
        scored = scored + 1; sum = sum + h
        if h < mn then mn = h end
        if h > mx then mx = h end
      else bad = bad + 1 end
      if not v[2] or string.sub(v[2], 1, 1) ~= '{' then nom = nom + 1 end
      if not tonumber(v[3]) then notime = notime + 1 end
      hh = hh + redis.call('EXISTS', 'wa:health:' .. s)
    end
  end
  return {scored, bad, nom, notime, mn, mx, sum, hh}" 0 | paste -sd' ')
[[ $scored == "$nsessions" && $bad_score == 0 ]] || problems+=("$scored sessions with a valid health_score, $bad_score without, expected $nsessions")
[[ $no_metrics == 0 && $no_time == 0 ]] || problems+=("$no_metrics sessions without health_metrics, $no_time without health_updated_at")
[[ $health_hashes == "$nsessions" ]] || problems+=("$health_hashes wa:health:<id> hashes, expected $nsessions")

# ---- report ----------------------------------------------------------------------------------
cycle_med=$(printf '%s\n' "${cycles[@]}" | median)
wall_med=$(printf '%s\n' "${walls[@]}" | median)
dcpu_med=$(printf '%s\n' "${dcpus[@]}" | median)
rcpu_med=$(printf '%s\n' "${rcpus[@]}" | median)
printf '\nwa-routerd start-up health cycle: %d sessions in %d workspaces, 60 minute buckets x %d counters (%s) each\n' "$nsessions" "$nws" "$(wc -w <<<"$fields")" "$fields"
printf '  machine            %s\n' "$(machine_line)"
printf '%s\n' "${lines[@]}"
printf '  cycle (median)     %.3f s = %.0f sessions/s   (wa_health_cycle_seconds_sum)   goal < 1 s: %s\n' \
  "$cycle_med" "$(calc "$nsessions / $cycle_med")" "$(awk -v c="$cycle_med" 'BEGIN { print (c < 1 ? "met" : "MISSED") }')"
printf '  start -> log line  %.3f s   (process start, connection, the cycle, median)\n' "$wall_med"
printf '  per session        daemon %.0f us, Redis %.0f us of CPU\n' "$(calc "1e6 * $dcpu_med / $nsessions")" "$(calc "1e6 * $rcpu_med / $nsessions")"
printf '  scores             min %s, mean %.1f, max %s\n' "$min_s" "$(calc "$sum_s / $nsessions")" "$max_s"
printf '  Redis commands     (last run, top by time) %s\n' \
  "$(awk '$1 != "@total" { printf "%s%s %d calls %.3f s", (n++ ? ", " : ""), $1, $2, $3 / 1e6 }' "$work/top-$runs.txt")"
if [[ ${#problems[@]} -gt 0 ]]; then
  printf '\nFAILED:\n' >&2; printf '  %s\n' "${problems[@]}" >&2
  exit 1
fi
printf '  check              ok (log line names %d sessions in %d workspaces; every session has health_score, health_metrics, health_updated_at, wa:health)\n' "$nsessions" "$nws"
printf 'RESULT sessions=%d workspaces=%d fields_per_minute=%d cycle_s=%s cycle_cold_s=%s start_to_log_s=%s daemon_cpu_s=%s redis_cpu_s=%s sessions_per_s=%.0f\n' \
  "$nsessions" "$nws" "$(wc -w <<<"$fields")" "$cycle_med" "${cycles[0]}" "$wall_med" "$dcpu_med" "$rcpu_med" "$(calc "$nsessions / $cycle_med")"
