// Pacing (CONTRACT.md section 8): the pure rules of core/pacing.hpp.
#include "core/pacing.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/balance.hpp"

namespace {

using namespace wa::core;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Unix seconds of a UTC date and time.
std::int64_t utc(int y, unsigned m, unsigned d, int hh = 0, int mm = 0) {
  using namespace std::chrono;
  const sys_days date{year{y} / month{m} / day{d}};
  return (date + hours{hh} + minutes{mm}).time_since_epoch() / seconds{1};
}

std::optional<SendingHours> window(const char* text) {
  return parse_sending_hours(text);
}

// ---- Rates and gaps ----

TEST(PacingGapTest, JitterSpreadsTheGapAroundTheMean) {
  EXPECT_DOUBLE_EQ(gap_seconds(120, 0.3, 0.5), 30);  // u = 0
  EXPECT_DOUBLE_EQ(gap_seconds(120, 0.3, 0.0), 21);  // u = -0.3
  EXPECT_DOUBLE_EQ(gap_seconds(120, 0.3, 1.0), 39);  // u = +0.3
  EXPECT_DOUBLE_EQ(gap_seconds(120, 0.0, 0.9), 30);  // Meta: no jitter
}

TEST(PacingGapTest, ANonPositiveRateNeverReleases) {
  EXPECT_TRUE(std::isinf(gap_seconds(0, 0.3, 0.5)));
  EXPECT_TRUE(std::isinf(gap_seconds(-5, 0.3, 0.5)));
}

TEST(PacingRateTest, WorkspaceRateWinsAndTheFactorScalesIt) {
  Session s;
  s.health = 100;
  const wa::config::LoadBalancing lb;
  EXPECT_DOUBLE_EQ(webjs_rate_per_hour(60.0, s, lb, 0.5), 30);
  EXPECT_DOUBLE_EQ(webjs_rate_per_hour(60.0, s, lb, 1.0), 60);
}

TEST(PacingRateTest, WithoutAWorkspaceRateTheCapacityWithoutTheModeFactor) {
  Session s;
  s.health = 80;
  s.metrics.message_success_rate = 90;
  s.metrics.response_time = 70;
  const wa::config::LoadBalancing lb;
  const double direct = session_capacity(s, TemplateMode::direct, lb);  // × 1.2
  EXPECT_DOUBLE_EQ(webjs_rate_per_hour(std::nullopt, s, lb, 1.0), direct / 1.2);
  EXPECT_DOUBLE_EQ(webjs_rate_per_hour(0.0, s, lb, 0.5), direct / 1.2 * 0.5);  // 0: not set
}

TEST(PacingRateTest, MetaRateIsThroughputPerHour) {
  EXPECT_DOUBLE_EQ(meta_rate_per_hour(80), 288000);
}

TEST(PacingReleasesDueTest, AFastTargetGetsWhatTheElapsedTimeAllows) {
  EXPECT_EQ(releases_due(0, 5500, 3600, 100), 5u);      // 1 per second
  EXPECT_EQ(releases_due(0, 1000, 288000, 1000), 80u);  // Meta at 80/s
  EXPECT_EQ(releases_due(0, 999, 3600, 100), 0u);
}

TEST(PacingReleasesDueTest, CappedByTheLimitAndNeverNegative) {
  EXPECT_EQ(releases_due(0, 60000, 3600, 3), 3u);
  EXPECT_EQ(releases_due(5000, 4000, 3600, 10), 0u);  // clock went backwards
  EXPECT_EQ(releases_due(0, 5000, 0, 10), 0u);
}

TEST(PacingReleasesDueTest, AWebjsTargetLookedAtLateGetsExactlyOne) {
  EXPECT_EQ(webjs_releases_due(1000, 999), 0u);
  EXPECT_EQ(webjs_releases_due(1000, 1000), 1u);
  EXPECT_EQ(webjs_releases_due(1000, 1000 + 3'600'000), 1u);  // an hour late: still one
}

TEST(PacingReadyRoomTest, AheadOrOneSecondsReleasesMinusWhatWaits) {
  EXPECT_EQ(ready_room(0, 2, 60), 2u);
  EXPECT_EQ(ready_room(1, 2, 60), 1u);
  EXPECT_EQ(ready_room(2, 2, 60), 0u);
  EXPECT_EQ(ready_room(7, 2, 60), 0u);          // never negative
  EXPECT_EQ(ready_room(30, 2, 288000), 50u);    // 80 per second
  EXPECT_EQ(ready_room(0, 2, 3600 * 2.5), 3u);  // ceil(2.5)
  EXPECT_EQ(ready_room(0, 2, 0), 2u);
  // Rates past what a uint64 holds per second (a workspace's rate_per_hour of 1e308): no room
  // limit, not an undefined cast.
  EXPECT_EQ(ready_room(0, 2, 1e308), std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(ready_room(5, 2, std::numeric_limits<double>::infinity()),
            std::numeric_limits<std::uint64_t>::max() - 5);
}

// ---- Daily cap ----

TEST(PacingDailyCapTest, WarmUpRampEndpoints) {
  const PacingConfig cfg;  // cap 1000, 14 days from 50
  const std::int64_t born = utc(2026, 1, 1);
  EXPECT_EQ(daily_cap_today(std::nullopt, cfg, born, born), 50u);
  EXPECT_EQ(daily_cap_today(std::nullopt, cfg, born, born + 86399), 50u);  // still day 0
  EXPECT_EQ(daily_cap_today(std::nullopt, cfg, born, born + 86400), 61u);  // 50 × 20^(1/14)
  EXPECT_EQ(daily_cap_today(std::nullopt, cfg, born, born + 7 * 86400), 223u);
  EXPECT_EQ(daily_cap_today(std::nullopt, cfg, born, born + 13 * 86400), 807u);
  EXPECT_EQ(daily_cap_today(std::nullopt, cfg, born, born + 14 * 86400), 1000u);
  EXPECT_EQ(daily_cap_today(std::nullopt, cfg, born, born + 400 * 86400), 1000u);
}

TEST(PacingDailyCapTest, RampIsMonotonicAndNeverAboveTheCap) {
  const PacingConfig cfg;
  const std::int64_t born = utc(2026, 1, 1);
  std::uint64_t previous = 0;
  for (int day = 0; day <= 20; ++day) {
    const std::uint64_t c = daily_cap_today(std::nullopt, cfg, born, born + day * 86400 + 3600);
    EXPECT_GE(c, previous) << "day " << day;
    EXPECT_LE(c, 1000u);
    previous = c;
  }
}

TEST(PacingDailyCapTest, WorkspaceCapAndEdgeCases) {
  const PacingConfig cfg;
  const std::int64_t born = utc(2026, 1, 1);
  EXPECT_EQ(daily_cap_today(200, cfg, born, born + 7 * 86400), 100u);  // 50 × 4^(1/2)
  EXPECT_EQ(daily_cap_today(200, cfg, born, born + 30 * 86400), 200u);
  EXPECT_EQ(daily_cap_today(30, cfg, born, born), 30u);  // start above the cap
  EXPECT_EQ(daily_cap_today(0, cfg, born, born), 0u);    // a cap of 0 stops the session
  EXPECT_EQ(daily_cap_today(std::nullopt, cfg, born, born - 500), 50u);  // created "later"
  PacingConfig no_warmup;
  no_warmup.warmup.days = 0;
  EXPECT_EQ(daily_cap_today(std::nullopt, no_warmup, born, born), 1000u);
}

// ---- Sending hours ----

TEST(PacingSendingHoursTest, ParsesWindows) {
  EXPECT_EQ(window("08:00-21:00"), (SendingHours{480, 1260}));
  EXPECT_EQ(window("22:00-06:00"), (SendingHours{1320, 360}));
  EXPECT_EQ(window("00:00-24:00"), (SendingHours{0, 1440}));
  EXPECT_EQ(window(""), std::nullopt);
  EXPECT_EQ(window("08:00-21:00")->minutes_per_day(), 780);
  EXPECT_EQ(window("22:00-06:00")->minutes_per_day(), 480);
}

TEST(PacingSendingHoursTest, RefusesMalformedValuesNamingThem) {
  for (const char* bad : {"8-21", "08:00", "08:00-", "25:00-26:00", "08:60-09:00", "10:00-10:00",
                          "24:00-01:00", "08:00-21:00x", "ab:cd-ef:gh", "08:00 - 21:00"}) {
    try {
      parse_sending_hours(bad);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_THAT(e.what(), HasSubstr(std::string("'") + bad + "'"));
      EXPECT_THAT(e.what(), HasSubstr("HH:MM-HH:MM"));
    }
  }
}

TEST(PacingSendingHoursTest, AllDayWhenUnset) {
  EXPECT_TRUE(within_sending_hours(utc(2026, 6, 1, 3), std::nullopt, "UTC"));
  EXPECT_EQ(next_opening(utc(2026, 6, 1, 3), std::nullopt, "UTC"), utc(2026, 6, 1, 3));
}

TEST(PacingSendingHoursTest, BerlinSpringForward) {
  const auto h = window("08:00-21:00");
  // 2026-03-29 01:00 UTC: 02:00 CET becomes 03:00 CEST.
  EXPECT_FALSE(within_sending_hours(utc(2026, 3, 28, 6, 30), h, "Europe/Berlin"));  // 07:30 CET
  EXPECT_TRUE(within_sending_hours(utc(2026, 3, 29, 6, 30), h, "Europe/Berlin"));   // 08:30 CEST
  EXPECT_EQ(next_opening(utc(2026, 3, 28, 6, 30), h, "Europe/Berlin"), utc(2026, 3, 28, 7));
  EXPECT_EQ(next_opening(utc(2026, 3, 28, 20, 30), h, "Europe/Berlin"), utc(2026, 3, 29, 6));
  EXPECT_EQ(next_opening(utc(2026, 3, 29, 6, 30), h, "Europe/Berlin"), utc(2026, 3, 29, 6, 30));
}

TEST(PacingSendingHoursTest, BerlinFallBack) {
  const auto h = window("08:00-21:00");
  // 2026-10-25 01:00 UTC: 03:00 CEST becomes 02:00 CET.
  EXPECT_EQ(next_opening(utc(2026, 10, 24, 19, 30), h, "Europe/Berlin"), utc(2026, 10, 25, 7));
  EXPECT_FALSE(within_sending_hours(utc(2026, 10, 25, 6, 30), h, "Europe/Berlin"));  // 07:30 CET
  EXPECT_TRUE(within_sending_hours(utc(2026, 10, 24, 6, 30), h, "Europe/Berlin"));   // 08:30 CEST
}

TEST(PacingSendingHoursTest, AStartInTheDstGapOpensAtTheTransition) {
  const auto h = window("02:30-04:00");  // 02:30 does not exist in Berlin on 2026-03-29
  EXPECT_EQ(next_opening(utc(2026, 3, 28, 23), h, "Europe/Berlin"), utc(2026, 3, 29, 1));
}

TEST(PacingSendingHoursTest, AStartTheFallBackDayHasTwiceOpensTwice) {
  const auto h = window("02:30-04:00");  // 02:30 CEST = 00:30 UTC, 02:30 CET = 01:30 UTC
  EXPECT_EQ(next_opening(utc(2026, 10, 24, 22), h, "Europe/Berlin"), utc(2026, 10, 25, 0, 30));
  EXPECT_TRUE(within_sending_hours(utc(2026, 10, 25, 0, 45), h, "Europe/Berlin"));
  EXPECT_FALSE(within_sending_hours(utc(2026, 10, 25, 1, 10), h, "Europe/Berlin"));  // 02:10 CET
  EXPECT_EQ(next_opening(utc(2026, 10, 25, 1, 10), h, "Europe/Berlin"), utc(2026, 10, 25, 1, 30));
}

TEST(PacingSendingHoursTest, NewYorkAcrossDst) {
  const auto h = window("09:00-17:00");
  // 2026-03-08 07:00 UTC: EST (−5) becomes EDT (−4).
  EXPECT_FALSE(within_sending_hours(utc(2026, 3, 7, 13, 30), h, "America/New_York"));
  EXPECT_TRUE(within_sending_hours(utc(2026, 3, 9, 13, 30), h, "America/New_York"));
  EXPECT_EQ(next_opening(utc(2026, 3, 7, 22), h, "America/New_York"), utc(2026, 3, 8, 13));
  EXPECT_EQ(next_opening(utc(2026, 3, 6, 22), h, "America/New_York"), utc(2026, 3, 7, 14));
  // 2026-11-01 06:00 UTC: back to EST.
  EXPECT_EQ(next_opening(utc(2026, 10, 31, 22), h, "America/New_York"), utc(2026, 11, 1, 14));
}

TEST(PacingSendingHoursTest, ZonesEastOfUtc) {
  const auto h = window("08:00-21:00");
  EXPECT_TRUE(within_sending_hours(utc(2026, 6, 1, 2, 30), h, "Asia/Kolkata"));  // 08:00 IST
  EXPECT_FALSE(within_sending_hours(utc(2026, 6, 1, 2, 29), h, "Asia/Kolkata"));
  EXPECT_EQ(next_opening(utc(2026, 6, 1), h, "Asia/Kolkata"), utc(2026, 6, 1, 2, 30));
  EXPECT_TRUE(within_sending_hours(utc(2026, 6, 1, 20), h, "Pacific/Auckland"));  // 08:00 NZST
  EXPECT_FALSE(within_sending_hours(utc(2026, 6, 1, 19, 59), h, "Pacific/Auckland"));
  EXPECT_EQ(next_opening(utc(2026, 6, 1, 10), h, "Pacific/Auckland"), utc(2026, 6, 1, 20));
  // January: NZDT (+13).
  EXPECT_EQ(next_opening(utc(2026, 1, 10, 10), h, "Pacific/Auckland"), utc(2026, 1, 10, 19));
}

TEST(PacingSendingHoursTest, AWindowAcrossMidnight) {
  const auto h = window("22:00-06:00");
  EXPECT_TRUE(within_sending_hours(utc(2026, 6, 1, 22), h, "UTC"));
  EXPECT_TRUE(within_sending_hours(utc(2026, 6, 1, 23, 59), h, "UTC"));
  EXPECT_TRUE(within_sending_hours(utc(2026, 6, 2, 3), h, "UTC"));
  EXPECT_FALSE(within_sending_hours(utc(2026, 6, 2, 6), h, "UTC"));
  EXPECT_FALSE(within_sending_hours(utc(2026, 6, 2, 12), h, "UTC"));
  EXPECT_EQ(next_opening(utc(2026, 6, 2, 6), h, "UTC"), utc(2026, 6, 2, 22));
  EXPECT_EQ(next_opening(utc(2026, 6, 2, 3), h, "UTC"), utc(2026, 6, 2, 3));
}

TEST(PacingSendingHoursTest, LocalDayIsTheZonesDate) {
  EXPECT_EQ(local_day(utc(2026, 5, 31, 19), "UTC"), "2026-05-31");
  EXPECT_EQ(local_day(utc(2026, 5, 31, 19), "Asia/Kolkata"), "2026-06-01");  // 00:30 IST
  EXPECT_EQ(local_day(utc(2026, 5, 31, 12), "Pacific/Auckland"), "2026-06-01");
  EXPECT_EQ(local_day(utc(2026, 3, 28, 23, 30), "Europe/Berlin"), "2026-03-29");
  EXPECT_EQ(local_day(utc(2026, 3, 1, 3), "America/New_York"), "2026-02-28");
}

TEST(PacingSendingHoursTest, AnUnknownZoneIsAClearError) {
  const auto h = window("08:00-21:00");
  EXPECT_THROW(check_time_zone("Mars/Olympus"), std::invalid_argument);
  EXPECT_THROW(within_sending_hours(0, h, "Mars/Olympus"), std::invalid_argument);
  EXPECT_THROW(within_sending_hours(0, std::nullopt, "Mars/Olympus"), std::invalid_argument);
  EXPECT_THROW(next_opening(0, h, "Mars/Olympus"), std::invalid_argument);
  EXPECT_THROW(local_day(0, ""), std::invalid_argument);
  try {
    check_time_zone("Mars/Olympus");
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("unknown time zone 'Mars/Olympus'"));
  }
  EXPECT_NO_THROW(check_time_zone("UTC"));
  EXPECT_NO_THROW(check_time_zone("Europe/Berlin"));
}

// ---- Adaptive pace ----

TEST(PacingAimdTest, MultiplicativeDecreaseAdditiveIncrease) {
  const PacingConfig::Adaptive cfg;  // × 0.5, + 0.1, min 0.1
  EXPECT_DOUBLE_EQ(next_factor(1.0, true, false, cfg), 0.5);
  EXPECT_DOUBLE_EQ(next_factor(1.0, false, true, cfg), 0.5);
  EXPECT_DOUBLE_EQ(next_factor(0.15, true, true, cfg), 0.1);  // floor
  EXPECT_DOUBLE_EQ(next_factor(0.5, false, false, cfg), 0.6);
  EXPECT_DOUBLE_EQ(next_factor(0.95, false, false, cfg), 1.0);  // ceiling
  EXPECT_DOUBLE_EQ(next_factor(1.0, false, false, cfg), 1.0);
}

TEST(PacingAimdTest, FallsFastRecoversSlowly) {
  const PacingConfig::Adaptive cfg;
  double f = 1.0;
  std::vector<double> seen;
  for (int i = 0; i < 4; ++i)
    seen.push_back(f = next_factor(f, true, false, cfg));
  EXPECT_THAT(seen, ElementsAre(0.5, 0.25, 0.125, 0.1));
  for (int i = 0; i < 8; ++i)
    f = next_factor(f, false, false, cfg);
  EXPECT_NEAR(f, 0.9, 1e-9);
  EXPECT_DOUBLE_EQ(next_factor(f, false, false, cfg), 1.0);
}

TEST(PacingAimdTest, DisabledKeepsTheFullRate) {
  PacingConfig::Adaptive cfg;
  cfg.enabled = false;
  EXPECT_DOUBLE_EQ(next_factor(0.3, true, true, cfg), 1.0);
}

TEST(PacingSilentTest, FewerThanMinReportedOfAtLeastTenReleases) {
  const SilentCheck a = is_silent(10, 4, 50);
  EXPECT_TRUE(a.silent);
  EXPECT_DOUBLE_EQ(a.reported_percent, 40);
  const SilentCheck b = is_silent(10, 5, 50);  // exactly 50 %: not fewer
  EXPECT_FALSE(b.silent);
  EXPECT_DOUBLE_EQ(b.reported_percent, 50);
  const SilentCheck c = is_silent(9, 0, 50);  // too few releases to judge
  EXPECT_FALSE(c.silent);
  EXPECT_DOUBLE_EQ(c.reported_percent, 0);
  const SilentCheck d = is_silent(20, 30, 50);  // events of newer releases too
  EXPECT_FALSE(d.silent);
  EXPECT_DOUBLE_EQ(d.reported_percent, 100);
  EXPECT_FALSE(is_silent(0, 0, 50).silent);
  EXPECT_TRUE(is_silent(1000, 0, 50).silent);
}

// ---- Releases counted for the silent rule ----

TEST(PacingReleasesTest, MinutesWhollyOlderThanTheGraceInTheLastHour) {
  const double now = 1'800'000'030.0;  // 30 s into minute 30'000'000
  const MinuteRange r = counted_release_minutes(now, 300);
  EXPECT_EQ(r.first, 30'000'000 - 59);  // the outcome counters' 60 minutes
  // (m + 1) × 60 ≤ now − 300 = 29'999'995 min + 30 s: minute 29'999'994 ends in time, 995 not.
  EXPECT_EQ(r.last, 29'999'994);
  EXPECT_FALSE(r.empty());
  // On a minute's boundary, the minute that just ended at now − grace counts.
  const MinuteRange b = counted_release_minutes(1'800'000'000.0, 300);
  EXPECT_EQ(b.last, 30'000'000 - 6);
  EXPECT_EQ(counted_release_minutes(1'800'000'000.0, 0).last, 30'000'000 - 1);
  // A grace of an hour or more counts nothing.
  EXPECT_TRUE(counted_release_minutes(now, 3600).empty());
  EXPECT_TRUE(counted_release_minutes(now, 7200).empty());
}

TEST(PacingReleasesTest, SumsOnlyTheCountedBuckets) {
  const double now = 1'800'000'030.0;
  const std::int64_t m = 30'000'000;  // the current minute
  const std::vector<MinuteCount> buckets{
      {m - 60, 100},  // before the hour
      {m - 59, 1},    // the hour's first minute
      {m - 30, 2},    //
      {m - 6, 4},     // ended 5 min 30 s ago: older than the grace
      {m - 5, 8},     // ends 4 min 30 s ago: part of it may be younger than the grace
      {m, 16},        // now
      {m + 3, 32},    // ahead (another clock)
  };
  EXPECT_EQ(releases_older_than_grace(buckets, now, 300), 1u + 2 + 4);
  EXPECT_EQ(releases_older_than_grace(buckets, now, 0), 1u + 2 + 4 + 8);
  EXPECT_EQ(releases_older_than_grace(buckets, now, 3600), 0u);
  EXPECT_EQ(releases_older_than_grace({}, now, 300), 0u);
  // Ten minutes later m − 5 up to m + 3 are old enough; m − 59 has left the hour.
  EXPECT_EQ(releases_older_than_grace(buckets, now + 600, 300), 2u + 4 + 8 + 16 + 32);
}

TEST(PacingAdaptiveStepTest, ReportsSettledAfterTheFirstCheckWhileIngestionKeepsUp) {
  EXPECT_FALSE(reports_settled(true, 0, 5000));
  EXPECT_TRUE(reports_settled(false, 0, 5000));
  EXPECT_TRUE(reports_settled(false, 4999, 5000));
  EXPECT_FALSE(reports_settled(false, 5000, 5000));
}

TEST(PacingAdaptiveStepTest, SilentSessionIsHalvedAndWritten) {
  const PacingConfig::Adaptive cfg;
  const AdaptiveStep s = adaptive_step(std::nullopt, false, 10, 0, cfg);
  EXPECT_TRUE(s.silent.silent);
  EXPECT_DOUBLE_EQ(s.silent.reported_percent, 0);
  EXPECT_DOUBLE_EQ(s.factor, 0.5);
  ASSERT_TRUE(s.write);
  EXPECT_DOUBLE_EQ(*s.write, 0.5);
}

TEST(PacingAdaptiveStepTest, BrokenLimitHalvesAReportingSession) {
  const AdaptiveStep s = adaptive_step(0.8, true, 20, 20, PacingConfig::Adaptive{});
  EXPECT_FALSE(s.silent.silent);
  EXPECT_DOUBLE_EQ(s.factor, 0.4);
  EXPECT_TRUE(s.write);
}

TEST(PacingAdaptiveStepTest, RecoversByTheIncreaseUpToOne) {
  const PacingConfig::Adaptive cfg;
  double f = 0.5;
  std::vector<double> seen;
  for (int i = 0; i < 6; ++i) {
    const AdaptiveStep s = adaptive_step(f, false, 10, 10, cfg);
    if (s.write) seen.push_back(*s.write);
    f = s.factor;
  }
  ASSERT_EQ(seen.size(), 5u);  // 0.6 0.7 0.8 0.9 1, then no change
  EXPECT_NEAR(seen[0], 0.6, 1e-9);
  EXPECT_NEAR(seen[3], 0.9, 1e-9);
  EXPECT_DOUBLE_EQ(seen[4], 1.0);
}

TEST(PacingAdaptiveStepTest, NothingWrittenWithoutAChange) {
  const PacingConfig::Adaptive cfg;
  EXPECT_FALSE(adaptive_step(std::nullopt, false, 0, 0, cfg).write);  // a new target stays at 1
  EXPECT_FALSE(adaptive_step(1.0, false, 9, 0, cfg).write);           // too few releases to judge
  EXPECT_FALSE(adaptive_step(0.1, true, 0, 0, cfg).write);            // at the floor already
  // Binary rounding of the stored text is no change.
  EXPECT_FALSE(adaptive_step(1.0 - 1e-12, false, 0, 0, cfg).write);
}

TEST(PacingAdaptiveStepTest, StoredValuesOutOfRangeAreRepaired) {
  const PacingConfig::Adaptive cfg;
  const AdaptiveStep high = adaptive_step(5.0, false, 0, 0, cfg);
  EXPECT_DOUBLE_EQ(high.factor, 1.0);
  EXPECT_TRUE(high.write);
  const AdaptiveStep low = adaptive_step(0.01, false, 0, 0, cfg);
  EXPECT_NEAR(low.factor, 0.2, 1e-9);  // from min_factor, + 0.1
  const AdaptiveStep nan = adaptive_step(std::nan(""), false, 0, 0, cfg);
  EXPECT_DOUBLE_EQ(nan.factor, 1.0);
  EXPECT_TRUE(nan.write);
}

TEST(PacingAdaptiveStepTest, DisabledChecksSilenceButLeavesTheFactor) {
  PacingConfig::Adaptive cfg;
  cfg.enabled = false;
  const AdaptiveStep s = adaptive_step(0.3, true, 10, 0, cfg);
  EXPECT_TRUE(s.silent.silent);
  EXPECT_DOUBLE_EQ(s.factor, 0.3);
  EXPECT_FALSE(s.write);
}

// ---- Fairness ----

TEST(PacingFairnessTest, RoundRobinAfterTheLastCampaign) {
  const std::vector<std::string> order{"a", "b", "c"};
  const std::set<std::string> none;
  EXPECT_EQ(next_campaign(order, std::nullopt, none), "a");
  EXPECT_EQ(next_campaign(order, "a", none), "b");
  EXPECT_EQ(next_campaign(order, "c", none), "a");  // wraps
  EXPECT_EQ(next_campaign(order, "gone", none), "a");
  std::vector<std::string> turns;
  std::optional<std::string> last;
  for (int i = 0; i < 7; ++i)
    turns.push_back(*(last = next_campaign(order, last, none)));
  EXPECT_THAT(turns, ElementsAre("a", "b", "c", "a", "b", "c", "a"));
}

TEST(PacingFairnessTest, PausedCampaignsAreSkipped) {
  const std::vector<std::string> order{"a", "b", "c"};
  EXPECT_EQ(next_campaign(order, "b", {"c"}), "a");
  EXPECT_EQ(next_campaign(order, std::nullopt, {"a"}), "b");
  EXPECT_EQ(next_campaign(order, "a", {"b", "c"}), "a");  // the only one left
  EXPECT_EQ(next_campaign(order, "a", {"a", "b", "c"}), std::nullopt);
  EXPECT_EQ(next_campaign({}, std::nullopt, {}), std::nullopt);
}

// ---- Prediction ----

PacedEstimateInput estimate(std::uint64_t ahead, std::uint64_t contacts, double rate,
                            std::uint64_t cap_today, std::uint64_t released, std::uint64_t cap,
                            int window = 1440) {
  return {ahead, contacts, rate, cap_today, released, cap, window};
}

TEST(PacingEstimateTest, WithinTodayAtTheRate) {
  EXPECT_EQ(estimated_minutes_paced(estimate(0, 0, 60, 1000, 0, 1000)), 0u);
  EXPECT_EQ(estimated_minutes_paced(estimate(0, 30, 60, 1000, 0, 1000)), 30u);
  EXPECT_EQ(estimated_minutes_paced(estimate(20, 10, 60, 1000, 0, 1000)), 30u);  // backlog first
  EXPECT_EQ(estimated_minutes_paced(estimate(0, 1, 120, 1000, 0, 1000)), 1u);    // ceil(0.5)
}

TEST(PacingEstimateTest, CapsCountWholeDays) {
  // 60 left today, then 90 tomorrow at 10/minute: 1440 + 9.
  EXPECT_EQ(estimated_minutes_paced(estimate(0, 150, 600, 100, 40, 100)), 1449u);
  // 100 today, 100, 100, then 50: 3 × 1440 + 5.
  EXPECT_EQ(estimated_minutes_paced(estimate(0, 350, 600, 100, 0, 100)), 4325u);
  // Today's cap spent: tomorrow's first release.
  EXPECT_EQ(estimated_minutes_paced(estimate(0, 1, 60, 100, 100, 100)), 1441u);
  // A warm-up cap today below tomorrow's: 50 today, then 200 of 300.
  EXPECT_EQ(estimated_minutes_paced(estimate(0, 250, 600, 50, 0, 300)), 1460u);
}

TEST(PacingEstimateTest, HoursOutsideTheWindowCount) {
  // 10 hours a day at 60/h: 600 today, 100 tomorrow after the 14 closed hours.
  EXPECT_EQ(estimated_minutes_paced(estimate(0, 700, 60, 1000, 0, 1000, 600)), 1540u);
  EXPECT_EQ(estimated_minutes_paced(estimate(0, 600, 60, 1000, 0, 1000, 600)), 600u);
}

TEST(PacingEstimateTest, NeverEndingWorkHasNoEstimate) {
  EXPECT_EQ(estimated_minutes_paced(estimate(0, 10, 0, 1000, 0, 1000)), std::nullopt);
  EXPECT_EQ(estimated_minutes_paced(estimate(0, 10, 60, 5, 0, 0)), std::nullopt);
  EXPECT_EQ(estimated_minutes_paced(estimate(0, 10, 60, 1000, 0, 1000, 0)), std::nullopt);
  EXPECT_EQ(estimated_minutes_paced(estimate(0, 5, 60, 5, 0, 0)), 5u);  // fits today
}

}  // namespace
