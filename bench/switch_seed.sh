#!/usr/bin/env bash
# The provider-switch workload (issue 10): a campaign whose whole dispatch list waits on one
# session, then that session breaks, so that the daemon's next health cycle moves the list.
#
#   bench/switch_seed.sh seed  [-n CONTACTS] [-c CAMPAIGN] [-- REDIS_CLI_ARGS...]
#   bench/switch_seed.sh break [-c CAMPAIGN] [-- REDIS_CLI_ARGS...]
#   bench/switch_seed.sh check [-n CONTACTS] [-c CAMPAIGN] [-- REDIS_CLI_ARGS...]
#
#   seed   workspace 1 with sessions s1 (primary), s2 and s3 (connected, health 100), and campaign
#          CAMPAIGN (default 77) with CONTACTS (default 1000000) contacts 70000000000 … in
#          wa:dispatch:CAMPAIGN:s2, its stored decision (all on s2) and its wa:campaigns:active
#          entry, as the daemon's finish step would have left them
#   break  marks s2 disconnected: the next health cycle (with selection.enable_auto_switching,
#          the default) moves the list to s1 and s3
#   check  waits for the provider_switch record, then checks that every contact is in exactly
#          one list of the campaign, in order; exits 1 otherwise
#
# REDIS_CLI_ARGS reach redis-cli as they are (e.g. -s /tmp/r.sock, or -h HOST -p PORT). A stall
# benchmark seeds, resets Redis's slow log (CONFIG SET slowlog-log-slower-than 10000; SLOWLOG
# RESET), breaks, waits for `check`, then reads SLOWLOG GET 128 (the daemon's connections are
# named wa-routerd:*).
set -euo pipefail
export LC_ALL=C

what=${1:-}
[[ $what == seed || $what == break || $what == check ]] || { sed -n '4,6p' "$0" >&2; exit 2; }
shift
n=1000000 campaign=77
while [[ $# -gt 0 ]]; do
  case $1 in
    -n) n=${2:?}; shift 2 ;;
    -c) campaign=${2:?}; shift 2 ;;
    --) shift; break ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
cli() { redis-cli "$@"; }
rc=("$@")
key="wa:dispatch:$campaign:s2"

seed() {
  local now
  now=$(date +%s)
  for s in s1 s2 s3; do
    cli "${rc[@]}" HSET "wa:session:$s" workspace_id 1 uuid "uuid-$s" phone_number "+1555$s" \
      provider_type webjs status connected is_active 1 is_primary "$([[ $s == s1 ]] && echo 1 || echo 0)" \
      created_at $((now - 86400)) last_connected_at $((now - 86400)) last_activity_at $((now - 60)) \
      health_score 100 health_updated_at "$now" \
      health_metrics '{"connection_stability":100,"message_success_rate":100,"recent_activity":100,"error_rate":0,"response_time":90,"uptime":100}' \
      >/dev/null
    cli "${rc[@]}" SADD "wa:workspace:1:sessions" "$s" >/dev/null
  done
  cli "${rc[@]}" SADD wa:workspaces 1 >/dev/null
  cli "${rc[@]}" DEL "$key" "wa:dispatch:$campaign:s1" "wa:dispatch:$campaign:s3" >/dev/null
  # 1,000 contacts per RPUSH, through redis-cli --pipe.
  awk -v n="$n" -v key="$key" 'BEGIN {
    for (i = 0; i < n; i += 1000) {
      m = (n - i < 1000) ? n - i : 1000
      printf "*%d\r\n$5\r\nRPUSH\r\n$%d\r\n%s\r\n", m + 2, length(key), key
      for (k = i; k < i + m; k++) { c = sprintf("%.0f", 70000000000 + k); printf "$%d\r\n%s\r\n", length(c), c }
    }
  }' | cli "${rc[@]}" --pipe >/dev/null
  cli "${rc[@]}" SET "wa:campaign:$campaign:decision" \
    "{\"job_id\":\"big-$campaign\",\"campaign_id\":$campaign,\"workspace_id\":\"1\",\"type\":\"webjs\",\"reason\":\"primary_session\",\"confidence\":0.9,\"template_mode\":\"direct\",\"provider_preference\":\"automatic\",\"session\":{\"id\":\"s2\",\"uuid\":\"uuid-s2\",\"phone_number\":\"+1555s2\",\"health_score\":100,\"is_primary\":false},\"distribution\":[{\"target\":\"s2\",\"count\":$n,\"key\":\"$key\"}]}" \
    EX 86400 >/dev/null
  cli "${rc[@]}" ZADD wa:campaigns:active "$((now * 1000))" "$campaign" >/dev/null
  echo "seeded: $(cli "${rc[@]}" LLEN "$key") contacts in $key"
}

check() {
  local waited=0
  until cli "${rc[@]}" LRANGE wa:results 0 -1 | grep -q "\"provider_switch\",\"campaign_id\":$campaign,"; do
    sleep 0.2; waited=$((waited + 1))
    [[ $waited -lt 600 ]] || { echo "no provider_switch record after 120 s" >&2; exit 1; }
  done
  local bad=0
  for s in s1 s2 s3; do
    cli "${rc[@]}" LRANGE "wa:dispatch:$campaign:$s" 0 -1 | awk -v s="$s" '
      NR > 1 && $1 <= last { print s ": " $1 " out of order"; exit 1 } { last = $1 }' || bad=1
  done
  local all
  all=$(for s in s1 s2 s3; do cli "${rc[@]}" LRANGE "wa:dispatch:$campaign:$s" 0 -1; done |
        sort -u | grep -c .)
  local total=0
  for s in s1 s2 s3; do total=$((total + $(cli "${rc[@]}" LLEN "wa:dispatch:$campaign:$s"))); done
  echo "contacts: $total in the lists, $all distinct, $n seeded"
  [[ $total == "$n" && $all == "$n" && $bad == 0 ]] || exit 1
}

case $what in
  seed) seed ;;
  break) cli "${rc[@]}" HSET wa:session:s2 status disconnected >/dev/null ;;
  check) check ;;
esac
