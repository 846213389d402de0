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

// A hash's (field, value) pairs, viewing the strings of a reply (which must outlive them).
using Fields = std::vector<std::pair<std::string_view, std::string_view>>;

// A session hash into a core::Session. An empty hash gives exists=false. A hash whose required
// fields cannot be read sets `problem` (naming the field) and exists=false: the session is
// skipped. `health_known` tells whether health_score and health_metrics were both readable.
core::Session parse_session(std::string_view id, const Fields& f, std::string& problem,
                            bool& health_known);

// A Meta hash into core::MetaSettings. A throughput_mps or tier_limit that cannot be read keeps
// its default, and `problems` (when given) gets a line naming the field, its value and the default.
core::MetaSettings parse_meta(const Fields& f, std::vector<std::string>* problems = nullptr);

// Counters of a WindowStats as hash fields (the wa:health:<id> summary).
// Names: t s d r f rs rc ds dc. Zero counters are left out unless `with_zeros`.
void add_stats_fields(std::vector<std::string>& out, const core::WindowStats& w,
                      bool with_zeros = false);
// Reads the counters written by add_stats_fields.
core::WindowStats parse_stats(const Fields& f);

// A minute bucket of wa:stats:session:<id>: field "<minute>" (floor(unix seconds / 60)), value
// the nine counters t s d r f rs rc ds dc packed in 44 bytes as Lua's struct.pack
// "<I4I4I4I4I4dI4dI4" writes them: the counts as 32-bit unsigned integers (one session's minute
// never comes near 2^32 messages), the time sums rs and ds (milliseconds) as doubles, all
// little-endian. The events script adds buckets
// with struct.unpack/pack, without text parsing or formatting; the value stays small enough for
// Redis's compact hash encoding (hash-max-listpack-value 64).
inline constexpr std::size_t kPackedStatsSize = 44;
std::string pack_stats(const core::WindowStats& w);
// Adds a packed value to `w`. False, and `w` untouched, unless it is kPackedStatsSize bytes with
// finite non-negative sums.
bool add_packed(core::WindowStats& w, std::string_view packed);
// Sums the minute buckets of a session stats hash that lie in the hour ending at `now`
// (minutes now_minute−59 … now_minute); `stale` receives the fields of older buckets, and of
// buckets further ahead than an event may be (core::kMaxEventAheadSeconds). Fields of
// the earlier layout, one per counter ("<minute>:t" …), are read (and reported stale) too.
core::WindowStats sum_last_hour(const Fields& f, core::Seconds now,
                                std::vector<std::string>* stale = nullptr);

// Daily counters hash (total successful delivered read failed delivery_time_sum
// delivery_time_count) into a WindowStats.
core::WindowStats parse_daily(const Fields& f);

// The last 7 UTC day names ending with the day of `now`, oldest first.
std::vector<std::string> last_days(core::Seconds now, int days);

std::optional<double> to_number(std::string_view s);

}  // namespace wa::queue
