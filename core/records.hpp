// The JSON records the daemon writes (CONTRACT.md sections 3 to 6). Pure formatting: times are
// passed in as Unix seconds.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/health.hpp"
#include "core/select.hpp"
#include "core/switching.hpp"
#include "core/types.hpp"

namespace wa::core {

// "2026-11-25T12:00:00.000Z" (milliseconds, UTC).
std::string iso8601(Seconds t);

// The dispatch list key of a target, without the Redis prefix: wa:dispatch:<campaign>:<target>.
std::string dispatch_key(std::string_view campaign_id, std::string_view target);

// The decision record of section 4. `retry_at` is set for a queue decision that will be retried.
// `warnings` (e.g. "contacts_key_missing") become a `warnings` array when there are any.
std::string decision_json(const Job& job, const Decision& d, Seconds selected_at,
                          std::optional<Seconds> retry_at,
                          std::span<const std::string_view> warnings = {});

// The dead list entry of section 5: the payload as a JSON string, or base64 when it is not UTF-8.
std::string dead_entry_json(std::string_view payload, std::string_view error, Seconds failed_at);

// The `{"event": "dead", ...}` record for wa:results.
std::string dead_event_json(std::string_view job_id, const Id& campaign_id,
                            const std::optional<Id>& workspace_id, std::string_view error,
                            Seconds at);

// The alert message of section 3 for wa:alerts.
std::string alert_json(std::string_view session_id, std::string_view workspace_id,
                       std::span<const Alert> alerts, int health_score, Seconds at);

// The provider_switch record of section 6.
std::string switch_json(const Id& campaign_id, const SwitchMove& move, Seconds at);

// The six metrics as the JSON object stored in the session hash's health_metrics field.
std::string metrics_json(const HealthMetrics& m);

}  // namespace wa::core
