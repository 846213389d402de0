#!/usr/bin/env bash
# The status page (CONTRACT.md section 12) rendered by Debian's headless Chromium against a real
# wa-routerd and a private redis-server: after its scripts ran, the DOM shows every session id with
# its health score, the dead count and the active campaign; a campaign pushed later shows in the
# next dump; and a screenshot is taken.
#
#   status_page.sh WA_ROUTERD [SCREENSHOT.png]
#
# Exit 77 (skipped) only when chromium is not installed (scripts/deps.sh installs it).
set -euo pipefail

daemon=$1
shot=${2:-}
chromium=$(command -v chromium || command -v chromium-browser || true)
if [[ -z $chromium ]]; then
  echo "chromium not found: skipped (scripts/deps.sh installs it)"
  exit 77
fi

dir=$(mktemp -d /tmp/wa-browser-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  echo "--- daemon log" >&2
  tail -20 "$dir/daemon.log" >&2 || true
  exit 1
}

free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 20000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  fail "no free port"
}

redis-server --port 0 --unixsocket "$dir/redis.sock" --save "" --appendonly no \
  >"$dir/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do [[ -S $dir/redis.sock ]] && break; sleep 0.05; done
r() { redis-cli -s "$dir/redis.sock" "$@" >/dev/null; }

# Three sessions in two workspaces with their health scores; no health cycle runs (the test holds
# its lock), and one release per session per hour keeps the campaigns active.
now=$(date +%s)
r SET wa:lock:health held-by-test PX 600000
seed_session() {  # id workspace status health
  r HSET "wa:session:$1" workspace_id "$2" provider_type webjs status "$3" is_active 1 \
    is_primary 1 created_at $((now - 86400)) last_connected_at $((now - 86400)) \
    last_activity_at $((now - 60)) health_score "$4" health_updated_at "$now" \
    health_metrics '{"connection_stability":100,"message_success_rate":100,"recent_activity":100,"error_rate":0,"response_time":90,"uptime":100}'
  r SADD wa:workspaces "$2"
  r SADD "wa:workspace:$2:sessions" "$1"
}
seed_session phone-alpha 1 connected 93
seed_session phone-beta 1 connected 71
seed_session phone-gamma 2 disconnected 38
r HSET wa:workspace:1:pacing rate_per_hour 1

port=$(free_port)
cat >"$dir/wa-routerd.yaml" <<EOF
redis: {unix_socket: "$dir/redis.sock"}
metrics: {listen: "127.0.0.1:$port"}
health: {check_interval: 600}
EOF
"$daemon" --config "$dir/wa-routerd.yaml" >"$dir/daemon.log" 2>&1 &
pids+=($!)
url="http://127.0.0.1:$port"
for _ in $(seq 1 100); do curl -sf "$url/healthz" >/dev/null && break; sleep 0.1; done

push() {
  r RPUSH queues:wa-campaigns "$1"
  r RPUSH queues:wa-campaigns:notify 1
}
campaign() {  # campaign id
  push "{\"job_id\":\"job-$1\",\"campaign_id\":$1,\"workspace_id\":\"1\",\"template_mode\":\"direct\",\"contacts\":[1,2,3,4,5,6,7,8]}"
}
campaign 9001
push 'not json'
push '{"job_id":"broken","campaign_id":9999,"workspace_id":"1","template_mode":"sideways"}'

# Waits until the JSON shows what the page must render (jq expression true).
wait_json() {
  for _ in $(seq 1 100); do
    if curl -sf "$url/status.json" | jq -e "$1" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  fail "status.json never satisfied: $1"
}
wait_json '.queue.dead == 2 and ([.campaigns[].campaign_id] | index(9001))'

dump() {
  timeout 60 "$chromium" --headless --no-sandbox --disable-gpu --user-data-dir="$dir/chromium" \
    --virtual-time-budget=5000 --dump-dom "$url/status" 2>"$dir/chromium.log"
}
# One session card: its id, then its score (class good/warn/bad).
has_session() {  # dom id score
  grep -Eq "<span class=\"sid\">$2</span><span class=\"score [a-z]*\">$3</span>" <<<"$1" ||
    fail "session $2 with health $3 not in the DOM"
}

dom=$(dump)
has_session "$dom" phone-alpha 93
has_session "$dom" phone-beta 71
has_session "$dom" phone-gamma 38
grep -Eq 'id="dead-count"><div class="label">dead</div><div class="value">2</div>' <<<"$dom" ||
  fail "the dead count 2 is not in the DOM"
grep -q 'data-campaign="9001"' <<<"$dom" || fail "campaign 9001 not in the DOM"
grep -q 'data-campaign="9002"' <<<"$dom" && fail "campaign 9002 shown before it was pushed"
grep -q 'template_mode' <<<"$dom" || fail "the dead job's error is not in the DOM"

campaign 9002
wait_json '[.campaigns[].campaign_id] | index(9002)'
dom=$(dump)
grep -q 'data-campaign="9002"' <<<"$dom" || fail "campaign 9002 not in the DOM after it was pushed"
grep -q 'data-campaign="9001"' <<<"$dom" || fail "campaign 9001 gone from the DOM"

if [[ -n $shot ]]; then
  timeout 60 "$chromium" --headless --no-sandbox --disable-gpu --user-data-dir="$dir/chromium" \
    --hide-scrollbars --virtual-time-budget=5000 --window-size=1280,900 --screenshot="$shot" \
    "$url/status" 2>>"$dir/chromium.log"
  [[ -s $shot ]] || fail "no screenshot written to $shot"
fi
echo "status page: sessions, health scores, dead count and campaigns rendered by $("$chromium" --version 2>/dev/null)"
