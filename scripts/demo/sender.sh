#!/usr/bin/env bash
# The app's WhatsApp Web JS senders, simulated (CONTRACT.md section 8): pops the sessions' ready
# lists, "sends" each contact, logs "<ms> <session> <item>" to LOG, and reports the outcome to
# wa:events (delivered, some only sent), so the sessions' health stays good and the pacer sees
# its releases reported. Meta's ready lists are left alone. Runs until killed.
# Usage: sender.sh REDIS_PORT LOG
set -uo pipefail
port=$1 log=$2
R() { redis-cli -p "$port" "$@"; }

declare -A ws_of
keys=()
for ws in $(R SMEMBERS wa:workspaces | sort); do
  for sid in $(R SMEMBERS "wa:workspace:$ws:sessions" | sort); do
    ws_of[$sid]=$ws
    keys+=("wa:ready:$sid")
  done
done

n=0
while true; do
  mapfile -t got < <(R BLPOP "${keys[@]}" 1 2>/dev/null)
  keys=("${keys[@]:1}" "${keys[0]}")  # BLPOP takes the first non-empty list: take turns
  [[ ${#got[@]} -ge 2 && -n ${got[0]} ]] || continue
  sid=${got[0]#wa:ready:} item=${got[1]}
  echo "$(date +%s%3N) $sid $item" >>"$log"
  status=delivered
  (( ++n % 5 == 0 )) && status=sent
  R RPUSH wa:events "{\"session_id\":\"$sid\",\"workspace_id\":${ws_of[$sid]},\"provider\":\"webjs\",\"status\":\"$status\",\"response_time_ms\":$((300 + RANDOM % 400)),\"delivery_time_ms\":$((1000 + RANDOM % 1500))}" >/dev/null
done
