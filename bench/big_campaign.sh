#!/usr/bin/env bash
# Big-campaign benchmark (issue 5): one job whose contacts are a Redis list of 1,000,000 ids
# (`contacts_key`), against a workspace of 10 healthy connected sessions. How long from pushing
# the job until its decision is on wa:results and the dispatch lists hold every id, compared with
# the plain cost of writing the same ids into one list with pipelined RPUSH.
#
#   bench/big_campaign.sh [-n CONTACTS] [-r RUNS] [-S "STRATEGY..."] [--no-build] [--keep]
#
#   -n CONTACTS   ids in the list demo:big (default 1000000, or $WA_BIG_CONTACTS)
#   -r RUNS       jobs per strategy (default 3); the report gives the median, and the best
#   -S STRATEGIES load_balancing.strategy values to try, in order
#                 (default "weighted_capacity health_score round_robin")
#   --no-build    use the binaries already in build-bench/
#   --keep        keep the temporary directory and print it
#
# Baseline: the same ids, RPUSHed in commands of 1000 ids into one list by `redis-cli --pipe`
# from a prepared RESP file (3 times, median), in the same run, on the same Redis; and once more
# right before every job, so that each job has a baseline taken under the same load of a shared
# machine: the ratio reported is the median of those paired ratios. Goal: the job is done in
# under 2 s and within 2x of the baseline.
# Checks (exit 1 when off): the decision is webjs over the 10 sessions, its distribution counts
# equal the lists' lengths, and the lists, read back in distribution order (interleaved for
# round_robin), are exactly demo:big: every id once, in input order.
set -euo pipefail
export LC_ALL=C

contacts=${WA_BIG_CONTACTS:-1000000} runs=3
strategies="weighted_capacity health_score round_robin"
build=1 keep=0
bench=big_campaign
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
usage_lines=6,13
while [[ $# -gt 0 ]]; do
  case $1 in
    -n) contacts=${2:?}; shift 2 ;;
    -r) runs=${2:?}; shift 2 ;;
    -S) strategies=${2:?}; shift 2 ;;
    *) wa_common_arg "$1"; shift ;;  # --no-build, --keep, -h
  esac
done
[[ $contacts =~ ^[1-9][0-9]*$ && $runs =~ ^[1-9][0-9]*$ ]] || { echo "big_campaign.sh: -n and -r take positive integers" >&2; exit 2; }
wa_build
wa_start_redis
nsessions=10

# ---- data ------------------------------------------------------------------------------------
log "== seeding 1 workspace x $nsessions sessions, $contacts contact ids"
seed_sessions 1 1 "$nsessions"
# 12-digit ids, distinct (i -> i * 2654435761 mod 10^11 is a bijection on 0..10^11-1), in a
# scattered order; all in doubles below 2^53, so exact in mawk.
awk -v n="$contacts" 'BEGIN { for (i = 1; i <= n; i++) printf "%.0f\n", 300000000000 + (i * 2654435761) % 100000000000 }' \
  </dev/null >"$work/ids.txt"
[[ $(sort -u "$work/ids.txt" | wc -l) == "$contacts" ]] || die "generated ids are not distinct"
resp() {  # KEY: RPUSH commands of 1000 ids each
  awk -v key="$1" '
    function flush(   i) {
      printf "*%d\r\n$5\r\nRPUSH\r\n$%d\r\n%s\r\n", n + 2, length(key), key
      for (i = 1; i <= n; i++) printf "$%d\r\n%s\r\n", length(b[i]), b[i]
      n = 0
    }
    { b[++n] = $0; if (n == 1000) flush() }
    END { if (n) flush() }' "$work/ids.txt"
}
resp demo:big >"$work/big.resp"
resp bench:baseline >"$work/baseline.resp"
t0=$(now_us); wa_pipe <"$work/big.resp"; t1=$(now_us)
[[ $(R LLEN demo:big) == "$contacts" ]] || die "demo:big does not hold $contacts ids"
seed_s=$(secs "$t0" "$t1")
log "   demo:big: $contacts ids, $(du -k "$work/big.resp" | cut -f1) KiB of RESP, written in $seed_s s; $(redis_mem_human) in Redis"

