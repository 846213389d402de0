#!/usr/bin/env bash
# Pacer capacity (issue 11): 100,000 webjs sessions, each with a backlog and all due at once, paced
# far faster than the pacer can go (rate_per_hour 36,000: each is due again 100 ms after its
# release) with a big pacing.ahead, so that nothing but the pacer limits the releases. How many
# releases per second the daemon reaches, the CPU each costs the daemon and Redis, and the worst
# Redis stall meanwhile; against `redis-benchmark -P 16` LPOP/RPUSH on the same Redis, same run.
#
#   bench/pacing_capacity.sh [-w WORKSPACES] [-p PER] [-b BACKLOG] [-t SECONDS] [-r RUNS] [--perf]
#                            [--no-build] [--keep]
#
#   -w WORKSPACES  workspaces (default 1000)        -p PER  sessions per workspace (default 100)
#   -b BACKLOG     contacts per session (default 30) -t SECONDS  the measured window (default 20)
#   -r RUNS        the whole run RUNS times, then the medians (default 1)
#   --perf         also `perf record` the daemon during the window and print its top functions
#
# Releases = RPUSH calls in Redis's commandstats over the window (the release script's RPUSH of
# each item into its ready list: nothing else RPUSHes), after a settling time of 3 s. Stalls: the
# worst SLOWLOG entry (threshold 1 ms) of the daemon's connections and the worst round trip of a
# PING every 2 ms (bench/stall_probe.php), from the daemon's start to the window's end; the same
# for the baseline. Goal: >= 50,000 releases/s with no stall over 10 ms. Exits 1 when a contact is
# lost or doubled or the daemon logs an error (not when a figure misses its goal).
set -euo pipefail
export LC_ALL=C
bench=pacing_capacity
nws=1000 per=100 backlog=30 window=20 settle=3 rate=36000 use_perf=0 runs=1 perf_arg=()
while [[ $# -gt 0 ]]; do
  case $1 in
    -w) nws=${2:?}; shift 2 ;;
    -p) per=${2:?}; shift 2 ;;
    -b) backlog=${2:?}; shift 2 ;;
    -t) window=${2:?}; shift 2 ;;
    --perf) use_perf=1 perf_arg=(--perf); shift ;;
    -r) runs=${2:?}; shift 2 ;;
    --no-build) build=0; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "$bench: unknown argument $1" >&2; exit 2 ;;
  esac
done
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=bench/pacing_lib.sh
source "$root/bench/pacing_lib.sh"

wa_build
if [[ $runs -gt 1 ]]; then  # this script RUNS times, then the medians of its RESULT lines
  wa_rerun "$runs" -w "$nws" -p "$per" -b "$backlog" -t "$window" "${perf_arg[@]}" --no-build
  wa_rerun_medians
  exit 0
fi
wa_start_redis
ntargets=$((nws * per))
load0=$(cut -d' ' -f1-3 /proc/loadavg)
log "== seeding $ntargets sessions ($nws workspaces x $per), $backlog contacts each"
t0=$(now_us)
seed_paced_sessions 1 "$nws" "$per" "$backlog" "$rate"
seed_s=$(secs "$t0" "$(now_us)")
[[ $(R ZCARD wa:pace:due) == "$ntargets" ]] || die "wa:pace:due does not hold $ntargets sessions"
log "   seeded in $seed_s s ($(redis_mem_human) in Redis)"

