#!/usr/bin/env bash
# Prints what wa-routerd decided. Usage: report.sh REDIS_PORT METRICS_PORT
set -euo pipefail
port=$1 metrics=$2
R() { redis-cli -p "$port" "$@"; }

echo
echo "== decisions (wa:results)"
R LRANGE wa:results 0 -1 | jq -r '
  if .event == "dead" then
    "  campaign \(.campaign_id): DEAD  \(.error)"
  elif .event == "provider_switch" then
    "  campaign \(.campaign_id): SWITCH \(.from) -> \(.to | join(",")) (\(.moved) contacts, \(.reason))"
  else
    "  campaign \(.campaign_id) [\(.template_mode)/\(.provider_preference)]: \(.type) (\(.reason)), confidence \(.confidence)" +
    (if (.distribution | length) > 0 then
       "\n      contacts -> " + ([.distribution[] | "\(.target): \(.count)"] | join(", "))
     else "" end) +
    (if .retry_at then "\n      retry at \(.retry_at) (attempt \(.attempts + 1))" else "" end) +
    (if .prediction and .prediction.recommended_provider then
       "\n      predicted: webjs \(.prediction.webjs.estimated_minutes // "n/a") min, meta_api \(.prediction.meta_api.estimated_minutes // "n/a") min -> \(.prediction.recommended_provider)"
     else "" end)
  end'

echo
echo "== dispatch lists (the backlog: the pacer releases them into wa:ready:<target>)"
for key in $(R --scan --pattern 'wa:dispatch:*' | sort); do
  printf '  %-28s %6s contacts\n' "$key" "$(R LLEN "$key")"
done

echo
echo "== dead jobs (queues:wa-campaigns:dead)"
R LRANGE queues:wa-campaigns:dead 0 -1 | jq -r '"  \(.error)"'

echo
echo "== session health (written by the health cycle)"
for key in $(R --scan --pattern 'wa:session:*' | sort); do
  printf '  %-20s %-13s health %3s\n' "${key#wa:session:}" "$(R HGET "$key" status)" "$(R HGET "$key" health_score)"
done

echo
echo "== queue: $(R LLEN queues:wa-campaigns) waiting, $(R ZCARD queues:wa-campaigns:delayed) delayed for retry, $(R ZCARD queues:wa-campaigns:reserved) in hand, $(R LLEN queues:wa-campaigns:dead) dead"
echo
echo "== metrics (http://127.0.0.1:$metrics/metrics, excerpt)"
curl -s "http://127.0.0.1:$metrics/metrics" | grep -E '^wa_(decisions|jobs_(taken|dead|duplicate|retried)|events|alerts)' | sed 's/^/  /'
