// Retry scheduling (CONTRACT.md section 5): the backoff delay and what happens to a job that
// was decided `queue`.
#include "core/backoff.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "config/config.hpp"

namespace {

using namespace wa::core;
using ::testing::ElementsAre;
using wa::config::Retry;

constexpr double kExact = 0.5;  // the unit random that makes u = 0
constexpr std::int64_t kMaxInt64 = std::numeric_limits<std::int64_t>::max();

TEST(BackoffDelayTest, DefaultsGrowByDoublingUpToTheMax) {
  const Retry r;  // base 300, max 3600, jitter 0.2
  std::vector<double> delays;
  for (std::int64_t n = 1; n <= 8; ++n)
    delays.push_back(backoff_delay(n, r, kExact));
  EXPECT_THAT(delays, ElementsAre(300, 600, 1200, 2400, 3600, 3600, 3600, 3600));
}

TEST(BackoffDelayTest, JitterBoundsFromTheInjectedUnitRandom) {
  const Retry r;
  EXPECT_DOUBLE_EQ(backoff_delay(1, r, 0.0), 300 * 0.8);
  EXPECT_DOUBLE_EQ(backoff_delay(1, r, 1.0), 300 * 1.2);
  EXPECT_DOUBLE_EQ(backoff_delay(1, r, 0.5), 300);
  EXPECT_DOUBLE_EQ(backoff_delay(1, r, 0.25), 300 * 0.9);  // u is linear in the unit random
  EXPECT_DOUBLE_EQ(backoff_delay(3, r, 0.0), 1200 * 0.8);
  // Jitter applies after the cap: min(max, ...) × (1 + u).
  EXPECT_DOUBLE_EQ(backoff_delay(6, r, 0.0), 3600 * 0.8);
  EXPECT_DOUBLE_EQ(backoff_delay(6, r, 1.0), 3600 * 1.2);
}

TEST(BackoffDelayTest, StaysWithinTheJitterBandForAnyUnitRandom) {
  const Retry r;
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> unit(0, 1);
  for (int i = 0; i < 10000; ++i) {
    const std::int64_t n = 1 + static_cast<std::int64_t>(rng() % 12);
    const double capped = std::min(3600.0, 300.0 * std::pow(2.0, static_cast<double>(n - 1)));
    const double d = backoff_delay(n, r, unit(rng));
    ASSERT_GE(d, capped * 0.8 - 1e-9);
    ASSERT_LE(d, capped * 1.2 + 1e-9);
  }
}

TEST(BackoffDelayTest, ConfiguredValuesAreUsed) {
  Retry r;
  r.base_delay = 10;
  r.max_delay = 100;
  r.jitter = 0;
  std::vector<double> delays;
  for (std::int64_t n = 1; n <= 6; ++n)
    delays.push_back(backoff_delay(n, r, 0.0));
  EXPECT_THAT(delays, ElementsAre(10, 20, 40, 80, 100, 100));

  r.jitter = 0.5;
  EXPECT_DOUBLE_EQ(backoff_delay(2, r, 0.0), 10);
  EXPECT_DOUBLE_EQ(backoff_delay(2, r, 1.0), 30);

  r.base_delay = 0.25;  // fractions allowed
  r.max_delay = 1.5;
  r.jitter = 0;
  EXPECT_DOUBLE_EQ(backoff_delay(1, r, kExact), 0.25);
  EXPECT_DOUBLE_EQ(backoff_delay(3, r, kExact), 1);
  EXPECT_DOUBLE_EQ(backoff_delay(4, r, kExact), 1.5);
}

TEST(BackoffDelayTest, HugeAttemptCountsDoNotOverflow) {
  const Retry r;
  for (const std::int64_t n : {std::int64_t{64}, std::int64_t{1024}, std::int64_t{1025},
                               std::int64_t{100000}, kMaxInt64 - 1, kMaxInt64}) {
    const double d = backoff_delay(n, r, kExact);
    EXPECT_TRUE(std::isfinite(d)) << n;
    EXPECT_EQ(d, 3600) << n;
    EXPECT_DOUBLE_EQ(backoff_delay(n, r, 1.0), 3600 * 1.2) << n;
  }
}

TEST(BackoffDelayTest, HugeMaxDelayStillFinite) {
  Retry r;
  r.max_delay = std::numeric_limits<double>::max();
  EXPECT_EQ(backoff_delay(11, r, kExact), 300 * 1024);
  EXPECT_FALSE(std::isnan(backoff_delay(kMaxInt64, r, kExact)));
}

// --- plan_retry -------------------------------------------------------------------------------

TEST(PlanRetryTest, FirstQueueDecisionGoesToDelayedWithAttemptsOne) {
  const Retry r;
  const RetryPlan p = plan_retry(0, false, r, kExact);
  EXPECT_EQ(p.attempts, 1);
  EXPECT_FALSE(p.dead);
  EXPECT_DOUBLE_EQ(p.delay_seconds, 300);
}

TEST(PlanRetryTest, DelayUsesTheAttemptsAfterTheIncrement) {
  const Retry r;
  EXPECT_DOUBLE_EQ(plan_retry(1, false, r, kExact).delay_seconds, 600);
  EXPECT_DOUBLE_EQ(plan_retry(3, false, r, kExact).delay_seconds, 2400);
  EXPECT_DOUBLE_EQ(plan_retry(3, false, r, 0.0).delay_seconds, 2400 * 0.8);
  EXPECT_DOUBLE_EQ(plan_retry(8, false, r, kExact).delay_seconds, 3600);
}

TEST(PlanRetryTest, DeadWhenAttemptsAfterTheIncrementReachMaxAttempts) {
  const Retry r;  // max_attempts 10
  const RetryPlan ninth = plan_retry(8, false, r, kExact);
  EXPECT_EQ(ninth.attempts, 9);
  EXPECT_FALSE(ninth.dead);
  const RetryPlan tenth = plan_retry(9, false, r, kExact);
  EXPECT_EQ(tenth.attempts, 10);
  EXPECT_TRUE(tenth.dead);
  const RetryPlan beyond = plan_retry(25, false, r, kExact);
  EXPECT_EQ(beyond.attempts, 26);
  EXPECT_TRUE(beyond.dead);
}

TEST(PlanRetryTest, AJobIsTriedAtMostMaxAttemptsTimes) {
  for (const int max_attempts : {1, 2, 3, 10}) {
    Retry r;
    r.max_attempts = max_attempts;
    std::int64_t attempts = 0;  // as the producer sends it
    int tries = 0;
    while (true) {
      ++tries;  // taken and decided `queue`
      const RetryPlan p = plan_retry(attempts, false, r, kExact);
      EXPECT_EQ(p.attempts, attempts + 1);
      attempts = p.attempts;
      if (p.dead) break;
      ASSERT_LT(tries, 1000);
    }
    EXPECT_EQ(tries, max_attempts);
  }
}

TEST(PlanRetryTest, PermanentGoesStraightToDead) {
  const Retry r;
  const RetryPlan p = plan_retry(0, true, r, kExact);
  EXPECT_TRUE(p.dead);
  EXPECT_EQ(p.attempts, 1);
  EXPECT_TRUE(plan_retry(5, true, r, kExact).dead);
}

TEST(PlanRetryTest, MaxAttemptCountDoesNotOverflow) {
  const Retry r;
  const RetryPlan p = plan_retry(kMaxInt64, false, r, kExact);
  EXPECT_TRUE(p.dead);
  EXPECT_GE(p.attempts, kMaxInt64 - 1);
}

}  // namespace
