#!/usr/bin/env bash
# Soak benchmark (issue 5): minutes of continuous load on wa-routerd (campaign jobs and message
# events pushed every second, the app consuming the outputs) while its memory, Redis's key count
# and memory, and the key families are sampled: does anything grow that should not?
#
#   bench/soak.sh [-t SECONDS] [-j JOBS_PER_S] [-e EVENTS_PER_S] [-i HEALTH_INTERVAL] [--no-build] [--keep]
#
#   -t SECONDS     duration of the load (default 300, or $SOAK_SECONDS; at least two health
#                  intervals + 120 s: the warm-up, then two minutes of RSS to compare)
#   -j JOBS        campaign jobs pushed per second (default 2000): direct mode, 20 contacts, each
#                  its own campaign, over 100 workspaces x 10 healthy sessions
#   -e EVENTS      message events pushed per second (default 5000), `at` = now
#   -i INTERVAL    health.check_interval of the daemon (default 60, so that health cycles and
#                  switching over wa:campaigns:active run during the soak)
#   --no-build     use the binaries already in build-bench/
#   --keep         keep the temporary directory and print it
#
# Load: a producer pipes one second of jobs (RPUSH payload + notify, as Queue::pushRaw) and
# events (RPUSH 100 per command) into `redis-cli --pipe` every second. The app: every 2 s it
# pops wa:results, deletes the dispatch lists each decision names (its senders would pop them
# empty) and removes the campaign from wa:campaigns:active (the campaign is done). Every 10 s:
# the daemon's VmRSS, DBSIZE, used_memory, queue depths; every 60 s: the key families (SCAN).
# After the load: the backlog drains, a last consumption, the final sample.
# Goal: the daemon's RSS flat: the mean of the last minute of load within 10 % of the mean of the
# minute after the warm-up. The warm-up is two health intervals: the first cycle runs at start-up
# with nothing to switch, the next one finds campaigns to check and switch, and only after both has
# every code path of the load run and the allocator's working set settled (a single sample at
# 1 min, before switching starts, reads ~40 % low). Also reported: the 1-minute sample, the peak,
# the lowest value in the last third, the least-squares trend after the warm-up, and the value
# after the drain. wa:decided:<job>:<n>
# and wa:campaign:<id>:decision live results.ttl_seconds (7 days) by contract, so they grow with
# every job: they are reported apart, with their bytes per job.
# Checks (exit 1 when off): the daemon stays up and exits 0; one result per job pushed, none dead;
# the daily counters total the events pushed; no error lines in its log.
set -euo pipefail
export LC_ALL=C

duration=${SOAK_SECONDS:-300} jps=2000 eps=5000 hinterval=60 build=1 keep=0
bench=soak
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
usage_lines=6,16
while [[ $# -gt 0 ]]; do
  case $1 in
    -t) duration=${2:?}; shift 2 ;;
    -j) jps=${2:?}; shift 2 ;;
    -e) eps=${2:?}; shift 2 ;;
    -i) hinterval=${2:?}; shift 2 ;;
    *) wa_common_arg "$1"; shift ;;  # --no-build, --keep, -h
  esac
done
[[ $duration =~ ^[0-9]+$ && $jps =~ ^[0-9]+$ && $eps =~ ^[0-9]+$ && $hinterval =~ ^[1-9][0-9]*$ ]] ||
  { echo "soak.sh: -t, -j, -e and -i take integers (-i > 0)" >&2; exit 2; }
[[ $duration -ge $((2 * hinterval + 120)) ]] ||
  { echo "soak.sh: -t must be at least two health intervals + 120 s ($((2 * hinterval + 120)) s): the RSS after the warm-up is compared with the last minute's" >&2; exit 2; }
wa_build
wa_start_redis

log "== seeding 100 workspaces x 10 sessions"
seed_sessions 1 100 10

