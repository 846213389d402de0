// Meta's budget of unique recipients per moving window (core/meta_budget.hpp, section 9) and
// the Meta prediction that counts it; time injected.
#include "core/meta_budget.hpp"

#include <gtest/gtest.h>

#include "core/paced_estimate.hpp"

namespace wa::test {
namespace {

constexpr std::int64_t kDay = 86'400'000;
constexpr std::int64_t kNowMs = 1'780'000'000'000;

core::MetaBudget budget(std::uint64_t used, std::vector<std::int64_t> samples) {
  core::MetaBudget b;
  b.used = used;
  b.samples = std::move(samples);
  return b;
}

TEST(MetaBudget, AnEmptyBudgetLetsTierLimitOutNowAndTheNextOnesAWindowLater) {
  const core::MetaBudget b;
  EXPECT_EQ(core::budget_release_ms(0, 5, b, kNowMs), kNowMs);
  EXPECT_EQ(core::budget_release_ms(4, 5, b, kNowMs), kNowMs);
  EXPECT_EQ(core::budget_release_ms(5, 5, b, kNowMs), kNowMs + kDay);
  EXPECT_EQ(core::budget_release_ms(9, 5, b, kNowMs), kNowMs + kDay);
  EXPECT_EQ(core::budget_release_ms(14, 5, b, kNowMs), kNowMs + 2 * kDay);
}

TEST(MetaBudget, NewRecipientsWaitForTheOldestLiveEntriesToAgeOut) {
  // 4 of 5 used, released 20, 15, 10 and 5 hours ago.
  const std::int64_t h = 3'600'000;
  const auto b = budget(4, {kNowMs - 20 * h, kNowMs - 15 * h, kNowMs - 10 * h, kNowMs - 5 * h});
  EXPECT_EQ(core::budget_release_ms(0, 5, b, kNowMs), kNowMs);           // the room left
  EXPECT_EQ(core::budget_release_ms(1, 5, b, kNowMs), kNowMs + 4 * h);   // the oldest frees
  EXPECT_EQ(core::budget_release_ms(2, 5, b, kNowMs), kNowMs + 9 * h);   // the second
  EXPECT_EQ(core::budget_release_ms(4, 5, b, kNowMs), kNowMs + 19 * h);  // the newest
  EXPECT_EQ(core::budget_release_ms(5, 5, b, kNowMs), kNowMs + kDay);    // release 0's own
  EXPECT_EQ(core::budget_release_ms(6, 5, b, kNowMs), kNowMs + 4 * h + kDay);
}

TEST(MetaBudget, ATierLoweredBelowTheLiveEntriesWaitsForTheSurplusToAgeOut) {
  const std::int64_t h = 3'600'000;
  const auto b = budget(3, {kNowMs - 20 * h, kNowMs - 10 * h, kNowMs - 5 * h});
  // tier 2 with 3 live: the first release needs two to age out.
  EXPECT_EQ(core::budget_release_ms(0, 2, b, kNowMs), kNowMs + 14 * h);
  EXPECT_EQ(core::budget_release_ms(1, 2, b, kNowMs), kNowMs + 19 * h);
}

TEST(MetaBudget, ZeroTierIsUnlimited) {
  const auto b = budget(1000, {kNowMs - 1000});
  EXPECT_EQ(core::budget_release_ms(1'000'000, 0, b, kNowMs), kNowMs);
}

TEST(MetaBudget, EntryTimesBetweenSamplesAreInterpolated) {
  const auto b = budget(101, {0, 1000, 3000});  // ranks 0, 50, 100
  EXPECT_EQ(core::entry_time(b, 0, kNowMs), 0);
  EXPECT_EQ(core::entry_time(b, 25, kNowMs), 500);
  EXPECT_EQ(core::entry_time(b, 75, kNowMs), 2000);
  EXPECT_EQ(core::entry_time(b, 100, kNowMs), 3000);
  EXPECT_EQ(core::entry_time(b, 500, kNowMs), 3000);
}

TEST(MetaBudget, ThePredictionWaitsForTheBudget) {
  core::WorkspacePace ws;
  core::TargetPace t;
  const double now = static_cast<double>(kNowMs) / 1000;
  // 80 messages/s: 12 contacts take under a minute; a tier of 5 makes the last wait 2 windows.
  EXPECT_EQ(core::paced_meta_minutes(12, 288000, 0, &t, ws, now), 1u);
  EXPECT_EQ(core::paced_meta_minutes(5, 288000, 5, &t, ws, now), 1u);
  EXPECT_EQ(core::paced_meta_minutes(12, 288000, 5, &t, ws, now), 2u * 1440);
  // Budget full, its oldest entry frees in 60 minutes.
  const std::int64_t m = 60'000;
  t.budget = budget(5, {kNowMs - kDay + 60 * m, kNowMs - kDay + 120 * m, kNowMs - 3 * m,
                        kNowMs - 2 * m, kNowMs - m});
  EXPECT_EQ(core::paced_meta_minutes(1, 288000, 5, &t, ws, now), 60u);
  // What already waits on the target goes first: one ready item takes the first freed entry.
  t.ready = 1;
  EXPECT_EQ(core::paced_meta_minutes(1, 288000, 5, &t, ws, now), 120u);
}

}  // namespace
}  // namespace wa::test
