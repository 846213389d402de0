#include "queue/pace_state.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <limits>

#include "core/pacing.hpp"
#include "queue/codec.hpp"

namespace wa::queue {

void add_pace_state_reads(std::vector<Call>& reads, const Keys& keys, std::string_view sid) {
  reads.push_back(plain({"HGETALL", keys.released_stats(sid)}));
  reads.push_back(plain({"HGET", keys.pace(sid), "factor"}));
}

PaceState parse_pace_state(const Reply* r, core::Seconds now, double grace_seconds) {
  PaceState out;
  std::vector<core::MinuteCount> buckets;
  for (const auto& [field, value] : pairs(r[0])) {
    std::int64_t minute = 0;
    const auto p = std::from_chars(field.data(), field.data() + field.size(), minute);
    if (p.ec != std::errc() || p.ptr != field.data() + field.size()) continue;
    const auto n = to_number(value);
    if (!n || *n < 1) continue;
    buckets.push_back({minute, static_cast<std::uint64_t>(std::min(*n, 1e15))});
  }
  out.releases = core::releases_older_than_grace(buckets, now, grace_seconds);
  if (r[1].is_string()) {
    out.factor = to_number(r[1].str).value_or(std::numeric_limits<double>::quiet_NaN());
  }
  return out;
}

Call factor_write(const Keys& keys, std::string_view sid, double factor) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", factor);
  return plain({"HSET", keys.pace(sid), "factor", buf});
}

}  // namespace wa::queue
