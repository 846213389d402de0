#!/usr/bin/env bash
# The pacing part of the demo (CONTRACT.md section 8): campaigns for Delta (two phones at the
# owner's 36,000/h) and Echo (a phone linked today: warm-up cap), one of them paused; shows the
# releases as the simulated sender (sender.sh) takes them, the predicted vs the observed time,
# what `wa-router stats` says about every target, and the paused campaign resumed.
# Usage: pacing.sh REDIS_PORT WA_ROUTER_BINARY CONFIG SENDER_LOG
set -euo pipefail
port=$1 cli=$2 config=$3 log=$4
R() { redis-cli -p "$port" "$@"; }
push() {
  R RPUSH queues:wa-campaigns "$1" >/dev/null
  R RPUSH queues:wa-campaigns:notify 1 >/dev/null
}
contacts() { local out; out=$(seq -s, "$1" "$2"); echo "[$out]"; }
sent() { grep -c "\"campaign_id\":$1," "$log" || true; }
ms_of() { date -d "$1" +%s%3N; }
secs() { awk -v ms="$1" 'BEGIN { printf "%.1f", ms / 1000 }'; }

echo
echo "== pacing: the daemon releases each phone's contacts into wa:ready:<session> at its pace"
echo "   Delta (404): 2 phones, rate_per_hour 36000 each. Echo (505): 1 phone linked today."
R SADD wa:campaigns:paused 4002 >/dev/null  # the app paused it before it was decided
before=$(R LLEN wa:results)
push "{\"job_id\":\"pace-1\",\"campaign_id\":4001,\"workspace_id\":404,\"template_mode\":\"direct\",\"contacts\":$(contacts 1 60)}"
push "{\"job_id\":\"pace-2\",\"campaign_id\":4002,\"workspace_id\":404,\"template_mode\":\"direct\",\"contacts\":$(contacts 61 70)}"
push "{\"job_id\":\"pace-3\",\"campaign_id\":5001,\"workspace_id\":505,\"template_mode\":\"direct\",\"contacts\":$(contacts 1 16)}"
echo "   pushed campaigns 4001 (Delta, 60 contacts), 4002 (Delta, 10, paused), 5001 (Echo, 16)"
for _ in $(seq 200); do
  [[ $(R LLEN wa:results) -ge $((before + 3)) ]] && break
  sleep 0.05
done
start=$(date +%s%3N)

echo "   sent by the simulated sender (it pops the ready lists and reports to wa:events):"
for tick in $(seq 40); do
  sleep 0.5
  a=$(sent 4001) b=$(sent 4002) c=$(sent 5001)
  if ((tick % 2 == 0 || a >= 60)); then
    printf '   %5s s   4001: %2d/60   4002 (paused): %2d/10   5001 (Echo): %2d/16\n' \
      "$(secs $(($(date +%s%3N) - start)))" "$a" "$b" "$c"
  fi
  ((a >= 60)) && break
done

decision=$(R LRANGE wa:results "$before" -1 | jq -c 'select(.campaign_id == 4001)')
echo
if jq -e '.type == "webjs"' <<<"$decision" >/dev/null 2>&1; then
  predicted=$(jq -r '.prediction.webjs.estimated_minutes // "n/a"' <<<"$decision")
  decided=$(ms_of "$(jq -r .selected_at <<<"$decision")")
  last=$(grep '"campaign_id":4001,' "$log" | cut -d' ' -f3- | jq -r .released_at | sort | tail -n 1)
  echo "   campaign 4001 went to $(jq -r '[.distribution[] | "\(.target) \(.count)"] | join(", ")' <<<"$decision")"
  echo "   predicted: $predicted min (the decision's prediction.webjs.estimated_minutes)"
  if [[ -n "$last" ]]; then
    echo "   observed:  $(secs $(($(ms_of "$last") - decided))) s from the decision to its last release"
  fi
else
  echo "   campaign 4001 was not sent to webjs: $(jq -r '"\(.type) (\(.reason))"' <<<"$decision")"
fi
echo "   campaign 5001 (Echo): $(sent 5001) of 16 sent: echo-new's cap today is" \
  "$(R HGET wa:pace:echo-new cap_today) (warm-up day 0: start_per_day);"
echo "     $(R LLEN wa:dispatch:5001:echo-new) contacts wait in its backlog for tomorrow"
paused_left=$(($(R LLEN wa:dispatch:4002:delta-1) + $(R LLEN wa:dispatch:4002:delta-2)))
echo "   campaign 4002 (paused): $(sent 4002) of 10 sent; $paused_left contacts wait in" \
  "wa:dispatch:4002:delta-{1,2}"
echo
echo "== wa-router stats (its pacing part)"
"$cli" --config "$config" stats | sed -n '/^Pacing/,/^$/p' | sed '/^$/d; s/^/  /'

R SREM wa:campaigns:paused 4002 >/dev/null
resumed=$(date +%s%3N)
for _ in $(seq 100); do
  [[ $(sent 4002) -ge 10 ]] && break
  sleep 0.1
done
echo
echo "== campaign 4002 resumed (SREM wa:campaigns:paused 4002):" \
  "$(sent 4002)/10 sent within $(secs $(($(date +%s%3N) - resumed))) s"
