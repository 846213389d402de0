// Aggregation of message events into minute buckets and daily counters (core/events.hpp).
#include <gtest/gtest.h>

#include "core/events.hpp"

namespace wa::core {
namespace {

Event at(double t, const std::string& ws = "1", bool meta = false) {
  Event e;
  e.session_id = meta ? "" : "s1";
  e.workspace_id = ws;
  e.meta = meta;
  e.at = t;
  return e;
}

TEST(EventAggregate, DailyCountersFollowUtcDayAtEveryEvent) {
  // Days are named as utc_day() names them (rounded to the millisecond), whatever the order.
  const double midnight = 1795651200;  // 2026-11-26T00:00:00Z
  ASSERT_EQ(utc_day(midnight), "2026-11-26");
  EventAggregate agg;
  for (const double t : {midnight - 1, midnight - 0.0004, midnight - 1, midnight, midnight - 0.0006,
                         midnight + 86400, midnight - 86400 * 365.0}) {
    agg.add(at(t));
  }
  agg.add(at(midnight - 1, "2"));
  agg.add(at(midnight + 1, "1", true));
  std::map<std::string, std::uint64_t> totals;
  for (const auto& [key, w] : agg.daily) {
    const auto& [ws, provider, day] = key;
    totals[ws + ":" + provider + ":" + day] += w.total;
  }
  EXPECT_EQ(totals, (std::map<std::string, std::uint64_t>{{"1:webjs:2026-11-25", 3},
                                                          {"1:webjs:2026-11-26", 2},
                                                          {"1:webjs:2026-11-27", 1},
                                                          {"1:webjs:2025-11-26", 1},
                                                          {"2:webjs:2026-11-25", 1},
                                                          {"1:meta_api:2026-11-26", 1}}));
  EXPECT_EQ(agg.events, 9u);
  // Minute buckets: floor(at / 60) per session; the meta event names none.
  std::uint64_t bucketed = 0;
  for (const auto& [key, w] : agg.session_minutes) {
    EXPECT_EQ(key.first, "s1");
    bucketed += w.total;
  }
  EXPECT_EQ(bucketed, 8u);
  EXPECT_EQ(agg.session_minutes.count({"s1", static_cast<std::int64_t>(midnight / 60) - 1}), 1u);
}

}  // namespace
}  // namespace wa::core
