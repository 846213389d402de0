# Shell helpers of the pacing benchmarks pacing_accuracy.sh and pacing_capacity.sh (issue 11),
# sourced after bench/lib.sh: webjs sessions with a backlog, as the finish step leaves them, seeded
# by awk as RESP through `redis-cli --pipe`, and the health lock pinned so that the seeded health
# scores stay and no health cycle (adaptive pace, switching) runs during the measurement.
# shellcheck shell=bash disable=SC2034,SC2154  # variables shared with the sourcing script

# The pacing part of each session: health_score + health_metrics (no "no health score yet"
# warning), the workspace's rate_per_hour, a dispatch list wa:dispatch:<campaign>:<sid> of
# `backlog` contacts, the campaign in wa:backlog:<sid>, and the session due now in wa:pace:due.
# Sessions are s-<w>-<k> as `sessions_awk` (lib.sh) names them.
# shellcheck disable=SC2016  # awk source
pacing_awk='
function emit(n,    i) { printf "*%d\r\n", n; for (i = 1; i <= n; i++) printf "$%d\r\n%s\r\n", length(a[i]), a[i] }
BEGIN {
  metrics = "{\"connection_stability\":1,\"message_success_rate\":1,\"recent_activity\":1,\"error_rate\":0,\"response_time\":1,\"uptime\":1}"
  for (w = first + 0; w <= last + 0; w++) {
    a[1] = "HSET"; a[2] = "wa:workspace:" w ":pacing"; a[3] = "rate_per_hour"; a[4] = rate; emit(4)
    n = 2; a[1] = "ZADD"; a[2] = "wa:pace:due"
    for (k = 1; k <= per; k++) { a[++n] = now_ms; a[++n] = "s-" w "-" k }
    emit(n)
    for (k = 1; k <= per; k++) {
      sid = "s-" w "-" k
      a[1] = "HSET"; a[2] = "wa:session:" sid; a[3] = "health_score"; a[4] = 95
      a[5] = "health_metrics"; a[6] = metrics; a[7] = "health_updated_at"; a[8] = int(now_ms / 1000)
      emit(8)
      a[1] = "ZADD"; a[2] = "wa:backlog:" sid; a[3] = now_ms; a[4] = campaign; emit(4)
      for (i = 0; i < backlog; i += 1000) {
        m = (backlog - i < 1000) ? backlog - i : 1000
        n = 2; a[1] = "RPUSH"; a[2] = "wa:dispatch:" campaign ":" sid
        for (c = i; c < i + m; c++) a[++n] = sprintf("%d%05d%05d", 55, (w * per + k) % 100000, c)
        emit(n)
      }
    }
  }
}'

# seed_paced_sessions FIRST LAST PER BACKLOG RATE_PER_HOUR: workspaces FIRST..LAST of PER
# sessions each, every session with BACKLOG contacts of campaign 1, workspaces paced at
# RATE_PER_HOUR; the health lock held by a foreign token for 10 minutes.
seed_paced_sessions() {
  local now
  now=$(date +%s%3N)
  {
    awk -v now="${now%???}" -v first="$1" -v last="$2" -v per="$3" "$sessions_awk" </dev/null
    awk -v now_ms="$now" -v first="$1" -v last="$2" -v per="$3" -v backlog="$4" -v rate="$5" \
      -v campaign=1 "$pacing_awk" </dev/null
  } | wa_pipe
  R SET wa:lock:health bench-pinned PX 600000 >/dev/null
}

# The pacing section of a bench config: warm-up off, a daily cap far above what the run
# releases, jitter and ahead as given. Adaptive pace is off (no health cycle runs anyway).
pacing_yaml() {  # JITTER AHEAD
  printf 'pacing: {enabled: true, jitter: %s, ahead: %s, daily_cap: 100000000, warmup: {days: 0}, adaptive: {enabled: false}}\n' "$1" "$2"
}

# The worst SLOWLOG entry of the daemon's connections and of others ("us command" lines), and a
# PING prober beside a measurement (bench/stall_probe.php, as redis_stall.sh uses them).
stall_probe_start() {
  R CONFIG SET slowlog-log-slower-than 1000 >/dev/null
  R CONFIG SET slowlog-max-len 100000 >/dev/null
  R SLOWLOG RESET >/dev/null
  rm -f "$work/probe-stop"
  php "$root/bench/stall_probe.php" probe "$sock" "$work/probe-stop" >"$work/probe.txt" &
  probe_pid=$!
}
# sets stall_wa, stall_other ("us command"), stall_ping (ms) and stall_n ("N M": entries over 1 ms)
stall_probe_stop() {
  touch "$work/probe-stop"
  wait "$probe_pid"
  php "$root/bench/stall_probe.php" slowlog "$sock" >"$work/slow.txt"
  stall_wa=$(sed -n 1p "$work/slow.txt") stall_other=$(sed -n 2p "$work/slow.txt")
  stall_n=$(sed -n 3p "$work/slow.txt")
  stall_ping=$(awk '{ print $1 }' "$work/probe.txt")
}
