// Pure conversions between Redis hash fields and core types (no I/O).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/events.hpp"
#include "core/types.hpp"

namespace wa::queue {

using Fields = std::vector<std::pair<std::string, std::string>>;

// A session hash into a core::Session. An empty hash gives exists=false. A hash whose required
// fields cannot be read sets `problem` (naming the field) and exists=false: the session is
// skipped. `health_known` tells whether health_score and health_metrics were both readable.
core::Session parse_session(std::string_view id, const Fields& f, std::string& problem,
                            bool& health_known);

core::MetaSettings parse_meta(const Fields& f);

// Counters of a WindowStats as hash fields, with a field-name prefix ("" or "<minute>:").
// Names: t s d r f rs rc ds dc. Zero counters are left out unless `with_zeros`.
void add_stats_fields(std::vector<std::string>& out, std::string_view prefix,
                      const core::WindowStats& w, bool with_zeros = false);
// Reads the counters written by add_stats_fields (without prefix).
core::WindowStats parse_stats(const Fields& f);
// Sums the minute buckets of a session stats hash that lie in the hour ending at `now`
// (minutes now_minute−59 … now_minute); `stale` receives the fields of older buckets.
core::WindowStats sum_last_hour(const Fields& f, core::Seconds now,
                                std::vector<std::string>* stale = nullptr);

// Daily counters hash (total successful delivered read failed delivery_time_sum
// delivery_time_count) into a WindowStats.
core::WindowStats parse_daily(const Fields& f);

// The last 7 UTC day names ending with the day of `now`, oldest first.
std::vector<std::string> last_days(core::Seconds now, int days);

std::optional<double> to_number(std::string_view s);

}  // namespace wa::queue
