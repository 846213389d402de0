#!/usr/bin/env bash
# Sticky senders benchmark (issue 13, contract section 10): one `contacts_key` job of 1,000,000
# ids over 10 healthy sessions, with half of its contacts already sticky (wa:sticky:1 names a
# session for every other id) and `selection.sticky_sender: true`, against the same job with
# `sticky_sender: false`. Reports the wall time of each (push of the job -> its record on
# wa:results and every id in the dispatch lists), their ratio (goal <= 3x) and the worst SLOWLOG
# entry of each (threshold 1 ms; goal: a few ms at most).
# In the same run it also times Redis's own floor for stickiness: the job's 1,000,000 lookups and
# 500,000 inserts sent by redis-cli --pipe (HMGET of 1,000 ids, HSET of 500 fields) on the same
# half-filled hash, and reports "floor ratio" = (off + that) / off: no client can do better on
# this layout, and how close the daemon comes to it.
#
#   bench/sticky.sh [-n CONTACTS] [-r RUNS] [--no-build] [--keep]
#
#   -n CONTACTS   ids in the list demo:big (default 1000000)
#   -r RUNS       jobs per mode, alternating (default 3); the report gives the medians
#   --no-build    use the binary already in build-bench/ (or $WA_DAEMON_BIN)
#   --keep        keep the temporary directory and print it
#
# Checks (exit 1 when off): every id is in exactly one dispatch list, and with stickiness on every
# sticky id is in its session's list.
set -euo pipefail
export LC_ALL=C

contacts=1000000 runs=3
bench=sticky
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
usage_lines=13,18
while [[ $# -gt 0 ]]; do
  case $1 in
    -n) contacts=${2:?}; shift 2 ;;
    -r) runs=${2:?}; shift 2 ;;
    *) wa_common_arg "$1"; shift ;;  # --no-build, --keep, -h
  esac
done
[[ $contacts =~ ^[1-9][0-9]*$ && $runs =~ ^[1-9][0-9]*$ ]] || { echo "sticky.sh: -n and -r take positive integers" >&2; exit 2; }

[[ -n ${WA_DAEMON_BIN:-} ]] && daemon_bin=$WA_DAEMON_BIN
wa_build
wa_start_redis
nsessions=10

# ---- data ------------------------------------------------------------------------------------
log "== seeding 1 workspace x $nsessions sessions, $contacts contact ids, half of them sticky"
seed_sessions 1 1 "$nsessions"
awk -v n="$contacts" 'BEGIN { for (i = 1; i <= n; i++) printf "%.0f\n", 300000000000 + (i * 2654435761) % 100000000000 }' \
  </dev/null >"$work/ids.txt"
# Every other id is sticky, to a session picked by a hash of its position.
awk -v per="$nsessions" 'NR % 2 == 0 { printf "%s s-1-%d\n", $0, 1 + (NR * 7919) % per }' "$work/ids.txt" >"$work/sticky.txt"
awk '
  function flush(   i) {
    printf "*%d\r\n$4\r\nHSET\r\n$11\r\nwa:sticky:1\r\n", 2 * n + 2
    for (i = 1; i <= n; i++) printf "$%d\r\n%s\r\n$%d\r\n%s\r\n", length(c[i]), c[i], length(s[i]), s[i]
    n = 0
  }
  { c[++n] = $1; s[n] = $2; if (n == 1000) flush() }
  END { if (n) flush() }' "$work/sticky.txt" >"$work/sticky.resp"
# The floor's commands: every id looked up, and the ids that are not sticky yet written.
awk '
  { c[++n] = $1; if (n == 1000) flush() }
  END { if (n) flush() }
  function flush(   i) {
    printf "*%d\r\n$5\r\nHMGET\r\n$11\r\nwa:sticky:1\r\n", n + 2
    for (i = 1; i <= n; i++) printf "$%d\r\n%s\r\n", length(c[i]), c[i]
    n = 0
  }' "$work/ids.txt" >"$work/lookups.resp"