# ---- baseline: pipelined RPUSH of the same ids into one list -------------------------------------
baseline_times=()
snapshot >"$work/b0.txt"
for i in 1 2 3; do
  t0=$(now_us); wa_pipe <"$work/baseline.resp"; t1=$(now_us)
  [[ $(R LLEN bench:baseline) == "$contacts" ]] || die "the baseline list does not hold $contacts ids"
  baseline_times+=("$(secs "$t0" "$t1")")
  R DEL bench:baseline >/dev/null
done
snapshot >"$work/b1.txt"
baseline_s=$(printf '%s\n' "${baseline_times[@]}" | median)
baseline_redis_us=$(snap_top "$work/b0.txt" "$work/b1.txt" 50 | awk '$1 == "rpush" { printf "%.0f", $3 / 3 }')
log "   baseline (redis-cli --pipe, RPUSH x 1000 ids): ${baseline_times[*]} s; median $baseline_s s;" \
  "Redis time in RPUSH $(calc "$baseline_redis_us / 1e6") s per copy"

# ---- the daemon, per strategy ------------------------------------------------------------------
wa_poller_start
problems=()
dispatch_keys() {  # CAMPAIGN: the keys the 10 sessions' lists would have
  local k; for ((k = 1; k <= nsessions; k++)); do printf 'wa:dispatch:%s:s-1-%d\n' "$1" "$k"; done
}
report_lines=() result_fields=() campaign=900000 jobs_done=0
for strategy in $strategies; do
  cat >"$work/$strategy.yaml" <<YAML