# ---- baseline: redis-benchmark -P 16 RPUSH + LPOP on the same Redis ----------------------------
bn=2000000
log "== baseline: redis-benchmark -P 16 -n $bn RPUSH, LPOP"
stall_probe_start
snapshot >"$work/b0"
redis-benchmark -s "$sock" -P 16 -n "$bn" -q -t rpush,lpop >"$work/baseline.txt" 2>&1
snapshot >"$work/b1"
stall_probe_stop
base_other=$stall_other base_ping=$stall_ping base_n=${stall_n#* }
tr '\r' '\n' <"$work/baseline.txt" | grep -E '^(RPUSH|LPOP): [0-9.]+ requests per second' >"$work/baseline_rps.txt" ||
  die "redis-benchmark printed no figures: $(cat "$work/baseline.txt")"
rpush_rps=$(awk -F'[: ]+' '$1 == "RPUSH" { print $2 }' "$work/baseline_rps.txt")
lpop_rps=$(awk -F'[: ]+' '$1 == "LPOP" { print $2 }' "$work/baseline_rps.txt")
base_cpu_us=$(calc "$(snap_cpu "$work/b0" "$work/b1") * 1e6 / (2 * $bn)")
R DEL mylist >/dev/null

# ---- the pacer ---------------------------------------------------------------------------------
cat >"$work/wa.yaml" <<YAML
redis: {unix_socket: "$sock"}
metrics: {listen: ""}
$(pacing_yaml 0.3 1000)
YAML
log "== the pacer on $ntargets due sessions: ${settle} s settling, ${window} s measured"
stall_probe_start
wa_start_daemon "$work/wa.yaml" "$work/daemon.log"
sleep "$settle"
perf_pid=""
if [[ $use_perf == 1 ]]; then
  perf record -F 499 -g -o "$work/perf.data" -p "$daemon_pid" >/dev/null 2>&1 &
  perf_pid=$!
fi
c0=$(proc_cpu "$daemon_pid") w0=$(now_us)
snapshot >"$work/s0"
sleep "$window"
snapshot >"$work/s1"
c1=$(proc_cpu "$daemon_pid") w1=$(now_us)
if [[ -n $perf_pid ]]; then kill -INT "$perf_pid"; wait "$perf_pid" || true; fi
stall_probe_stop
threads=$(find "/proc/$daemon_pid/task" -mindepth 1 -maxdepth 1 | wc -l)
wa_stop_daemon
[[ $(log_errors "$work/daemon.log") == 0 ]] || die "daemon errors: $(first_log_error "$work/daemon.log")"

# ---- every contact once: still in its dispatch list or released (ready list), none doubled ------
read -r in_ready in_dispatch dup < <(R EVAL "
  local ready, disp, dup = 0, 0, 0
  local w0, w1, per = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
  for w = w0, w1 do for k = 1, per do
    local s = 's-' .. w .. '-' .. k
    local seen = {}
    for _, it in ipairs(redis.call('LRANGE', 'wa:ready:' .. s, 0, -1)) do
      local c = cjson.decode(it).contact
      if seen[c] then dup = dup + 1 end
      seen[c] = true
    end
    for _, c in ipairs(redis.call('LRANGE', 'wa:dispatch:1:' .. s, 0, -1)) do
      if seen[c] then dup = dup + 1 end
      seen[c] = true
    end
    ready = ready + redis.call('LLEN', 'wa:ready:' .. s)
    disp = disp + redis.call('LLEN', 'wa:dispatch:1:' .. s)
  end end
  return ready .. ' ' .. disp .. ' ' .. dup" 0 1 "$nws" "$per")
[[ $((in_ready + in_dispatch)) == $((ntargets * backlog)) && $dup == 0 ]] ||
  die "$in_ready released + $in_dispatch in dispatch lists != $((ntargets * backlog)) seeded, or $dup doubled"

# ---- figures -----------------------------------------------------------------------------------
wall=$(secs "$w0" "$w1")
snap_top "$work/s0" "$work/s1" 100 >"$work/top.txt"
releases=$(awk '$1 == "rpush" { print $2 }' "$work/top.txt")
[[ -n $releases && $releases -gt 0 ]] || die "no release in the window"
rps=$(calc "$releases / $wall")
dcpu=$(calc "$c1 - $c0") rcpu=$(snap_cpu "$work/s0" "$work/s1")
us_rel() { calc "$1 * 1e6 / $releases"; }
pct_core() { awk -v c="$1" -v w="$wall" 'BEGIN { printf "%.0f %%", 100 * c / w }'; }
ms() { awk -v u="$1" 'BEGIN { printf "%.1f", u / 1000 }'; }

printf '\npacer capacity: %d sessions due, backlog %d each, rate_per_hour %d, pacing.ahead 1000; window %s s\n' \
  "$ntargets" "$backlog" "$rate" "$wall"
printf '  %s\n' "$(machine_line "$load0")"
printf '  seeding            %s s for %d sessions and %d contacts (awk | redis-cli --pipe)\n' "$seed_s" "$ntargets" "$((ntargets * backlog))"
printf '  releases           %d in %s s: %.0f releases/s (goal >= 50,000/s: %s)\n' "$releases" "$wall" "$rps" \
  "$(awk -v r="$rps" 'BEGIN { if (r >= 50000) print "met"; else printf "not met, %.0f %% of it", 100 * r / 50000 }')"
printf '  baseline           redis-benchmark -P 16: RPUSH %.0f/s, LPOP %.0f/s (%.2f us of Redis CPU each); releases per pipelined LPOP %.4f\n' \
  "$rpush_rps" "$lpop_rps" "$base_cpu_us" "$(calc "$rps / $lpop_rps")"
printf '  CPU                daemon %s s (%s of a core, %d threads): %.2f us per release; Redis %s s (%s of a core): %.2f us per release = %.1fx a pipelined LPOP/RPUSH\n' \
  "$dcpu" "$(pct_core "$dcpu")" "$threads" "$(us_rel "$dcpu")" "$rcpu" "$(pct_core "$rcpu")" "$(us_rel "$rcpu")" \
  "$(calc "$(us_rel "$rcpu") / $base_cpu_us")"
# The pass is a chain of round trips (ZRANGEBYSCORE, settings, HMGET, the release pipeline): the
# daemon and Redis mostly take turns, so 1 / (daemon + Redis CPU per release) bounds the rate.
printf '  where the time goes  daemon + Redis = %.2f us of CPU per release: at most %.0f releases/s while they take turns; both busy %s of the wall time, the rest waiting (round trips, other processes on the machine)\n' \
  "$(calc "$(us_rel "$dcpu") + $(us_rel "$rcpu")")" "$(calc "1e6 / ($(us_rel "$dcpu") + $(us_rel "$rcpu"))")" \
  "$(pct_core "$(calc "$dcpu + $rcpu")")"
printf '  Redis by command   (commandstats usec per release; a script'"'"'s time includes the commands it calls)\n'
awk -v r="$releases" '$1 != "@total" && NR <= 14 { printf "                     %-14s %9d calls %8.2f us/release %7.2f us/call\n", $1, $2, $3 / r, $3 / $2 }' "$work/top.txt"
printf '  stalls             daemon: worst %s ms (%s), %d commands over 1 ms; others %s ms; worst PING %s ms (goal <= 10 ms)\n' \
  "$(ms "${stall_wa% *}")" "${stall_wa#* }" "${stall_n% *}" "$(ms "${stall_other% *}")" "$stall_ping"
printf '                     baseline: redis-benchmark worst %s ms (%s), %d commands over 1 ms; worst PING %s ms\n' \
  "$(ms "${base_other% *}")" "${base_other#* }" "$base_n" "$base_ping"
printf '  check              ok: %d contacts released (in ready lists) + %d waiting = %d seeded, none doubled\n' \
  "$in_ready" "$in_dispatch" "$((ntargets * backlog))"
if [[ $use_perf == 1 && -s $work/perf.data ]]; then
  printf '\n  daemon profile (perf, self time, top 25):\n'
  perf report -i "$work/perf.data" --no-children --stdio --percent-limit 0.8 2>/dev/null |
    grep -E '^ +[0-9.]+%' | head -25 | sed 's/^/  /'
fi
printf 'RESULT targets=%d releases_per_s=%.0f daemon_us=%s redis_us=%s lpop_per_s=%.0f ratio_lpop=%s stall_ms=%s ping_ms=%s base_ping_ms=%s\n' \
  "$ntargets" "$rps" "$(us_rel "$dcpu")" "$(us_rel "$rcpu")" "$lpop_rps" "$(calc "$rps / $lpop_rps")" \
  "$(ms "${stall_wa% *}")" "$stall_ping" "$base_ping"
