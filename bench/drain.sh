#!/usr/bin/env bash
# End-to-end drain benchmark (issue 5): how fast wa-routerd empties a preloaded queue, and who
# pays for it, the daemon or Redis.
#
#   bench/drain.sh [-n JOBS] [-b BATCH_SIZE] [-s SEED] [-r RUNS] [--tcp|--tls] [--no-build] [--keep]
#
#   -n JOBS        campaign jobs to preload (default 50000, or $WA_DRAIN_JOBS); 20 contacts each
#   -b BATCH_SIZE  queue.batch_size of the daemon (default 64, the daemon's own, or $WA_DRAIN_BATCH)
#   -s SEED        seed of the generated data set (default 20261125, or $WA_DRAIN_SEED)
#   -r RUNS        repeat the whole run (fresh Redis, same data) RUNS times, then print medians
#   --no-build     use the binaries already in build-bench/ (e.g. while someone else rebuilds)
#   --keep         keep the temporary directory (config, logs, Redis socket is gone) and print it
#   --tcp, --tls   the daemon talks to Redis over TCP, or TLS, on 127.0.0.1 (default: unix socket)
#   $WA_DRAIN_CONFIG_EXTRA  YAML lines added to the daemon's config (e.g.
#                  "selection: {sticky_sender: false}")
#
# What it does: builds wa-routerd and wa-router (Release, build-bench/), starts a private
# redis-server on a unix socket, seeds 100 workspaces with 3-10 webjs sessions of mixed health
# and JOBS Laravel-style campaign jobs (bench/drain_seed.awk -> RESP -> redis-cli --pipe),
# starts wa-routerd and measures the wall time until the queue and the reserved set are empty
# and wa:results holds one record per job; the daemon's CPU (/proc/<pid>/stat) and Redis's CPU
# (INFO cpu) and commands (INFO commandstats) over the same interval; then the raw ceiling of
# this Redis (redis-benchmark, pipelined LPUSH/RPOP). It checks the outcome (one result per
# job, every job_id once, nothing left in the queue, no dead entries, every queued decision in
# the delayed set) and exits non-zero when something is off. Everything it starts is stopped.
# The set-up (build, Redis, clean-up, snapshots, poller) is bench/lib.sh's.
set -euo pipefail
export LC_ALL=C

jobs=${WA_DRAIN_JOBS:-50000}
batch=${WA_DRAIN_BATCH:-64}
seed=${WA_DRAIN_SEED:-20261125}
build=1 keep=0 runs=1 tcp=0 tls=0
bench=drain
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
usage_lines=4,15
while [[ $# -gt 0 ]]; do
  case $1 in
    -n) jobs=${2:?}; shift 2 ;;
    -b) batch=${2:?}; shift 2 ;;
    -s) seed=${2:?}; shift 2 ;;
    -r) runs=${2:?}; shift 2 ;;
    --tcp) tcp=1; shift ;;
    --tls) tls=1; shift ;;
    *) wa_common_arg "$1"; shift ;;  # --no-build, --keep, -h
  esac
done
[[ $jobs =~ ^[1-9][0-9]*$ && $batch =~ ^[1-9][0-9]*$ && $seed =~ ^[0-9]+$ && $runs =~ ^[1-9][0-9]*$ ]] ||
  { echo "drain.sh: -n, -b, -s and -r take positive integers" >&2; exit 2; }
wa_build

# ---- -r RUNS: run this script RUNS times and print the medians of its RESULT lines --------------
if [[ $runs -gt 1 ]]; then
  wa_rerun "$runs" -n "$jobs" -b "$batch" -s "$seed" --no-build \
    $([[ $tcp == 1 ]] && echo --tcp) $([[ $tls == 1 ]] && echo --tls)
  wa_rerun_medians
  exit 0
fi