awk -v per="$nsessions" '
  NR % 2 == 1 { c[++n] = $1; s[n] = "s-1-" (1 + NR % per); if (n == 500) flush() }
  END { if (n) flush() }
  function flush(   i) {
    printf "*%d\r\n$4\r\nHSET\r\n$11\r\nwa:sticky:1\r\n", 2 * n + 2
    for (i = 1; i <= n; i++) printf "$%d\r\n%s\r\n$%d\r\n%s\r\n", length(c[i]), c[i], length(s[i]), s[i]
    n = 0
  }' "$work/ids.txt" >"$work/inserts.resp"
awk '
  function flush(   i) {
    printf "*%d\r\n$5\r\nRPUSH\r\n$8\r\ndemo:big\r\n", n + 2
    for (i = 1; i <= n; i++) printf "$%d\r\n%s\r\n", length(b[i]), b[i]
    n = 0
  }
  { b[++n] = $0; if (n == 1000) flush() }
  END { if (n) flush() }' "$work/ids.txt" | wa_pipe
[[ $(R LLEN demo:big) == "$contacts" ]] || die "demo:big does not hold $contacts ids"
R CONFIG SET slowlog-log-slower-than 1000 >/dev/null
R CONFIG SET slowlog-max-len 100000 >/dev/null

# ---- one job per run and mode ------------------------------------------------------------------
problems=() campaign=950000 jobs_done=0
declare -A times slow top
for mode in on off; do
  flag=true; [[ $mode == off ]] && flag=false
  cat >"$work/$mode.yaml" <<YAML
redis: {unix_socket: "$sock"}
selection: {sticky_sender: $flag}
pacing: {enabled: false}
metrics: {listen: ""}
logging: {level: info}
YAML
done
wa_poller_start
run_job() {  # MODE
  local mode=$1 start end k sum key
  R DEL wa:sticky:1 wa:lock:health >/dev/null
  [[ $mode == on ]] && wa_pipe <"$work/sticky.resp"
  wa_start_daemon "$work/$mode.yaml" "$work/daemon-$mode.log"
  for _ in $(seq 500); do
    grep -qs "health: $nsessions sessions in 1 workspaces checked" "$work/daemon-$mode.log" && break
    sleep 0.02
  done
  sleep 0.2
  campaign=$((campaign + 1))
  local polls=()
  for ((k = 1; k <= nsessions; k++)); do polls+=("LLEN wa:dispatch:$campaign:s-1-$k"); done
  R SLOWLOG RESET >/dev/null
  snapshot >"$work/s0.txt"
  job="{\"job_id\":\"st-$campaign\",\"campaign_id\":$campaign,\"workspace_id\":1,\"template_mode\":\"direct\",\"contacts_key\":\"demo:big\",\"attempts\":0}"
  start=$(now_us)
  wa_poll "RPUSH queues:wa-campaigns '$job'" "RPUSH queues:wa-campaigns:notify 1"
  while :; do
    wa_poll "LLEN wa:results" "${polls[@]}"
    sum=0; for v in "${reply[@]:1}"; do sum=$((sum + v)); done
    [[ ${reply[0]} -gt $jobs_done && $sum -ge $contacts ]] && break
    (( $(now_us) - start > 300000000 )) && die "no decision after 300 s ($mode)"
    nap 0.002
  done
  end=$(now_us)
  jobs_done=$((jobs_done + 1))
  snapshot >"$work/s1.txt"
  top[$mode]=$(snap_top "$work/s0.txt" "$work/s1.txt" 6 | awk '$1 != "@total" { printf "%s%s %d calls %.3f s", (n++ ? ", " : ""), $1, $2, $3 / 1e6 }')
  times[$mode]+="$(secs "$start" "$end") "
  # The worst entry of the daemon's commands (the poller's are not slow): "micros command".
  worst=$(R --json SLOWLOG GET 100000 | jq -r 'map(select(.[3][0] != "SLOWLOG")) | max_by(.[2]) // [0,0,0,["none"]] | "\(.[2]) \(.[3][0])"')
  slow[$mode]+="${worst// /:} "
  wa_stop_daemon
  # ---- checks ----
  : >"$work/lists.txt"
  for ((k = 1; k <= nsessions; k++)); do
    key=wa:dispatch:$campaign:s-1-$k
    R --raw LRANGE "$key" 0 -1 | awk -v s="s-1-$k" 'NF { print $0, s }' >>"$work/lists.txt"
    R DEL "$key" >/dev/null
  done
  [[ $(cut -d' ' -f1 "$work/lists.txt" | sort | uniq | wc -l) == "$contacts" && $(wc -l <"$work/lists.txt") == "$contacts" ]] ||
    problems+=("$mode: the lists do not hold every id exactly once")
  if [[ $mode == on ]]; then
    moved=$(awk 'NR == FNR { want[$1] = $2; next } ($1 in want) && want[$1] != $2 { n++ } END { print n + 0 }' \
      "$work/sticky.txt" "$work/lists.txt")
    [[ $moved == 0 ]] || problems+=("on: $moved sticky ids not in their session's list")
    [[ $(R HLEN wa:sticky:1) == "$contacts" ]] || problems+=("on: wa:sticky:1 does not name every id")
  elif [[ $(R EXISTS wa:sticky:1) != 0 ]]; then
    problems+=("off: wa:sticky:1 was written")
  fi
  log "   $mode: $(secs "$start" "$end") s, worst SLOWLOG entry ${worst} (us command); Redis: ${top[$mode]}"
}
# Redis's floor for the job's stickiness: its lookups and inserts alone, from redis-cli.
run_floor() {
  local start end
  R DEL wa:sticky:1 >/dev/null
  wa_pipe <"$work/sticky.resp"
  start=$(now_us)
  wa_pipe <"$work/lookups.resp"
  wa_pipe <"$work/inserts.resp"
  end=$(now_us)
  [[ $(R HLEN wa:sticky:1) == "$contacts" ]] || problems+=("floor: the inserts did not fill wa:sticky:1")
  times[floor]+="$(secs "$start" "$end") "
  log "   floor: $(secs "$start" "$end") s (HMGET of every id, HSET of the half not sticky yet)"
}
for ((r = 1; r <= runs; r++)); do
  run_job on
  run_job off
  run_floor
