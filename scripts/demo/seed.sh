#!/usr/bin/env bash
# Seeds the demo's app data (CONTRACT.md section 2): five workspaces, sessions of mixed health
# and an hour of message events, and the speed settings of the two workspaces the pacing part of
# the demo uses (section 8). Usage: seed.sh REDIS_PORT
set -euo pipefail
R() { redis-cli -p "$1" "${@:2}" >/dev/null; }
port=$1
now=$(date +%s)

session() {  # id workspace status active primary connected_ago activity_ago [created_ago]
  local id=$1 ws=$2 status=$3 active=$4 primary=$5 connected_ago=$6 activity_ago=$7
  local created_ago=${8:-86400}
  R "$port" HSET "wa:session:$id" workspace_id "$ws" uuid "uuid-$id" phone_number "+1555$RANDOM" \
    provider_type webjs status "$status" is_active "$active" is_primary "$primary" \
    created_at $((now - created_ago)) last_connected_at $((now - connected_ago)) \
    last_activity_at $((now - activity_ago))
  R "$port" SADD "wa:workspace:$ws:sessions" "$id"
}

R "$port" SADD wa:workspaces 101 202 303 404 505
# Acme Retail: a strong primary, a weaker secondary, a disconnected phone, a stale id.
session acme-1 101 connected 1 1 86400 30
session acme-2 101 connected 1 0 21600 600
session acme-3 101 disconnected 1 0 86400 7200
R "$port" SADD wa:workspace:101:sessions acme-gone   # in the set, hash deleted by the app
R "$port" HSET wa:workspace:101:meta configured 1 throughput_mps 80 tier_limit 1000 quality GREEN
# Beta Clinic: one phone failing a lot, one still connecting; no Meta account.
session beta-1 202 connected 1 1 86400 60
session beta-2 202 connecting 1 0 86400 3600
# Gamma Travel: Meta Cloud API only.
R "$port" HSET wa:workspace:303:meta configured 1 throughput_mps 80 tier_limit 1000 quality YELLOW
# Delta Shop: two phones linked a month ago; the owner's speed setting is 36,000 messages an
# hour per phone (a demo speed: real numbers send a few hundred an hour at most).
session delta-1 404 connected 1 1 $((30 * 86400)) 30 $((30 * 86400))
session delta-2 404 connected 1 0 $((30 * 86400)) 30 $((30 * 86400))
R "$port" HSET wa:workspace:404:pacing rate_per_hour 36000
# Echo Cafe: one phone linked just now (day 0 of its warm-up), same speed.
session echo-new 505 connected 1 1 0 0 0
R "$port" HSET wa:workspace:505:pacing rate_per_hour 36000

# An hour of message outcomes, as the app reports them.
events=()
event() {  # session ws status response_ms delivery_ms ago
  events+=("{\"session_id\":\"$1\",\"workspace_id\":$2,\"provider\":\"webjs\",\"status\":\"$3\",\"response_time_ms\":$4,\"delivery_time_ms\":$5,\"at\":$((now - $6))}")
}
for i in $(seq 40); do event acme-1 101 $([[ $((i % 3)) == 0 ]] && echo read || echo delivered) $((400 + i * 10)) 1500 $((i * 60)); done
for i in $(seq 30); do event acme-2 101 $([[ $((i % 20)) == 0 ]] && echo failed || echo delivered) 2500 4000 $((i * 90)); done
for i in $(seq 30); do event beta-1 202 $([[ $((i % 5)) -lt 2 ]] && echo failed || echo sent) 3000 12000 $((i * 60)); done
for i in $(seq 20); do
  events+=("{\"workspace_id\":303,\"provider\":\"meta_api\",\"status\":\"delivered\",\"delivery_time_ms\":900,\"at\":$((now - i * 3600))}")
done
events+=('{"provider":"webjs","status":"exploded"}')  # malformed: counted and dropped
redis-cli -p "$port" RPUSH wa:events "${events[@]}" >/dev/null
echo "== seeded 5 workspaces, 9 session ids, ${#events[@]} message events"
