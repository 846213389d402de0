#include "queue/pace_state.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "queue/codec.hpp"

namespace wa::queue {

void add_pace_state_reads(std::vector<Call>& reads, const Keys& keys, std::string_view sid,
                          const core::MinuteRange& minutes) {
  Command hmget{"HMGET", keys.released_stats(sid)};
  const std::int64_t last = minutes.empty() ? minutes.first : minutes.last;
  for (std::int64_t m = minutes.first; m <= last; ++m)
    hmget.push_back(std::to_string(m));
  reads.push_back(plain(std::move(hmget)));
  reads.push_back(plain({"HGET", keys.pace(sid), "factor"}));
}

PaceState parse_pace_state(const Reply* r, const core::MinuteRange& minutes, core::Seconds now,
                           double grace_seconds) {
  PaceState out;
  std::vector<core::MinuteCount> buckets;
  if (r[0].is_array()) {
    buckets.reserve(r[0].elements.size());
    for (std::size_t i = 0; i < r[0].elements.size(); ++i) {
      const auto n = r[0].elements[i].is_string() ? to_number(r[0].elements[i].str) : std::nullopt;
      if (!n || *n <= 0) continue;
      buckets.push_back({minutes.first + static_cast<std::int64_t>(i),
                         static_cast<std::uint64_t>(std::min(*n, 1e15))});
    }
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