# ---- the producer: one second of jobs and events per redis-cli --pipe ---------------------------
# shellcheck disable=SC2016  # awk source
gen_awk='
  function rnd(k) { state = (state * 48271) % 2147483647; return int(state / 2147483647 * k) }
  function cmd3(x, y, z) { printf "*3\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(x), x, length(y), y, length(z), z }
  function flush(   i) {
    printf "*%d\r\n$5\r\nRPUSH\r\n$9\r\nwa:events\r\n", nb + 2
    for (i = 1; i <= nb; i++) printf "$%d\r\n%s\r\n", length(b[i]), b[i]
    nb = 0
  }
  BEGIN {
    state = 20261125 + sec * 7919
    for (j = 0; j < jobs; j++) {
      c = 1000000 + sec * jobs + j; w = 1 + rnd(100)
      p = "{\"job_id\":\"soak-" c "\",\"campaign_id\":" c ",\"workspace_id\":" w ",\"template_mode\":\"direct\",\"provider_preference\":\"auto\",\"contacts\":["
      for (k = 0; k < 20; k++) p = p (k ? "," : "") sprintf("%.0f", 300000000000 + rnd(100000000))
      p = p "],\"attempts\":0}"
      cmd3("RPUSH", "queues:wa-campaigns", p)
      cmd3("RPUSH", "queues:wa-campaigns:notify", "1")
    }
    for (i = 0; i < events; i++) {
      w = 1 + rnd(100); r = rnd(100)
      s = (r < 10) ? "sent" : (r < 78) ? "delivered" : (r < 93) ? "read" : "failed"
      e = "{\"session_id\":\"s-" w "-" (1 + rnd(10)) "\",\"workspace_id\":" w ",\"provider\":\"webjs\",\"status\":\"" s "\",\"response_time_ms\":" (200 + rnd(2000))
      if (s == "delivered" || s == "read") e = e ",\"delivery_time_ms\":" (1000 + rnd(5000))
      b[++nb] = e ",\"at\":" now "}"
      if (nb == 100) flush()
    }
    if (nb) flush()
  }'
producer() {
  local sec=0 next out t0 t1
  next=$(now_us)
  while [[ ! -e $work/stop && ! -e $work/stop-producer ]]; do
    t0=$(now_us)
    out=$(awk -v sec="$sec" -v jobs="$jps" -v events="$eps" -v now="$EPOCHSECONDS" "$gen_awk" </dev/null | R --pipe 2>&1) || true
    t1=$(now_us)
    if grep -q 'errors: 0,' <<<"$out"; then
      echo "$sec $jps $eps $(((t1 - t0) / 1000))" >>"$work/produced.txt"
    else
      echo "producer: second $sec: $out" >>"$work/producer-errors.txt"
    fi
    sec=$((sec + 1)); next=$((next + 1000000))
    t1=$(now_us)
    ((next > t1)) && sleep "$(fmt %.6f "$(calc "($next - $t1) / 1e6")")"
  done
}

# ---- the app: consumes wa:results, deletes the dispatch lists, ends the campaigns ----------------
consume_lua="
  local popped, served, queued, dead, deleted, switches = 0, 0, 0, 0, 0, 0
  while popped < 200000 do
    local rs = redis.call('LPOP', 'wa:results', 1000)
    if not rs then break end
    for _, r in ipairs(rs) do
      popped = popped + 1
      if string.find(r, '\"event\":\"dead\"', 1, true) then dead = dead + 1
      elseif string.find(r, '\"event\":\"provider_switch\"', 1, true) then
        -- contacts moved to other sessions of the campaign: the app sends (deletes) those too
        switches = switches + 1
        local c = string.match(r, '\"campaign_id\":\"?([^,\"]*)')
        local to = string.match(r, '\"to\":%[(.-)%]') or ''
        for t in string.gmatch(to, '\"([^\"]*)\"') do
          deleted = deleted + redis.call('DEL', 'wa:dispatch:' .. c .. ':' .. t)
        end
        redis.call('HINCRBY', 'bench:switch_reasons', string.match(r, '\"reason\":\"([^\"]*)') or '?', 1)
      elseif string.find(r, '\"type\":\"queue\"', 1, true) then queued = queued + 1
      else
        served = served + 1
        for k in string.gmatch(r, '\"key\":\"([^\"]*)\"') do deleted = deleted + redis.call('DEL', k) end
        local c = string.match(r, '\"campaign_id\":(%d+)')
        if c then redis.call('ZREM', 'wa:campaigns:active', c) end
      end
    end
  end
  return {popped, served, queued, dead, deleted, switches}"
consume_once() { R EVAL "$consume_lua" 0 | paste -sd' ' >>"$work/consumed.txt"; }
consumer() {
  while [[ ! -e $work/stop && ! -e $work/stop-consumer ]]; do
    consume_once
    sleep 2
  done
}

# ---- sampling --------------------------------------------------------------------------------
# Key families: every key name with its ids replaced by *; counts, plus up to 50 sample keys per
# family (for MEMORY USAGE) in $2.samples.
scan_keys() {  # every key name, one a line (SCAN COUNT 5000; this redis-cli has no --count)
  local cursor=0
  while :; do
    R --raw SCAN "$cursor" COUNT 5000 >"$work/scan.part"
    cursor=$(head -n1 "$work/scan.part")
    tail -n +2 "$work/scan.part"
    [[ $cursor == 0 ]] && break
  done
}
families() {  # OUT_FILE
  scan_keys | awk -v out="$1" -v samples="$1.samples" '
    {
      k = $0
      if (k ~ /^wa:decided:/) f = "wa:decided:*"
      else if (k ~ /^wa:campaign:.*:decision$/) f = "wa:campaign:*:decision"
      else if (k ~ /^wa:dispatch:/) f = "wa:dispatch:*"
      else if (k ~ /^wa:stats:session:/) f = "wa:stats:session:*"
      else if (k ~ /^wa:stats:daily:/) f = "wa:stats:daily:*"
      else if (k ~ /^wa:health:/) f = "wa:health:*"
      else if (k ~ /^wa:session:/) f = "wa:session:*"
      else if (k ~ /^wa:workspace:/) f = "wa:workspace:*"
      else if (k ~ /^wa:lock:/) f = "wa:lock:*"
      else if (k ~ /^bench:/) next
      else f = k
      n[f]++
      if (n[f] <= 50) print f, k > samples
    }
    END { for (f in n) print f, n[f] > out }'
}
memory_per_key() {  # SAMPLES_FILE -> "family mean_bytes" lines
  awk '{ print "MEMORY USAGE", $2 }' "$1" | R | paste -d' ' "$1" - |
    awk '{ s[$1] += $3; c[$1]++ } END { for (f in s) printf "%s %.0f\n", f, s[f] / c[f] }'
}
rss_of() { proc_rss_kb "$daemon_pid"; }

port=$(free_port)
cat >"$work/wa-routerd.yaml" <<YAML
redis: {unix_socket: "$sock"}
health: {check_interval: $hinterval}
metrics: {listen: "127.0.0.1:$port"}
logging: {level: warn}
YAML
wa_start_daemon "$work/wa-routerd.yaml" "$work/daemon.log"
for _ in $(seq 250); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.02; done
snapshot >"$work/s0.txt"
dcpu0=$(proc_cpu "$daemon_pid")
start=$(now_us)
log "== soak: $duration s of $jps jobs/s and $eps events/s (health cycle every $hinterval s); a sample every 10 s"
wa_spawn producer
wa_spawn consumer
: >"$work/samples.txt"
sample() {  # T: one line of numbers
  local t=$1 info
  info=$(R INFO memory keyspace cpu | tr -d '\r')
  printf '%s %s %s %s %s %s %s %s %s %s\n' "$t" "$(rss_of)" "$(R DBSIZE)" \
    "$(awk -F: '/^used_memory:/ { print $2 }' <<<"$info")" \
    "$(R LLEN queues:wa-campaigns)" "$(R ZCARD queues:wa-campaigns:reserved)" "$(R LLEN wa:events)" \
    "$(awk '{ s += $1 } END { print s + 0 }' "$work/consumed.txt" 2>/dev/null)" \
    "$(proc_cpu "$daemon_pid")" \
    "$(awk -F: '/^used_cpu_user:|^used_cpu_sys:/ { s += $2 } END { printf "%.2f", s }' <<<"$info")" >>"$work/samples.txt"
  tail -n1 "$work/samples.txt" | awk '{ printf "   t=%4ds  RSS %7.1f MiB  keys %8d  used_memory %8.1f MiB  queue %6d  reserved %4d  events %6d  results consumed %8d\n", $1, $2 / 1024, $3, $4 / 1048576, $5, $6, $7, $8 }' >&2
}
times=$(seq 10 10 "$duration"; ((duration % 10 == 0)) || echo "$duration")
for t in $times; do
  target=$((start + t * 1000000))
  now=$(now_us)
  ((target > now)) && sleep "$(fmt %.6f "$(calc "($target - $now) / 1e6")")"
  kill -0 "$daemon_pid" 2>/dev/null || { tail -n 20 "$work/daemon.log" >&2; die "wa-routerd exited during the soak (t=$t s)"; }
  sample "$t"
  if ((t % 60 == 0)); then families "$work/families-$t.txt"; fi
done

# ---- drain -----------------------------------------------------------------------------------
touch "$work/stop-producer"
wait "${wa_extra_pids[0]}" 2>/dev/null || true
load_end=$(now_us)
log "== load stopped after $(secs "$start" "$load_end") s; draining"
while :; do
  q=$(R LLEN queues:wa-campaigns) z=$(R ZCARD queues:wa-campaigns:reserved) ev=$(R LLEN wa:events)
  [[ $q == 0 && $z == 0 && $ev == 0 ]] && break
  kill -0 "$daemon_pid" 2>/dev/null || die "wa-routerd exited while draining"
  (($(now_us) - load_end < 300000000)) || die "backlog not drained 300 s after the load (queue $q, reserved $z, events $ev)"
  sleep 0.2
done
drained=$(now_us)
touch "$work/stop-consumer"
wait "${wa_extra_pids[1]}" 2>/dev/null || true
consume_once
sample "$(( (drained - start) / 1000000 ))"
families "$work/families-end.txt"
memory_per_key "$work/families-end.txt.samples" >"$work/bytes-per-key.txt"
dcpu=$(calc "$(proc_cpu "$daemon_pid") - $dcpu0")
snapshot >"$work/s1.txt"
curl -sf "http://127.0.0.1:$port/metrics" >"$work/metrics.txt" || true
wa_stop_daemon
rcpu=$(snap_cpu "$work/s0.txt" "$work/s1.txt")
snap_top "$work/s0.txt" "$work/s1.txt" 10 >"$work/top.txt"

# ---- correctness -----------------------------------------------------------------------------
problems=()
pushed_jobs=$(awk '{ s += $2 } END { print s + 0 }' "$work/produced.txt")
pushed_events=$(awk '{ s += $3 } END { print s + 0 }' "$work/produced.txt")
seconds_pushed=$(wc -l <"$work/produced.txt")
read -r popped served queued dead deleted switches < <(awk '{ for (i = 1; i <= 6; i++) s[i] += $i } END { print s[1] + 0, s[2] + 0, s[3] + 0, s[4] + 0, s[5] + 0, s[6] + 0 }' "$work/consumed.txt")
switch_reasons=$(R HGETALL bench:switch_reasons | paste -sd' ' | sed -E 's/([^ ]+) ([^ ]+)/\1 \2,/g; s/,$//')
[[ -s $work/producer-errors.txt ]] && problems+=("the producer failed $(wc -l <"$work/producer-errors.txt") times: $(head -c 300 "$work/producer-errors.txt")")
[[ $((served + queued)) == "$pushed_jobs" ]] || problems+=("$((served + queued)) decisions consumed, $pushed_jobs jobs pushed")
[[ $dead == 0 && $(R LLEN queues:wa-campaigns:dead) == 0 ]] || problems+=("$dead dead events, $(R LLEN queues:wa-campaigns:dead) dead jobs")
daily_total=$(R EVAL "
  local t, cursor = 0, '0'
  repeat
    local r = redis.call('SCAN', cursor, 'MATCH', 'wa:stats:daily:*', 'COUNT', 1000)
    cursor = r[1]
    for _, k in ipairs(r[2]) do t = t + (tonumber(redis.call('HGET', k, 'total')) or 0) end
  until cursor == '0'
  return tostring(t)" 0)
[[ $daily_total == "$pushed_events" ]] || problems+=("the daily counters total $daily_total events, $pushed_events pushed")
[[ $daemon_rc == 0 ]] || problems+=("wa-routerd exited $daemon_rc after SIGTERM")
errs=$(log_errors "$work/daemon.log")
[[ $errs == 0 ]] || problems+=("$errs error lines in the daemon's log, e.g. $(first_log_error "$work/daemon.log")")

# ---- report ----------------------------------------------------------------------------------
load_s=$(secs "$start" "$load_end")
printf '\nwa-routerd soak: %d s of %d jobs/s (20 contacts, direct) + %d events/s, health cycle every %d s, app consuming every 2 s\n' \
  "$duration" "$jps" "$eps" "$hinterval"
printf '  machine            %s\n' "$(machine_line)"
printf '  pushed             %d jobs, %d events in %d one-second chunks over %.1f s (%.0f jobs/s, %.0f events/s achieved; generation %s ms/chunk median)\n' \
  "$pushed_jobs" "$pushed_events" "$seconds_pushed" "$load_s" "$(calc "$pushed_jobs / $load_s")" "$(calc "$pushed_events / $load_s")" \
  "$(awk '{ print $4 }' "$work/produced.txt" | median)"
printf '  drained            %.1f s after the load stopped; %d records consumed: %d served, %d queued, %d dead, %d provider switches (%s); %d dispatch lists deleted\n' \
  "$(secs "$load_end" "$drained")" "$popped" "$served" "$queued" "$dead" "$switches" "${switch_reasons:-none}" "$deleted"
printf '  CPU                daemon %.1f s (%.0f%% of a core), Redis %.1f s (%.0f%% of a core), over %.0f s\n' \
  "$dcpu" "$(calc "100 * $dcpu / (($drained - $start) / 1e6)")" "$rcpu" "$(calc "100 * $rcpu / (($drained - $start) / 1e6)")" "$(secs "$start" "$drained")"
printf '  samples            t/s   RSS MiB     keys  used_memory MiB   queue  reserved  events\n'
awk '{ printf "                   %4d  %7.1f  %8d  %15.1f  %6d  %8d  %6d\n", $1, $2 / 1024, $3, $4 / 1048576, $5, $6, $7 }' "$work/samples.txt"
read -r rss1 keys1 mem1 < <(awk '$1 == 60 { print $2, $3, $4 }' "$work/samples.txt")
warmup=$((2 * hinterval))
# Mean RSS of the samples with FROM < t <= TO.
rss_mean() { awk -v a="$1" -v b="$2" '$1 > a && $1 <= b { n++; s += $2 } END { printf "%.0f", n ? s / n : 0 }' "$work/samples.txt"; }
rss_after_warmup=$(rss_mean "$warmup" "$((warmup + 60))")
rss_last_minute=$(rss_mean "$((duration - 60))" "$duration")
read -r rss2 < <(awk -v d="$duration" '$1 == d { print $2 }' "$work/samples.txt")
read -r rss3 keys3 mem3 < <(tail -n1 "$work/samples.txt" | awk '{ print $2, $3, $4 }')
rss_peak=$(awk '{ if ($2 > m) m = $2 } END { print m }' "$work/samples.txt")
max_queue=$(awk '{ if ($5 > m) m = $5 } END { print m + 0 }' "$work/samples.txt")
# Least-squares slope of the RSS over the samples under load after the warm-up, in KiB per minute.
rss_slope=$(awk -v w="$warmup" -v d="$duration" '$1 > w && $1 <= d { n++; sx += $1; sy += $2; sxx += $1 * $1; sxy += $1 * $2 }
  END { den = n * sxx - sx * sx; printf "%.0f", (n > 1 && den ? 60 * (n * sxy - sx * sy) / den : 0) }' "$work/samples.txt")
# The lowest RSS in the last third of the load: back at the 1-minute level means the swings are
# transient peaks (health cycles, bursts), not growth.
rss_floor=$(awk -v d="$duration" '$1 >= d * 2 / 3 && $1 <= d { if (m == "" || $2 < m) m = $2 } END { print m + 0 }' "$work/samples.txt")
rss_2min=$(awk -v d="$duration" '$1 == 120 && d >= 130 { print $2 }' "$work/samples.txt")
rss_growth=$(calc "100 * ($rss_last_minute - $rss_after_warmup) / $rss_after_warmup")
rss_flat=$(awk -v g="$rss_growth" 'BEGIN { print (g <= 10 && g >= -10 ? "met" : "MISSED") }')
printf '  daemon RSS         mean %.1f MiB in the minute after the warm-up (%d-%d s), %.1f MiB in the last minute (%+.1f %%); trend after the warm-up %+d KiB/min   goal flat within 10 %%: %s\n' \
  "$(calc "$rss_after_warmup / 1024")" "$warmup" "$((warmup + 60))" "$(calc "$rss_last_minute / 1024")" "$rss_growth" "$rss_slope" "$rss_flat"
printf '                     %.1f MiB at 1 min, %.1f MiB at %d s; %.1f MiB after the drain, peak %.1f MiB\n' \
  "$(calc "$rss1 / 1024")" "$(calc "$rss2 / 1024")" "$duration" "$(calc "$rss3 / 1024")" "$(calc "$rss_peak / 1024")"
printf '                     lowest in the last third of the load (from %d s): %.1f MiB (%+.1f %% vs 1 min)\n' \
  "$((duration * 2 / 3))" "$(calc "$rss_floor / 1024")" "$(calc "100 * ($rss_floor - $rss1) / $rss1")"
[[ -z $rss_2min ]] || printf '                     after the warm-up: %.1f MiB at 2 min -> %.1f MiB at %d s (%+.1f %%)\n' \
  "$(calc "$rss_2min / 1024")" "$(calc "$rss2 / 1024")" "$duration" "$(calc "100 * ($rss2 - $rss_2min) / $rss_2min")"
printf '  Redis              keys %d -> %d, used_memory %.1f -> %.1f MiB (1 min -> end); queue depth at most %d at a sample\n' \
  "$keys1" "$keys3" "$(calc "$mem1 / 1048576")" "$(calc "$mem3 / 1048576")" "$max_queue"
printf '  key families       at 1 min -> at the end   (bytes/key: MEMORY USAGE of up to 50 keys)\n'
join -a1 -a2 -e0 -o 0,1.2,2.2 <(sort -k1,1 "$work/families-60.txt") <(sort -k1,1 "$work/families-end.txt") |
  join -a1 -e0 -o 0,1.2,1.3,2.2 - <(sort -k1,1 "$work/bytes-per-key.txt") |
  awk -v jobs="$pushed_jobs" '{
      note = ""
      if ($1 == "wa:decided:*" || $1 == "wa:campaign:*:decision") note = sprintf("TTL 7 d by contract: %.2f per job, %.0f bytes/job", $3 / jobs, $3 * $4 / jobs)
      else if ($3 > $2 * 1.1 + 10) note = "GROWS"
      printf "    %-28s %9d -> %9d  %6d B/key  %.1f MiB  %s\n", $1, $2, $3, $4, $3 * $4 / 1048576, note
    }' | sort -k4,4nr
printf '  top commands       calls/job  usec/job  (whole soak, every client: producer, app, daemon; per job pushed)\n'
awk -v n="$pushed_jobs" '$1 != "@total" { printf "    %-16s %8.2f  %8.2f\n", $1, $2 / n, $3 / n }' "$work/top.txt"
printf '  daemon metrics     %s\n' "$(awk '/^wa_health_cycles_total |^wa_switches_total |^wa_alerts_total |^wa_jobs_duplicate_total |^wa_events_consumed_total / { printf "%s%s %s", (n++ ? ", " : ""), $1, $2 }' "$work/metrics.txt")"
if [[ ${#problems[@]} -gt 0 ]]; then
  printf '\nFAILED:\n' >&2; printf '  %s\n' "${problems[@]}" >&2
  exit 1
fi
printf '  check              ok (one decision per job, none dead; daily counters = %d events; no errors; exit 0)\n' "$pushed_events"
growing=$(join -a1 -a2 -e0 -o 0,1.2,2.2 <(sort -k1,1 "$work/families-60.txt") <(sort -k1,1 "$work/families-end.txt") |
  awk '$1 != "wa:decided:*" && $1 != "wa:campaign:*:decision" && $3 > $2 * 1.1 + 10 { printf "%s%s", (n++ ? "," : ""), $1 } END { if (!n) printf "none" }')
printf 'RESULT seconds=%d jobs=%d events=%d jobs_per_s=%.0f events_per_s=%.0f rss_1min_kb=%d rss_end_kb=%d rss_drained_kb=%d rss_peak_kb=%d rss_after_warmup_kb=%d rss_last_minute_kb=%d rss_growth_pct=%.1f rss_2min_kb=%d rss_floor_last_third_kb=%d rss_trend_kb_per_min=%d rss_flat=%s keys_1min=%d keys_end=%d used_memory_1min=%d used_memory_end=%d daemon_cpu_s=%s redis_cpu_s=%s max_queue=%d growing=%s\n' \
  "$duration" "$pushed_jobs" "$pushed_events" "$(calc "$pushed_jobs / $load_s")" "$(calc "$pushed_events / $load_s")" \
  "$rss1" "$rss2" "$rss3" "$rss_peak" "$rss_after_warmup" "$rss_last_minute" "$rss_growth" "${rss_2min:-0}" "$rss_floor" "$rss_slope" "$rss_flat" "$keys1" "$keys3" "$mem1" "$mem3" "$dcpu" "$rcpu" "$max_queue" "$growing"
