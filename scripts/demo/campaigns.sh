#!/usr/bin/env bash
# Pushes the demo's campaigns the way Laravel's Queue::pushRaw does (RPUSH + notify).
# Usage: campaigns.sh REDIS_PORT
set -euo pipefail
port=$1
push() {
  redis-cli -p "$port" RPUSH queues:wa-campaigns "$1" >/dev/null
  redis-cli -p "$port" RPUSH queues:wa-campaigns:notify 1 >/dev/null
}
contacts() { local out; out=$(seq -s, "$1" "$2"); echo "[$out]"; }

redis-cli -p "$port" RPUSH demo:big-list $(seq 500000 509999) >/dev/null

first="{\"job_id\":\"demo-1\",\"campaign_id\":1001,\"workspace_id\":101,\"template_mode\":\"direct\",\"contacts\":$(contacts 1 12)}"
push "$first"
push "{\"job_id\":\"demo-2\",\"campaign_id\":1002,\"workspace_id\":101,\"template_mode\":\"template\",\"template\":{\"id\":77,\"status\":\"APPROVED\",\"webjs_compatible\":false},\"contacts\":$(contacts 100 140)}"
push "{\"job_id\":\"demo-3\",\"campaign_id\":1003,\"workspace_id\":101,\"template_mode\":\"template\",\"template\":{\"id\":78,\"status\":\"APPROVED\"},\"contacts\":$(contacts 200 230)}"
push "{\"job_id\":\"demo-4\",\"campaign_id\":1004,\"workspace_id\":101,\"template_mode\":\"direct\",\"provider_preference\":\"meta_api\",\"contacts\":$(contacts 300 310)}"
push "{\"job_id\":\"demo-5\",\"campaign_id\":\"spring-sale\",\"workspace_id\":202,\"template_mode\":\"direct\",\"contacts\":$(contacts 400 420)}"
push "{\"job_id\":\"demo-6\",\"campaign_id\":1006,\"workspace_id\":303,\"template_mode\":\"direct\",\"template\":{\"id\":90,\"status\":\"APPROVED\"},\"contacts\":$(contacts 1 2500)}"
push "{\"job_id\":\"demo-7\",\"campaign_id\":1007,\"workspace_id\":303,\"template_mode\":\"template\",\"template\":{\"id\":91,\"status\":\"REJECTED\"},\"contacts\":[1,2,3]}"
push "{\"job_id\":\"demo-8\",\"campaign_id\":1008,\"workspace_id\":101,\"template_mode\":\"direct\",\"contacts_key\":\"demo:big-list\"}"
push '{"job_id":"demo-9","campaign_id":"c-9","template_mode":"sms","contacts":[1,"",3]}'
push '{"campaign_id": 1010, "workspace_id": 101, "template_mode": "direct", "contacts": [1, 2'
push "$first"  # the same job pushed twice: decided once
redis-cli -p "$port" SET demo:expected_results 10 >/dev/null
echo "== pushed 11 campaign jobs (2 malformed, 1 duplicate)"
