#!/usr/bin/env bash
# Pacing accuracy (issue 11): 1,000 webjs sessions paced at the workspace's rate_per_hour, each
# with a backlog longer than the run, and simulated senders popping every ready list; does each
# session release rate x time contacts, with gaps inside the jitter?
#
#   bench/pacing_accuracy.sh [-w WORKSPACES] [-p PER] [-R RATE] [-j JITTER] [-t SECONDS]
#                            [-i POP_MS] [-r RUNS] [--no-build] [--keep]
#
#   -w WORKSPACES  workspaces (default 10)          -p PER     sessions per workspace (default 100)
#   -R RATE        rate_per_hour of every workspace (default 7200: a gap of 0.5 s)
#   -j JITTER      pacing.jitter (default 0.3)      -t SECONDS the measured window (default 60)
#   -i POP_MS      the senders' loop: every ready list popped (LPOP key 100, one pipeline) every
#                  POP_MS milliseconds (default 50; bench/pacing_popper.php)
#   -r RUNS        the whole run RUNS times, then the medians (default 1)
#
# Warm-up off, a daily cap far above the run, the health lock pinned (seeded health 95; the
# workspace rate governs). The window starts 5 s after the daemon (its first pass releases every
# session at once). Per session: releases with released_at in the window vs rate x window
# (error = |count - expected| / expected; goals: aggregate < 2 %, each session < 10 %); every gap
# between a session's consecutive releases as a multiple of the nominal gap 3600 / rate (expected
# within [1 - jitter, 1 + jitter], plus the pacer's lateness). Baseline, same run: the same
# sessions simulated with ideal timing (gaps exactly nominal x (1 + u)): the per-session error that
# the jitter alone causes over such a window. Exits 1 when a contact is lost or doubled or the
# daemon logs an error (not when a figure misses its goal: the summary says).
set -euo pipefail
export LC_ALL=C
bench=pacing_accuracy
nws=10 per=100 rate=7200 jitter=0.3 window=60 pop_ms=50 settle=5 runs=1
while [[ $# -gt 0 ]]; do
  case $1 in
    -w) nws=${2:?}; shift 2 ;;
    -p) per=${2:?}; shift 2 ;;
    -R) rate=${2:?}; shift 2 ;;
    -j) jitter=${2:?}; shift 2 ;;
    -t) window=${2:?}; shift 2 ;;
    -i) pop_ms=${2:?}; shift 2 ;;
    -r) runs=${2:?}; shift 2 ;;
    --no-build) build=0; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "$bench: unknown argument $1" >&2; exit 2 ;;
  esac
done
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=bench/pacing_lib.sh
source "$root/bench/pacing_lib.sh"

wa_build
if [[ $runs -gt 1 ]]; then  # this script RUNS times, then the medians of its RESULT lines
  wa_rerun "$runs" -w "$nws" -p "$per" -R "$rate" -j "$jitter" -t "$window" -i "$pop_ms" --no-build
  wa_rerun_medians
  exit 0
fi
wa_start_redis
nsessions=$((nws * per))
# Enough for the run: twice rate x (settle + window), at least 20.
backlog=$(awk -v r="$rate" -v t=$((settle + window)) 'BEGIN { b = int(2 * r * t / 3600) + 1; print (b < 20 ? 20 : b) }')
log "== seeding $nsessions sessions ($nws workspaces x $per), $backlog contacts each, $rate/h"
t0=$(now_us)
seed_paced_sessions 1 "$nws" "$per" "$backlog" "$rate"
log "   seeded in $(secs "$t0" "$(now_us)") s"
R EVAL "return redis.call('ZRANGE', KEYS[1], 0, -1)" 1 wa:pace:due >"$work/sessions.txt"
[[ $(wc -l <"$work/sessions.txt") == "$nsessions" ]] || die "wa:pace:due does not hold $nsessions sessions"

cat >"$work/wa.yaml" <<YAML
redis: {unix_socket: "$sock"}
metrics: {listen: ""}
$(pacing_yaml "$jitter" 2)
YAML
load0=$(cut -d' ' -f1-3 /proc/loadavg)
php "$root/bench/pacing_popper.php" "$sock" "$work/sessions.txt" "$work/stop" "$pop_ms" \
  >"$work/popped.txt" &