redis: {unix_socket: "$sock"}
load_balancing: {strategy: $strategy}
metrics: {listen: ""}
logging: {level: info}
YAML
  # A fresh daemon per strategy: its start-up health cycle scores the sessions (the health lock
  # of the previous daemon's cycle is released here so the new one runs it too).
  R DEL wa:lock:health >/dev/null
  wa_start_daemon "$work/$strategy.yaml" "$work/daemon-$strategy.log"
  for _ in $(seq 500); do
    grep -q "health: $nsessions sessions in 1 workspaces checked" "$work/daemon-$strategy.log" && break
    kill -0 "$daemon_pid" 2>/dev/null || { cat "$work/daemon-$strategy.log" >&2; die "wa-routerd exited at start-up"; }
    sleep 0.02
  done
  grep -q "health: $nsessions sessions in 1 workspaces checked" "$work/daemon-$strategy.log" ||
    die "no start-up health cycle in 10 s ($strategy)"
  sleep 0.2   # let the fetch loop settle into its blocking wait

  times=() dcpus=() rcpus=() evalsha_us=() pair_ratios=() pair_baselines=()
  for ((r = 1; r <= runs; r++)); do
    t0=$(now_us); wa_pipe <"$work/baseline.resp"; t1=$(now_us)
    R DEL bench:baseline >/dev/null
    pair_baselines+=("$(secs "$t0" "$t1")")
    campaign=$((campaign + 1))
    mapfile -t keys < <(dispatch_keys "$campaign")
    job="{\"job_id\":\"big-$campaign\",\"campaign_id\":$campaign,\"workspace_id\":1,\"template_mode\":\"direct\",\"provider_preference\":\"auto\",\"contacts_key\":\"demo:big\",\"attempts\":0}"
    polls=()
    for k in "${keys[@]}"; do polls+=("LLEN $k"); done
    snapshot >"$work/s0.txt"
    dcpu0=$(proc_cpu "$daemon_pid")
    # Push as Queue::pushRaw does (payload, then the notify entry), through the open poller.
    start=$(now_us)
    wa_poll "RPUSH queues:wa-campaigns '$job'" "RPUSH queues:wa-campaigns:notify 1"
    npolls=0
    while :; do
      wa_poll "LLEN wa:results" "${polls[@]}"
      npolls=$((npolls + 1))
      sum=0; for v in "${reply[@]:1}"; do sum=$((sum + v)); done
      if [[ ${reply[0]} -gt $jobs_done && $sum -ge $contacts ]]; then break; fi
      now=$(now_us)
      if ((now - start > 120000000)); then
        tail -n 20 "$work/daemon-$strategy.log" >&2
        die "no decision after 120 s ($strategy; results ${reply[0]}, $sum ids in dispatch lists)"
      fi
      nap 0.002
    done
    end=$(now_us)
    jobs_done=$((jobs_done + 1))
    # The commands the poller sent are not the daemon's: 1 RPUSH x 2, (1 + 10) LLEN per poll.
    dcpu1=$(proc_cpu "$daemon_pid")
    snapshot >"$work/s1.txt"
    times+=("$(secs "$start" "$end")")
    pair_ratios+=("$(calc "${times[-1]} / ${pair_baselines[-1]}")")
    dcpus+=("$(calc "$dcpu1 - $dcpu0")")
    rcpus+=("$(snap_cpu "$work/s0.txt" "$work/s1.txt")")
    snap_top "$work/s0.txt" "$work/s1.txt" 6 "rpush:2 llen:$((npolls * (1 + nsessions))) info:1" >"$work/top-$strategy-$r.txt"
    evalsha_us+=("$(awk '$1 == "evalsha" || $1 == "eval" { u += $3 } END { print u + 0 }' "$work/top-$strategy-$r.txt")")

    # ---- correctness of this job ----
    decision=$(R LINDEX wa:results -1)
    jq -e --arg id "big-$campaign" '.job_id == $id' <<<"$decision" >/dev/null ||
      { problems+=("$strategy run $r: the last record on wa:results is not job big-$campaign"); continue; }
    type=$(jq -r .type <<<"$decision") reason=$(jq -r .reason <<<"$decision")
    [[ $type == webjs ]] || problems+=("$strategy run $r: decision type $type ($reason), expected webjs")
    mapfile -t dist < <(jq -r '.distribution[] | "\(.key) \(.count)"' <<<"$decision")
    [[ ${#dist[@]} == "$nsessions" ]] || problems+=("$strategy run $r: ${#dist[@]} targets, expected $nsessions")
    : >"$work/lists.txt"
    files=() counts=()
    for ((i = 0; i < ${#dist[@]}; i++)); do
      read -r key count <<<"${dist[i]}"
      len=$(R LLEN "$key")
      [[ $len == "$count" ]] || problems+=("$strategy run $r: $key holds $len ids, its distribution entry says $count")
      R --raw LRANGE "$key" 0 -1 >"$work/list-$i.txt"
      files+=("$work/list-$i.txt") counts+=("$count")
    done
    if [[ $strategy == round_robin ]]; then
      paste -d'\n' "${files[@]}" | grep -v '^$' >"$work/lists.txt" || true
    else
      cat "${files[@]}" >"$work/lists.txt"
    fi
    if ! cmp -s "$work/ids.txt" "$work/lists.txt"; then
      dup=$(sort "$work/lists.txt" | uniq -d | wc -l)
      problems+=("$strategy run $r: the dispatch lists are not demo:big in order ($(wc -l <"$work/lists.txt") ids, $dup duplicated)")
    fi
    shares=$(printf '%s\n' "${counts[@]}" | paste -sd/)
    [[ $(R EXISTS "wa:decided:big-$campaign:0") == 1 ]] || problems+=("$strategy run $r: no wa:decided marker")
    R DEL "${keys[@]}" >/dev/null   # free the memory (the app's senders would pop them)
    rm -f "${files[@]}" "$work/lists.txt"
    log "   $strategy run $r: $(fmt %.3f "${times[-1]}") s ($(fmt %.2f "${pair_ratios[-1]}")x its baseline of $(fmt %.3f "${pair_baselines[-1]}") s), daemon CPU ${dcpus[-1]} s, Redis CPU ${rcpus[-1]} s; $type/$reason, shares $shares"
  done
  wa_stop_daemon
  [[ $daemon_rc == 0 ]] || problems+=("$strategy: wa-routerd exited $daemon_rc after SIGTERM")
  errs=$(log_errors "$work/daemon-$strategy.log")
  [[ $errs == 0 ]] || problems+=("$strategy: $errs error lines in the daemon's log, e.g. $(first_log_error "$work/daemon-$strategy.log")")

  med=$(printf '%s\n' "${times[@]}" | median)
  best=$(printf '%s\n' "${times[@]}" | sort -g | head -1)
  dcpu=$(printf '%s\n' "${dcpus[@]}" | median) rcpu=$(printf '%s\n' "${rcpus[@]}" | median)
  ev=$(printf '%s\n' "${evalsha_us[@]}" | median)
  ratio=$(printf '%s\n' "${pair_ratios[@]}" | median); ratio=$(fmt %.3f "$ratio")
  goal_abs=$(awk -v t="$med" 'BEGIN { print (t < 2 ? "met" : "MISSED") }')
  goal_rel=$(awk -v r="$ratio" 'BEGIN { print (r <= 2 ? "met" : "MISSED") }')
  report_lines+=("$(printf '  %-18s %7.3f s  best %6.3f s  %5.2fx baseline   daemon CPU %5.2f s  Redis CPU %5.2f s  Redis in scripts %5.3f s   < 2 s: %s, <= 2x: %s' \
    "$strategy" "$med" "$best" "$ratio" "$dcpu" "$rcpu" "$(calc "$ev / 1e6")" "$goal_abs" "$goal_rel")")
  top_lines+=("  $strategy (last run): $(awk '$1 != "@total" { printf "%s%s %d calls %.3f s", (n++ ? ", " : ""), $1, $2, $3 / 1e6 }' "$work/top-$strategy-$runs.txt")")
  short=${strategy%%_*}
  result_fields+=("${short}_s=$med" "${short}_best_s=$best" "${short}_ratio=$ratio" "${short}_daemon_cpu_s=$dcpu" "${short}_redis_cpu_s=$rcpu" "${short}_redis_script_s=$(fmt %.3f "$(calc "$ev / 1e6")")")
done
wa_poller_stop

# ---- report ----------------------------------------------------------------------------------
printf '\nwa-routerd big campaign: 1 job, contacts_key list of %d ids, %d healthy sessions, %d run(s) per strategy\n' \
  "$contacts" "$nsessions" "$runs"
printf '  machine            %s\n' "$(machine_line)"
printf '  baseline           %.3f s median of %s s   (redis-cli --pipe, RPUSH x 1000 ids into one list; Redis time %.3f s)\n' \
  "$baseline_s" "${baseline_times[*]}" "$(calc "$baseline_redis_us / 1e6")"
printf '  job -> decision    push of the job -> its record on wa:results and %d ids in the dispatch lists (median);\n' "$contacts"
printf '                     x baseline: median of each run / the baseline copy made just before it\n'
printf '%s\n' "${report_lines[@]}"
printf '  Redis commands     (top by time; inner commands of the finish script counted separately)\n'
printf '%s\n' "${top_lines[@]}"
if [[ ${#problems[@]} -gt 0 ]]; then
  printf '\nFAILED:\n' >&2; printf '  %s\n' "${problems[@]}" >&2
  exit 1
fi
printf '  check              ok (webjs over %d sessions; counts = list lengths; lists = demo:big, every id once, in order)\n' "$nsessions"
printf 'RESULT contacts=%d baseline_s=%s %s\n' "$contacts" "$baseline_s" "${result_fields[*]}"
