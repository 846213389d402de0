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

// Event times outside the window the daemon keeps statistics for (CONTRACT.md section 2: the
// last hour per session, retention_period_days per day) are malformed: each such time would add
// a minute field or a daily key of its own, never pruned.
TEST(ParseEvent, TimesFarAheadOrOlderThanTheRetentionAreMalformed) {
  const double now = 1795651200;
  const double max_age = 30 * 86400.0;
  auto with_at = [](const std::string& at) {
    return R"({"session_id":"s1","workspace_id":1,"provider":"webjs","status":"sent","at":)" + at +
           "}";
  };
  auto error_of = [&](const std::string& at) {
    const ParsedEvent p = parse_event(with_at(at), now, max_age);
    EXPECT_EQ(p.event.has_value(), p.error.empty()) << at;
    return p.error;
  };
  EXPECT_EQ(error_of("1795651200"), "");
  EXPECT_EQ(error_of(std::to_string(now + kMaxEventAheadSeconds)), "");  // a day ahead: kept
  EXPECT_EQ(error_of(std::to_string(now - max_age)), "");
  const std::string ahead = error_of("1e11");
  EXPECT_NE(ahead.find("at: 1e+11 is 98204348800 s ahead"), std::string::npos) << ahead;
  EXPECT_NE(ahead.find("ahead of now"), std::string::npos) << ahead;
  EXPECT_NE(error_of(std::to_string(now + kMaxEventAheadSeconds + 1)).find("ahead of now"),
            std::string::npos);
  const std::string old = error_of(std::to_string(now - 31 * 86400.0));
  EXPECT_NE(old.find("older than analytics.retention_period_days (30 days)"), std::string::npos)
      << old;
  EXPECT_NE(error_of("-5").find("at: -5 is before 1970"), std::string::npos);
  EXPECT_NE(error_of("99999999999").find("ahead of now"), std::string::npos);
  EXPECT_NE(error_of(R"("soon")").find("at: expected a number"), std::string::npos);
  // A missing `at` is now, always inside.
  EXPECT_TRUE(
      parse_event(R"({"workspace_id":1,"provider":"meta_api","status":"sent"})", now, 60).event);
}

TEST(EventAggregate, MinutesBeforeTheFirstSessionMinuteCountOnlyInTheDailyCounters) {
  const double now = 1795651200;
  EventAggregate agg;
  agg.first_session_minute = static_cast<std::int64_t>(now / 60) - 59;
  agg.add(at(now - 3600));  // minute now−60: never in a last-hour sum
  agg.add(at(now - 3540));  // minute now−59: the first one that is
  agg.add(at(now - 86400 * 2));
  EXPECT_EQ(agg.session_minutes.size(), 1u);
  EXPECT_EQ(agg.session_minutes.count({"s1", static_cast<std::int64_t>(now / 60) - 59}), 1u);
  std::uint64_t daily = 0;
  for (const auto& [key, w] : agg.daily)
    daily += w.total;
  EXPECT_EQ(daily, 3u);
}

}  // namespace
}  // namespace wa::core