# The daemon's way to Redis: its unix socket (default), TCP on 127.0.0.1, or TLS over TCP with a
# throw-away CA and server certificate (made in a directory of their own).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
if [[ $tls == 1 ]]; then
  certs=$(mktemp -d /tmp/wa-drain-certs.XXXXXX)
  trap 'rm -rf "$certs"; wa_cleanup' EXIT
  key="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
  # shellcheck disable=SC2086
  openssl req -x509 $key -keyout "$certs/ca.key" -out "$certs/ca.crt" -days 2 -subj /CN=wa-ca 2>/dev/null
  # shellcheck disable=SC2086
  openssl req $key -keyout "$certs/s.key" -out "$certs/s.csr" -subj /CN=wa-redis 2>/dev/null
  echo "subjectAltName=IP:127.0.0.1" >"$certs/san.cnf"
  openssl x509 -req -in "$certs/s.csr" -CA "$certs/ca.crt" -CAkey "$certs/ca.key" -CAcreateserial \
    -days 2 -out "$certs/s.crt" -extfile "$certs/san.cnf" 2>/dev/null
  port=$(free_port)
  wa_start_redis --tls-port "$port" --bind 127.0.0.1 --tls-cert-file "$certs/s.crt" \
    --tls-key-file "$certs/s.key" --tls-ca-cert-file "$certs/ca.crt" --tls-auth-clients no
  redis_yaml="redis: {host: 127.0.0.1, port: $port, tls: {enabled: true, ca_file: \"$certs/ca.crt\"}}"
elif [[ $tcp == 1 ]]; then
  port=$(free_port)
  wa_start_redis --port "$port" --bind 127.0.0.1
  redis_yaml="redis: {host: 127.0.0.1, port: $port}"
else
  wa_start_redis
  redis_yaml="redis: {unix_socket: \"$sock\"}"
fi

# ---- seed ------------------------------------------------------------------------------------
log "== seeding $jobs jobs (seed $seed)"
t0=$EPOCHREALTIME
awk -v jobs="$jobs" -v seed="$seed" -v now="$(date +%s)" -v stats="$work/seed.txt" \
  -f bench/drain_seed.awk </dev/null | wa_pipe
t1=$EPOCHREALTIME
seed_stat() { awk -v k="$1" '$1 == k { print $2; found = 1 } END { if (!found) print 0 }' "$work/seed.txt"; }
pending=$(seed_stat pending)
[[ $(R LLEN queues:wa-campaigns) == "$jobs" && $(R LLEN queues:wa-campaigns:notify) == "$jobs" ]] ||
  die "the queue does not hold $jobs jobs after seeding"
log "   $(seed_stat sessions) sessions in 100 workspaces ($(seed_stat meta_configured) with Meta)," \
  "$(seed_stat campaigns) campaigns, $pending jobs with a PENDING template;" \
  "$(redis_mem_human) in Redis;" \
  "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s"

# ---- daemon ----------------------------------------------------------------------------------
cat >"$work/wa-routerd.yaml" <<YAML
$redis_yaml
queue: {batch_size: $batch}
metrics: {listen: ""}
logging: {level: warn}
${WA_DRAIN_CONFIG_EXTRA:-}
YAML
"$daemon_bin" --config "$work/wa-routerd.yaml" --check-config >/dev/null