popper_pid=$!
wa_extra_pids+=("$popper_pid")
start_ms=$(date +%s%3N)
wa_start_daemon "$work/wa.yaml" "$work/daemon.log"
from_ms=$((start_ms + settle * 1000)) to_ms=$((start_ms + (settle + window) * 1000))
sleep "$settle"
cpu_d0=$(proc_cpu "$daemon_pid")
snapshot >"$work/snap0"
log "== measuring ${window} s (popping every ${pop_ms} ms)"
sleep "$window"
cpu_d1=$(proc_cpu "$daemon_pid")
snapshot >"$work/snap1"
sleep 0.5
touch "$work/stop"
wait "$popper_pid" || die "the popper failed"
wa_stop_daemon
[[ $(log_errors "$work/daemon.log") == 0 ]] || die "daemon errors: $(first_log_error "$work/daemon.log")"

# ---- every contact once: popped + still in ready lists + still in dispatch lists = seeded ------
mapfile -t sids <"$work/sessions.txt"
left=$(R EVAL "local n = 0
  for _, s in ipairs(ARGV) do
    n = n + redis.call('LLEN', 'wa:ready:' .. s) + redis.call('LLEN', 'wa:dispatch:1:' .. s)
  end
  return n" 0 "${sids[@]}")
popped=$(wc -l <"$work/popped.txt")
[[ $((popped + left)) == $((nsessions * backlog)) ]] ||
  die "$popped popped + $left left != $((nsessions * backlog)) seeded"
released_key=$(R EVAL "local n = 0
  for _, s in ipairs(ARGV) do
    n = n + (tonumber(redis.call('HGET', 'wa:pace:' .. s, 'released_today')) or 0)
  end
  return n" 0 "${sids[@]}")

# ---- figures -----------------------------------------------------------------------------------
# "n min p1 mean p99 max" of the numbers in a file, one a line.
dist() {
  sort -g "$1" | awk '{ a[NR] = $1; s += $1 }
    function at(p,    i) { i = int(p * NR + 0.5); if (i < 1) i = 1; if (i > NR) i = NR; return a[i] }
    END { if (NR == 0) { print "0 0 0 0 0 0"; exit } printf "%d %.10g %.10g %.10g %.10g %.10g\n", NR, a[1], at(0.01), s / NR, at(0.99), a[NR] }'
}
# Per session: releases with released_at in the window (sessions.txt: one that released nothing
# counts 0); every gap whose later release is in the window, in nominal gaps; release to pop.
sort -k1,1 -k2,2n "$work/popped.txt" | awk -v from="$from_ms" -v to="$to_ms" -v rate="$rate" \
  -v dir="$work" '
  BEGIN { g = 3600000 / rate }
  FNR == NR { c[$1] = 0; next }
  {
    if ($2 >= from && $2 < to) c[$1]++
    if ($1 == prev && $2 >= from && $2 < to) print ($2 - prev_at) / g >dir "/gaps.txt"
    prev = $1; prev_at = $2
    print $3 - $2 >dir "/delays.txt"
  }
  END { for (s in c) print c[s] >dir "/counts.txt" }' "$work/sessions.txt" -
expect=$(calc "$rate * $window / 3600")
awk -v e="$expect" '{ d = $1 - e; if (d < 0) d = -d; print d / e }' "$work/counts.txt" >"$work/errs.txt"
counted=$(awk '{ s += $1 } END { print s + 0 }' "$work/counts.txt")
agg_err=$(awk -v t="$counted" -v e="$expect" -v n="$nsessions" 'BEGIN { d = t - n * e; if (d < 0) d = -d; printf "%.6f", d / (n * e) }')
read -r _ min_c _ _ _ max_c < <(dist "$work/counts.txt")
read -r _ _ _ mean_err p99_err max_err < <(dist "$work/errs.txt")
read -r ngaps gmin gp1 gmean gp99 gmax < <(dist "$work/gaps.txt")
read -r below above < <(awk -v j="$jitter" -v g="$(calc "3600000 / $rate")" '
  $1 * g < (1 - j) * g - 1 { b++ } $1 * g > (1 + j) * g + 1 { a++ } END { print b + 0, a + 0 }' "$work/gaps.txt")
late_ms=$(calc "($gmean - 1) * 3600000 / $rate")
read -r _ _ _ pop_mean _ pop_max < <(dist "$work/delays.txt")
expected=$(awk -v n="$nsessions" -v e="$expect" 'BEGIN { printf "%.0f", n * e }')

# Baseline: ideal timing. Each session starts at 0 (as every session is due at the start), gaps
# nominal x (1 + u), u uniform in [-jitter, jitter]; releases counted in [settle, settle + window).
awk -v rate="$rate" -v j="$jitter" -v n="$nsessions" -v from="$settle" -v to=$((settle + window)) '
  BEGIN {
    srand(11); g = 3600 / rate; expect = rate * (to - from) / 3600
    for (s = 1; s <= n; s++) {
      c = 0
      for (t = 0; t < to; t += g * (1 + j * (2 * rand() - 1))) if (t >= from) c++
      print (c > expect ? c - expect : expect - c) / expect
    }
  }' >"$work/sim.txt"
read -r _ _ _ sim_mean sim_p99 sim_max < <(dist "$work/sim.txt")

rcpu=$(snap_cpu "$work/snap0" "$work/snap1")
dcpu=$(calc "$cpu_d1 - $cpu_d0")
pctf() { awk -v v="$1" 'BEGIN { printf "%.2f %%", v * 100 }'; }
lo=$(calc "1 - $jitter") hi=$(calc "1 + $jitter")
printf '\npacing accuracy: %d sessions at %s/h (nominal gap %s ms), jitter %s, window %d s, senders every %d ms\n' \
  "$nsessions" "$rate" "$(calc "3600000 / $rate")" "$jitter" "$window" "$pop_ms"
printf '  %s\n' "$(machine_line "$load0")"
printf '  releases in window  %d of rate x time %d: aggregate error %s (goal < 2 %%)\n' "$counted" "$expected" "$(pctf "$agg_err")"
printf '  per session         %d-%d releases (expected %s); error mean %s, p99 %s, max %s (goal < 10 %%)\n' \
  "$min_c" "$max_c" "$(calc "$rate * $window / 3600")" "$(pctf "$mean_err")" "$(pctf "$p99_err")" "$(pctf "$max_err")"
printf '  baseline            ideal timing, same jitter (simulated): error mean %s, p99 %s, max %s\n' \
  "$(pctf "$sim_mean")" "$(pctf "$sim_p99")" "$(pctf "$sim_max")"
printf '  gaps / nominal      %d gaps: min %s, p1 %s, mean %s, p99 %s, max %s (jitter bounds [%s, %s])\n' \
  "$ngaps" "$(fmt %.3f "$gmin")" "$(fmt %.3f "$gp1")" "$(fmt %.4f "$gmean")" "$(fmt %.3f "$gp99")" \
  "$(fmt %.3f "$gmax")" "$lo" "$hi"
printf '                      %d below, %d above the bounds (1 ms of rounding allowed); mean lateness %s ms per gap\n' \
  "$below" "$above" "$(fmt %.1f "$late_ms")"
printf '  senders             popped %d; release to pop: mean %.1f ms, max %s ms\n' "$popped" "$pop_mean" "$pop_max"
printf '  CPU in window       daemon %s s (%.1f %% of a core), Redis %s s (%.1f %%, the senders'"'"' pops included)\n' \
  "$dcpu" "$(calc "100 * $dcpu / $window")" "$rcpu" "$(calc "100 * $rcpu / $window")"
printf '  check               ok: every contact popped, still ready or still in its dispatch list, once (released_today sum %d)\n' "$released_key"
printf 'RESULT sessions=%d rate=%s jitter=%s agg_err_pct=%s p99_err_pct=%s max_err_pct=%s sim_p99_pct=%s sim_max_pct=%s gap_min=%s gap_mean=%s gap_max=%s gaps_above=%d late_ms=%s\n' \
  "$nsessions" "$rate" "$jitter" "$(calc "$agg_err * 100")" "$(calc "$p99_err * 100")" "$(calc "$max_err * 100")" \
  "$(calc "$sim_p99 * 100")" "$(calc "$sim_max * 100")" "$gmin" "$gmean" "$gmax" "$above" "$late_ms"