done
wa_poller_stop

# ---- report ----------------------------------------------------------------------------------
med_on=$(tr ' ' '\n' <<<"${times[on]}" | grep . | median)
med_off=$(tr ' ' '\n' <<<"${times[off]}" | grep . | median)
worst_of() { tr ' ' '\n' <<<"${slow[$1]}" | grep . | sort -t: -k1,1g | tail -1 | tr ':' ' '; }
med_floor=$(tr ' ' '\n' <<<"${times[floor]}" | grep . | median)
ratio=$(calc "$med_on / $med_off")
floor_ratio=$(calc "($med_off + $med_floor) / $med_off")
printf '\nwa-routerd sticky senders: 1 contacts_key job of %d ids, %d sessions, %d run(s) per mode\n' "$contacts" "$nsessions" "$runs"
printf '  machine            %s\n' "$(machine_line)"
printf '  sticky on, 50%% sticky  %7.3f s median of %s s; worst SLOWLOG %s us\n' "$med_on" "${times[on]}" "$(worst_of on)"
printf '  sticky off             %7.3f s median of %s s; worst SLOWLOG %s us\n' "$med_off" "${times[off]}" "$(worst_of off)"
printf '  ratio                  %.2fx (goal <= 3x)\n' "$ratio"
printf '  Redis floor            %7.3f s median of %s s (lookups and inserts from redis-cli)\n' "$med_floor" "${times[floor]}"
printf '  floor ratio            %.2fx = (off + floor) / off; the daemon is at %.2fx of it\n' "$floor_ratio" "$(calc "$ratio / $floor_ratio")"
if [[ ${#problems[@]} -gt 0 ]]; then
  printf '\nFAILED:\n' >&2; printf '  %s\n' "${problems[@]}" >&2
  exit 1
fi
printf 'RESULT contacts=%d on_s=%s off_s=%s ratio=%s floor_s=%s floor_ratio=%s\n' \
  "$contacts" "$med_on" "$med_off" "$ratio" "$med_floor" "$floor_ratio"
