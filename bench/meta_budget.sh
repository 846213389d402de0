#!/usr/bin/env bash
# Meta's budget (issue 13, CONTRACT.md section 9): what the budget check costs a Meta release
# when the portfolio's window holds 100,000 entries, and whether removing aged-out entries ever
# holds Redis.
#
#   bench/meta_budget.sh [-e ENTRIES] [-x EXPIRED] [-c CONTACTS] [-m MPS] [--no-build] [--keep]
#
#   -e ENTRIES   live entries in wa:meta:budget:1 (default 100000; tier_limit is set above them)
#   -x EXPIRED   entries older than 24 h beside them, removed by the releases (default 100000)
#   -c CONTACTS  new recipients in the campaign's Meta dispatch list (default 50000)
#   -m MPS       the workspace's throughput_mps (default 5000)
#
# Two runs on one private redis-server, the same campaign as the finish step leaves it, a popper
# emptying wa:ready:meta_api:1: "none" (tier_limit 0: no budget) and "budget". Every command's
# duration is taken from SLOWLOG (threshold 0); for the release scripts (EVALSHA on
# wa:pace:meta_api:1): calls, contacts per call, mean and max µs per call, µs per contact. The
# baseline is the "none" run: the budget's cost is the difference per contact. Also the worst
# command of the daemon in either run (goal: a few ms).
set -euo pipefail
export LC_ALL=C
bench=meta_budget
entries=100000 expired=100000 contacts=50000 mps=5000
while [[ $# -gt 0 ]]; do
  case $1 in
    -e) entries=${2:?}; shift 2 ;;
    -x) expired=${2:?}; shift 2 ;;
    -c) contacts=${2:?}; shift 2 ;;
    -m) mps=${2:?}; shift 2 ;;
    --no-build) build=0; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "$bench: unknown argument $1" >&2; exit 2 ;;
  esac
done
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
wa_build
wa_start_redis

seed() {  # TIER
  R FLUSHALL >/dev/null
  local now_ms
  now_ms=$(date +%s%3N)
  R SADD wa:workspaces 1 >/dev/null
  R HSET wa:workspace:1:meta configured 1 throughput_mps "$mps" tier_limit "$1" >/dev/null
  awk -v n="$contacts" -v e="$entries" -v x="$expired" -v now="$now_ms" '
    function cmd(a, k,   i, s) { s = "*" k "\r\n"; for (i = 1; i <= k; i++) s = s "$" length(a[i]) "\r\n" a[i] "\r\n"; printf "%s", s }
    function flush_list() { if (m > 2) cmd(L, m); m = 2 }
    function flush_z() { if (z > 2) cmd(Z, z); z = 2 }
    BEGIN {
      L[1] = "RPUSH"; L[2] = "wa:dispatch:7:meta_api"; m = 2
      for (i = 1; i <= n; i++) { L[++m] = "new" i; if (m == 1002) flush_list() }
      flush_list()
      Z[1] = "ZADD"; Z[2] = "wa:meta:budget:1"; z = 2
      for (i = 1; i <= e; i++) { Z[++z] = now - 3600000 + int(i * 3600000 / e); Z[++z] = "live" i; if (z >= 2002) flush_z() }
      for (i = 1; i <= x; i++) { Z[++z] = now - 2 * 86400000 + i; Z[++z] = "old" i; if (z >= 2002) flush_z() }
      flush_z()
      B[1] = "ZADD"; B[2] = "wa:backlog:meta_api:1"; B[3] = now; B[4] = "7"; cmd(B, 4)
      B[2] = "wa:pace:due"; B[4] = "meta_api:1"; cmd(B, 4)
    }' | wa_pipe
}

run() {  # NAME TIER
  local name=$1 tier=$2 t0 t1 left got=0
  seed "$tier"
  if [[ $tier -eq 0 ]]; then R DEL wa:meta:budget:1 >/dev/null; fi
  R CONFIG SET slowlog-log-slower-than 0 >/dev/null
  R CONFIG SET slowlog-max-len 1000000 >/dev/null
  R SLOWLOG RESET >/dev/null
  cat >"$work/wa.yaml" <<YAML
redis: {unix_socket: "$sock"}
metrics: {listen: ""}
pacing: {enabled: true, ahead: 2}
YAML
  t0=$(now_us)
  wa_start_daemon "$work/wa.yaml" "$work/daemon-$name.log"
  while :; do
    left=$(R LLEN wa:dispatch:7:meta_api)
    got=$((got + $(R LPOP wa:ready:meta_api:1 5000 | grep -c . || true)))
    [[ $left -eq 0 && $got -ge $contacts ]] && break
    [[ $(( ($(now_us) - t0) / 1000000 )) -lt 300 ]] || die "$name: $got of $contacts released after 300 s"
    sleep 0.02
  done
  t1=$(now_us)
  wa_stop_daemon
  R CONFIG SET slowlog-log-slower-than 10000 >/dev/null
  R --json SLOWLOG GET 1000000 >"$work/slowlog-$name.json"
  [[ $(log_errors "$work/daemon-$name.log") -eq 0 ]] || die "$name: $(first_log_error "$work/daemon-$name.log")"
  jq -r --arg name "$name" --argjson n "$contacts" --arg secs "$(secs "$t0" "$t1")" '
    [.[] | select(.[3][0] == "EVALSHA" and .[3][3] == "wa:pace:meta_api:1") | .[2]] as $r
    | [.[] | select(.[3][0] != "SLOWLOG" and .[3][0] != "CONFIG") | .[2]] | max as $worst
    | ($r | add) as $sum
    | "RESULT \($name) wall_s=\($secs) calls=\($r | length) per_call=\($n / ($r | length) | floor)"
      + " mean_us=\($sum / ($r | length) | floor) max_us=\($r | max) us_per_contact=\($sum / $n * 100 | round / 100)"
      + " worst_command_us=\($worst)"' "$work/slowlog-$name.json"
  [[ $tier -eq 0 ]] || log "   budget after: $(R ZCARD wa:meta:budget:1) entries (expected $((entries + contacts)))"
}

log "== $contacts new recipients at $mps/s; budget: $entries live + $expired aged-out entries"
machine_line
run none 0
run budget $((entries + contacts + 1))