# The poller: one redis-cli kept open, three commands per poll (every 20 ms).
wa_poller_start
polls=0
poll() {
  wa_poll "LLEN queues:wa-campaigns" "ZCARD queues:wa-campaigns:reserved" "LLEN wa:results"
  q=${reply[0]} z=${reply[1]} n=${reply[2]}
  polls=$((polls + 1))
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
snapshot stats >"$work/before.txt"
start=$EPOCHREALTIME
# Not wa_start_daemon: its --check-config (done above) would fall inside the timed interval.
"$daemon_bin" --config "$work/wa-routerd.yaml" 2>"$work/daemon.log" &
daemon_pid=$!
limit=$(awk -v n="$jobs" 'BEGIN { printf "%d", 60 + n / 500 }')   # generous: 10 min at 50k jobs is a hang
start_us=${start/./} first='' last_n=-1 last_change_us=$start_us
while :; do
  nap 0.02
  poll
  t_us=${EPOCHREALTIME/./}
  if [[ $q == 0 && $z == 0 && $n -ge $jobs ]]; then break; fi
  if ! kill -0 "$daemon_pid" 2>/dev/null; then
    tail -n 20 "$work/daemon.log" >&2; die "wa-routerd exited early (queue $q, reserved $z, results $n)"
  fi
  if [[ $n != "$last_n" ]]; then last_n=$n last_change_us=$t_us; fi
  if [[ -z $first && $n -gt 0 ]]; then first=$EPOCHREALTIME; fi
  if ((t_us - last_change_us > 30000000 || t_us - start_us > limit * 1000000)); then
    tail -n 20 "$work/daemon.log" >&2; die "no progress (queue $q, reserved $z, results $n of $jobs)"
  fi
done
end=$EPOCHREALTIME
snapshot stats >"$work/after.txt"
daemon_cpu=$(proc_cpu "$daemon_pid")
wa_stop_daemon
wa_poller_stop

# ---- correctness -----------------------------------------------------------------------------
# One pass over wa:results inside Redis: records, distinct job_ids, types, dead events.
read -r res_total res_distinct res_served res_queue res_tna res_dead < <(R EVAL "
  local seen, distinct, served, queued, tna, dead = {}, 0, 0, 0, 0, 0
  local len = redis.call('LLEN', KEYS[1])
  for s = 0, len - 1, 1000 do
    for _, r in ipairs(redis.call('LRANGE', KEYS[1], s, s + 999)) do
      local id = string.match(r, '\"job_id\":\"([^\"]*)\"')
      if id and not seen[id] then seen[id] = true; distinct = distinct + 1 end
      if string.find(r, '\"event\":\"dead\"', 1, true) then dead = dead + 1
      elseif string.find(r, '\"type\":\"queue\"', 1, true) then
        queued = queued + 1
        if string.find(r, '\"reason\":\"template_not_approved\"', 1, true) then tna = tna + 1 end
      elseif string.find(r, '\"type\":\"', 1, true) then served = served + 1 end
    end
  end
  return {len, distinct, served, queued, tna, dead}" 1 wa:results | paste -sd " ")
left_q=$(R LLEN queues:wa-campaigns) left_r=$(R ZCARD queues:wa-campaigns:reserved)
delayed=$(R ZCARD queues:wa-campaigns:delayed) dead=$(R LLEN queues:wa-campaigns:dead)
problems=()
[[ $res_total == "$jobs" ]] || problems+=("wa:results holds $res_total records, expected $jobs")
[[ $res_distinct == "$jobs" ]] || problems+=("wa:results names $res_distinct distinct job_ids, expected $jobs")
[[ $left_q == 0 && $left_r == 0 ]] || problems+=("queue $left_q / reserved $left_r not empty")
[[ $dead == 0 && $res_dead == 0 ]] || problems+=("$dead dead entries, $res_dead dead events, expected none")
[[ $delayed == "$res_queue" ]] || problems+=("$delayed delayed jobs but $res_queue queue decisions")
[[ $res_tna == "$pending" ]] || problems+=("$res_tna template_not_approved decisions, expected $pending (PENDING jobs)")
[[ $daemon_rc == 0 ]] || problems+=("wa-routerd exited $daemon_rc after SIGTERM")
errors=$(log_errors "$work/daemon.log")
[[ $errors == 0 ]] || problems+=("$errors error lines in the daemon's log, e.g. $(first_log_error "$work/daemon.log")")

# ---- the raw ceiling of this Redis -----------------------------------------------------------
R DEL mylist >/dev/null
bench_out=$(redis-benchmark -s "$sock" -n 200000 -P 64 -q -t lpush,rpop 2>&1 | tr '\r' '\n')
rate() { awk -v c="$1" '$1 == c":" && /requests per second/ { v = $2 } END { print v + 0 }' <<<"$bench_out"; }
lpush_rps=$(rate LPUSH) rpop_rps=$(rate RPOP)

# ---- report ----------------------------------------------------------------------------------
machine=$(machine_line "$load_before")
awk -v result="$work/result.txt" -v machine="$machine" -v jobs="$jobs" -v batch="$batch" -v start="$start" -v first="${first:-$end}" -v end="$end" -v dcpu="$daemon_cpu" \
    -v polls="$polls" -v lpush="$lpush_rps" -v rpop="$rpop_rps" \
    -v served="$res_served" -v queued="$res_queue" -v delayed="$delayed" '
  FNR == 1 { file++ }
  file == 1 { c0[$1] = $2; u0[$1] = $3; next }
  { c1[$1] = $2; u1[$1] = $3 }
  END {
    # The poller sent polls x (LLEN, ZCARD, LLEN), and snapshot() two INFOs: not the daemon.
    c1["llen"] -= 2 * polls; c1["zcard"] -= polls; c1["info"] = c0["info"]; u1["info"] = u0["info"]
    rcpu = c1["@cpu"] - c0["@cpu"]; wall = end - start; rate = jobs / wall
    inb = c1["@in"] - c0["@in"]; outb = c1["@out"] - c0["@out"]
    for (k in c1) if (k !~ /^@/) {
      d = c1[k] - c0[k]; if (d <= 0) continue
      calls[k] = d; usec[k] = u1[k] - u0[k]; total += d; tusec += usec[k]
    }
    evals = calls["evalsha"] + calls["eval"]
    printf "\nwa-routerd end-to-end drain: %d jobs x 20 contacts, batch_size %d\n", jobs, batch
    printf "  machine            %s\n", machine
    printf "  outcome            %d served, %d queued (%d in delayed)\n", served, queued, delayed
    printf "  wall               %.2f s   (start of wa-routerd -> queue empty, %d results)\n", wall, jobs
    printf "  decisions/s        %.0f   (first result after %.2f s: start-up and health cycle; %.0f/s from there)\n", \
           rate, first - start, (end > first ? jobs / (end - first) : 0)
    printf "  daemon CPU         %.2f s   (%.0f%% of one core)\n", dcpu, 100 * dcpu / wall
    printf "  Redis CPU          %.2f s   (%.0f%% of one core)\n", rcpu, 100 * rcpu / wall
    printf "  daemon/Redis CPU   %.2f\n", (rcpu > 0 ? dcpu / rcpu : 0)
    printf "  Redis commands/job %.2f   (%d calls, Lua inner commands included; EVALSHA+EVAL %.2f/job = %d)\n", \
           total / jobs, total, evals / jobs, evals
    printf "  Redis CPU/job      %.1f us\n", 1e6 * rcpu / jobs
    printf "  bytes/job          %.0f to Redis, %.0f from Redis   (INFO stats, all clients)\n", inb / jobs, outb / jobs
    printf "  redis-benchmark    LPUSH %.0f/s, RPOP %.0f/s   (-P 64, same socket)\n", lpush, rpop
    printf "  decisions/RPOP     %.4f   (decisions/s / RPOP/s)\n", (rpop > 0 ? rate / rpop : 0)
    printf "  Redis-bound limit  %.0f decisions/s   (1 / Redis CPU per job: Redis 100%% busy)\n", (rcpu > 0 ? jobs / rcpu : 0)
    printf "  bottleneck         %s\n", (dcpu >= rcpu ? "the daemon (more CPU seconds than Redis)" : "Redis (more CPU seconds than the daemon)")
    printf "  top commands       calls/job  usec/job  (commandstats; usec of EVALSHA includes its inner commands)\n"
    n = 0; for (k in calls) keys[++n] = k
    for (i = 2; i <= n; i++) { x = keys[i]; for (j = i - 1; j >= 1 && usec[keys[j]] < usec[x]; j--) keys[j + 1] = keys[j]; keys[j + 1] = x }
    for (i = 1; i <= n && i <= 12; i++)
      printf "    %-16s %8.2f  %8.2f\n", keys[i], calls[keys[i]] / jobs, usec[keys[i]] / jobs
    printf "RESULT jobs=%d wall_s=%.3f decisions_per_s=%.0f daemon_cpu_s=%.2f redis_cpu_s=%.2f daemon_redis_cpu=%.2f", \
           jobs, wall, rate, dcpu, rcpu, (rcpu > 0 ? dcpu / rcpu : 0) > result
    printf " redis_cmds_per_job=%.2f evals_per_job=%.3f redis_us_per_job=%.1f lpush_per_s=%.0f rpop_per_s=%.0f decisions_per_rpop=%.4f\n", \
           total / jobs, evals / jobs, 1e6 * rcpu / jobs, lpush, rpop, (rpop > 0 ? rate / rpop : 0) > result
  }' "$work/before.txt" "$work/after.txt"

if [[ ${#problems[@]} -gt 0 ]]; then
  printf '\nFAILED:\n' >&2; printf '  %s\n' "${problems[@]}" >&2
  exit 1
fi
printf '  check              ok (results = jobs, job_ids distinct, queue/reserved empty, no dead, delayed = queued)\n'
cat "$work/result.txt"
