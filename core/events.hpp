// Message outcome events (`wa:events`, CONTRACT.md section 2) and their aggregation into the
// per-session minute buckets and per-workspace daily counters the daemon keeps in Redis.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>

#include "core/types.hpp"

namespace wa::core {

enum class EventStatus { sent, delivered, read, failed };

struct Event {
  std::string session_id;  // empty for meta_api events without one
  std::string workspace_id;
  bool meta = false;  // provider meta_api (else webjs)
  EventStatus status = EventStatus::sent;
  std::optional<double> response_time_ms;
  std::optional<double> delivery_time_ms;
  Seconds at = 0;
};

struct ParsedEvent {
  std::optional<Event> event;
  std::string error;  // naming the field, when invalid
};

// How far an event's `at` may lie ahead of the daemon's clock (an app server's clock ahead of
// ours). Later times, like times older than the retention period, make the event malformed:
// they are not real outcomes, and each would add a minute field or a daily key of its own.
inline constexpr Seconds kMaxEventAheadSeconds = 86400;

// `now` is the default for a missing `at`; `max_age` (seconds: the retention period) the oldest
// `at` accepted, now − max_age.
ParsedEvent parse_event(std::string_view json, Seconds now, Seconds max_age);

// Adds one event's outcome to a WindowStats.
void add_outcome(WindowStats& w, const Event& e) noexcept;

// Events summed per (session, minute) and per (workspace, provider, UTC day).
struct EventAggregate {
  std::map<std::pair<std::string, std::int64_t>, WindowStats> session_minutes;
  std::map<std::tuple<std::string, std::string, std::string>, WindowStats>
      daily;  // ws, provider, day
  std::uint64_t events = 0;
  // Minutes before this one are left out of session_minutes (the daily counters still count
  // the event): the health cycle only ever sums the last hour, so such a field would only wait
  // to be pruned. The caller sets it to the first minute of the hour ending now.
  std::int64_t first_session_minute = std::numeric_limits<std::int64_t>::min();
  void add(const Event& e);

 private:
  long long day_ = 0;     // the UTC day (days since 1970) of the last event added
  std::string day_text_;  // its utc_day() text; empty before the first event
};

// "YYYY-MM-DD" of a Unix time (UTC).
std::string utc_day(Seconds t);

}  // namespace wa::core
