// The pacer's plan for one due target in one pass (core/pace_plan.hpp), time injected.
#include "core/pace_plan.hpp"

#include <gtest/gtest.h>

namespace wa::core {
namespace {

constexpr std::int64_t kNow = 1'764'892'800'000;  // 2025-12-05T00:00:00Z, a Friday

PaceTarget webjs(double rate = 120) {
  PaceTarget t;
  t.workspace_id = "1";
  t.base_rate_per_hour = rate;
  t.created_at = kNow / 1000 - 100 * 86400;  // old: no warm-up
  return t;
}

TEST(PacePlan, AWebjsTargetGetsOneReleaseAndAJitteredGapFromNow) {
  const PacingConfig cfg;  // jitter 0.3
  // Late by an hour: still one release, the gap counted from now.
  const PassPlan lo = plan_pass(webjs(), {kNow - 3'600'000, 1}, kNow, 0.0, cfg);
  EXPECT_EQ(lo.hold, HoldReason::none);
  EXPECT_EQ(lo.n, 1);
  EXPECT_EQ(lo.next_at_ms, kNow + 21'000);  // 30 s × 0.7
  const PassPlan hi = plan_pass(webjs(), {std::nullopt, 1}, kNow, 1.0, cfg);
  EXPECT_EQ(hi.next_at_ms, kNow + 39'000);  // 30 s × 1.3
  EXPECT_EQ(hi.cap_today, 1000);
  EXPECT_EQ(hi.day, "2025-12-05");
  EXPECT_EQ(hi.cap_next_at_ms, kNow + kMaxHoldMs);  // tomorrow is further than a minute
  EXPECT_EQ(hi.room, 2);                            // pacing.ahead
  EXPECT_DOUBLE_EQ(hi.rate_per_hour, 120);
}

TEST(PacePlan, TheFactorSlowsWebjsButNotMeta) {
  const PacingConfig cfg;
  const PassPlan p = plan_pass(webjs(120), {std::nullopt, 0.5}, kNow, 0.5, cfg);
  EXPECT_DOUBLE_EQ(p.rate_per_hour, 60);
  EXPECT_EQ(p.next_at_ms, kNow + 60'000);
  PaceTarget meta = webjs(80 * 3600);
  meta.meta = true;
  EXPECT_DOUBLE_EQ(plan_pass(meta, {std::nullopt, 0.5}, kNow, 0.5, cfg).rate_per_hour, 288000);
}

TEST(PacePlan, ATargetWhoseGapIsNotOverWaits) {
  const PassPlan p = plan_pass(webjs(), {kNow + 5'000, 1}, kNow, 0.5, PacingConfig{});
  EXPECT_EQ(p.hold, HoldReason::early);
  EXPECT_EQ(p.next_at_ms, kNow + 5'000);
}

TEST(PacePlan, ClosedSendingHoursHoldUntilTheyOpenAtMostAMinute) {
  PaceTarget t = webjs();
  t.hours = parse_sending_hours("08:00-21:00");
  t.timezone = "Asia/Tokyo";  // UTC+9: 09:00 local, open
  EXPECT_EQ(plan_pass(t, {}, kNow, 0.5, PacingConfig{}).hold, HoldReason::none);
  t.timezone = "UTC";  // 00:00: closed until 08:00, looked at again within a minute
  const PassPlan p = plan_pass(t, {}, kNow, 0.5, PacingConfig{});
  EXPECT_EQ(p.hold, HoldReason::hours);
  EXPECT_EQ(p.next_at_ms, kNow + kMaxHoldMs);
  // 30 s before the opening: held until the opening itself.
  const std::int64_t before = kNow + 8 * 3'600'000 - 30'000;
  EXPECT_EQ(plan_pass(t, {}, before, 0.5, PacingConfig{}).next_at_ms, kNow + 8 * 3'600'000);
}

TEST(PacePlan, AnOfflineSessionGetsNothing) {
  PaceTarget t = webjs();
  t.offline = true;
  const PassPlan p = plan_pass(t, {}, kNow, 0.5, PacingConfig{});
  EXPECT_EQ(p.hold, HoldReason::offline);
  EXPECT_EQ(p.next_at_ms, kNow + kOfflineRecheckMs);
}

TEST(PacePlan, AZeroRateIsHeld) {
  const PassPlan p = plan_pass(webjs(0), {}, kNow, 0.5, PacingConfig{});
  EXPECT_EQ(p.hold, HoldReason::no_rate);
  EXPECT_EQ(p.next_at_ms, kNow + kOfflineRecheckMs);  // its settings are read again by then
}

TEST(PacePlan, AYoungSessionGetsItsWarmUpCapAndTheNextDayNearMidnight) {
  PaceTarget t = webjs();
  t.created_at = kNow / 1000;    // day 0
  t.timezone = "Europe/Berlin";  // 01:00 local: midnight is 23 h away
  PassPlan p = plan_pass(t, {}, kNow, 0.5, PacingConfig{});
  EXPECT_EQ(p.cap_today, 50);
  const std::int64_t late = kNow + 22 * 3'600'000 + 59 * 60'000 + 30'000;  // 23:59:30 Berlin
  p = plan_pass(t, {}, late, 0.5, PacingConfig{});
  EXPECT_EQ(p.cap_next_at_ms, kNow + 23 * 3'600'000);
  EXPECT_EQ(p.day, "2025-12-05");
  t.workspace_cap = 10;
  EXPECT_EQ(plan_pass(t, {}, kNow, 0.5, PacingConfig{}).cap_today, 10);
}

TEST(PacePlan, MetaReleasesWhatTheTimeAllowsWithoutLosingFractions) {
  PaceTarget t = webjs(3600 * 10);  // 10 per second: a gap of 100 ms
  t.meta = true;
  PassPlan p = plan_pass(t, {kNow - 250, 1}, kNow, 0.5, PacingConfig{});
  EXPECT_EQ(p.n, 3);                   // due at -250, -150, -50
  EXPECT_EQ(p.next_at_ms, kNow + 50);  // whole gaps from the last due time
  EXPECT_EQ(p.cap_today, -1);
  EXPECT_EQ(p.room, 10);  // a second's releases beat ahead = 2
  // Idle for an hour: at most a second's worth, not a burst of the hour.
  p = plan_pass(t, {kNow - 3'600'000, 1}, kNow, 0.5, PacingConfig{});
  EXPECT_EQ(p.n, 11);
  // Never released: one now.
  EXPECT_EQ(plan_pass(t, {}, kNow, 0.5, PacingConfig{}).n, 1);
}

TEST(PacePlan, NextLocalMidnightAcrossADstChange) {
  // 2026-03-29 Europe/Berlin springs forward at 02:00; midnight exists: 2026-03-29T23:00Z-1h.
  const std::int64_t sat = 1'774'738'800;  // 2026-03-28T23:00:00Z = 2026-03-29 00:00 CET
  EXPECT_EQ(next_local_midnight(sat, "Europe/Berlin"), sat + 23 * 3600);
  EXPECT_EQ(next_local_midnight(sat, "UTC"), sat + 3600);
}

}  // namespace
}  // namespace wa::core
