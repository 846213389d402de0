// Sticky senders (CONTRACT.md section 10): balancing that honours each contact's sticky session,
// with a regression test per strategy and property tests over random cases.
#include "core/sticky.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/balance.hpp"
#include "core_test_helpers.hpp"

namespace {

using namespace wa::core;
using ::testing::ElementsAre;
using wa::config::LoadBalancing;
using wa::config::Strategy;
using wa::test::make_session;

constexpr std::uint16_t X = kNotSticky;

LoadBalancing strategy(Strategy s) {
  LoadBalancing lb;
  lb.strategy = s;
  return lb;
}

std::vector<const Session*> pointers(const std::vector<Session>& sessions) {
  std::vector<const Session*> out;
  for (const Session& s : sessions)
    out.push_back(&s);
  return out;
}

// --- fill_shares ---------------------------------------------------------------------------

TEST(FillSharesTest, NoStickyContactsGiveTheLargestRemainderShares) {
  const std::vector<double> w{3, 1};
  EXPECT_THAT(fill_shares(10, w, std::vector<std::uint64_t>{0, 0}), ElementsAre(8, 2));
}

TEST(FillSharesTest, StickyContactsCountTowardTheShare) {
  const std::vector<double> w{1, 1};
  EXPECT_THAT(fill_shares(10, w, std::vector<std::uint64_t>{1, 3}), ElementsAre(4, 2));
}

TEST(FillSharesTest, ASessionPastItsShareGetsNoNewContactsAndTheRestIsSharedAgain) {
  const std::vector<double> w{1, 1, 2};
  // Shares 3/2/5 of 10 (ties to the earlier); the third has 7 sticky: the other 3 are split 1:1
  // between the first two (minus their sticky ones).
  EXPECT_THAT(fill_shares(10, w, std::vector<std::uint64_t>{0, 1, 7}), ElementsAre(2, 0, 0));
}

TEST(FillSharesTest, EverythingStickyLeavesNothingToFill) {
  const std::vector<double> w{1, 5};
  EXPECT_THAT(fill_shares(4, w, std::vector<std::uint64_t>{4, 0}), ElementsAre(0, 0));
}

// --- regression: one per strategy ------------------------------------------------------------

TEST(AllocateStickyTest, WeightedCapacityFillsEachSessionUpToItsShare) {
  const std::vector<Session> s{make_session("a", 90), make_session("b", 90)};
  const std::vector<std::uint16_t> sticky{1, X, 1, X, 1, X, X, X, X, X};
  const auto a = allocate_sticky(sticky, pointers(s), TemplateMode::direct,
                                 strategy(Strategy::weighted_capacity));
  EXPECT_THAT(a.counts, ElementsAre(5, 5));
  // b has 3 sticky and takes the last 2 of the others; a the first 5, in input order.
  EXPECT_THAT(a.owner, ElementsAre(1, 0, 1, 0, 1, 0, 0, 0, 1, 1));
}

TEST(AllocateStickyTest, HealthScoreGivesASessionPastItsShareNoNewContacts) {
  const std::vector<Session> s{make_session("a", 60), make_session("b", 40)};
  const std::vector<std::uint16_t> sticky{X, 1, 1, 1, X, 1, 1, 1, X, X};
  const auto a =
      allocate_sticky(sticky, pointers(s), TemplateMode::direct, strategy(Strategy::health_score));
  EXPECT_THAT(a.counts, ElementsAre(4, 6));
  EXPECT_THAT(a.owner, ElementsAre(0, 1, 1, 1, 0, 1, 1, 1, 0, 0));
}

TEST(AllocateStickyTest, RoundRobinDealsOnlyTheContactsThatAreNotSticky) {
  const std::vector<Session> s{make_session("a", 90), make_session("b", 80), make_session("c", 70)};
  const std::vector<std::uint16_t> sticky{X, 2, X, X, 2, X, X};
  const auto a =
      allocate_sticky(sticky, pointers(s), TemplateMode::direct, strategy(Strategy::round_robin));
  EXPECT_THAT(a.owner, ElementsAre(0, 2, 1, 2, 2, 0, 1));
  EXPECT_THAT(a.counts, ElementsAre(2, 2, 3));
}

TEST(StickyPositionsTest, SessionsThatAreNotEligibleAreForgotten) {
  const std::vector<Session> s{make_session("a", 90), make_session("b", 80)};
  StickyContacts sc{{"gone", "b"}, {0, 1, X, 1, 0}, ""};
  EXPECT_THAT(sticky_positions(sc, pointers(s)), ElementsAre(X, 1, X, 1, X));
  StickyContacts none{{"gone"}, {0, 0}, ""};
  EXPECT_TRUE(sticky_positions(none, pointers(s)).empty());
}

// --- properties ------------------------------------------------------------------------------

struct Case {
  std::vector<Session> sessions;  // the eligible ones, tier order
  std::vector<std::string> contacts;
  std::map<std::string, std::string> hash;  // wa:sticky: contact -> session (some not eligible)
  LoadBalancing lb;
  TemplateMode mode = TemplateMode::direct;
};

Case random_case(std::mt19937_64& rng) {
  Case c;
  const int k = std::uniform_int_distribution<int>(1, 8)(rng);
  for (int i = 0; i < k; ++i) {
    Session s =
        make_session("s" + std::to_string(i), std::uniform_int_distribution<int>(1, 100)(rng));
    s.metrics.message_success_rate = std::uniform_real_distribution<double>(0, 100)(rng);
    s.metrics.response_time = std::uniform_real_distribution<double>(0, 100)(rng);
    c.sessions.push_back(std::move(s));
  }
  const int n = std::uniform_int_distribution<int>(0, rng() % 4 == 0 ? 3000 : 200)(rng);
  const int distinct = std::max(1, n - std::uniform_int_distribution<int>(0, n / 4 + 1)(rng));
  const double fraction = std::uniform_int_distribution<int>(0, 10)(rng) / 10.0;  // 0 .. 100 %
  std::bernoulli_distribution sticky(fraction);
  for (int i = 0; i < n; ++i) {  // duplicates: ids drawn from fewer distinct ones
    const std::string id =
        "c" + std::to_string(std::uniform_int_distribution<int>(0, distinct)(rng));
    c.contacts.push_back(id);
    if (!c.hash.count(id) && sticky(rng)) {
      c.hash[id] = "s" + std::to_string(std::uniform_int_distribution<int>(0, k + 1)(rng));
    }
  }
  c.lb.strategy = static_cast<Strategy>(rng() % 3);
  c.lb.base_capacity = std::uniform_real_distribution<double>(1, 10000)(rng);
  c.mode = rng() % 2 ? TemplateMode::direct : TemplateMode::template_;
  return c;
}

StickyContacts read_hash(const Case& c) {  // what the daemon's HMGETs give
  StickyContacts sc;
  std::map<std::string, std::uint16_t> index;
  for (const std::string& id : c.contacts) {
    const auto h = c.hash.find(id);
    if (h == c.hash.end()) {
      sc.at.push_back(X);
      continue;
    }
    auto [it, fresh] = index.emplace(h->second, static_cast<std::uint16_t>(sc.sessions.size()));
    if (fresh) sc.sessions.push_back(h->second);
    sc.at.push_back(it->second);
  }
  return sc;
}

std::vector<double> weights(const Case& c) {
  std::vector<double> w;
  for (const Session& s : c.sessions) {
    w.push_back(c.lb.strategy == Strategy::health_score ? s.health
                                                        : session_capacity(s, c.mode, c.lb));
  }
  return w;
}

void check(const Case& c, const std::vector<std::uint16_t>& sticky, const StickyAllocation& a) {
  const std::size_t k = c.sessions.size();
  const std::uint64_t n = c.contacts.size();
  ASSERT_EQ(a.owner.size(), n);
  std::vector<std::uint64_t> counted(k, 0), held(k, 0);
  std::uint64_t free_seen = 0;
  std::size_t last_free_owner = 0;
  for (std::size_t p = 0; p < n; ++p) {
    ASSERT_LT(a.owner[p], k) << "position " << p << " has no session";  // exactly once
    ++counted[a.owner[p]];
    if (sticky[p] != X) {
      ASSERT_EQ(a.owner[p], sticky[p]) << "sticky position " << p << " moved";
      ++held[sticky[p]];
      continue;
    }
    if (c.lb.strategy == Strategy::round_robin) {
      ASSERT_EQ(a.owner[p], free_seen % k) << "round robin deals only the others";
    } else {
      ASSERT_GE(a.owner[p], last_free_owner) << "new contacts come in contiguous blocks";
      last_free_owner = a.owner[p];
    }
    ++free_seen;
  }
  ASSERT_EQ(counted, a.counts);
  if (c.lb.strategy == Strategy::round_robin) return;
  const auto w = weights(c);
  const auto target = largest_remainder(n, w);
  bool reachable = true;
  for (std::size_t i = 0; i < k; ++i)
    reachable = reachable && held[i] <= target[i];
  for (std::size_t i = 0; i < k; ++i) {
    if (held[i] > 0 && held[i] >= target[i]) {
      EXPECT_EQ(a.counts[i], held[i]) << "session " << i << " past its share got new contacts";
    }
    if (reachable) {  // (the rule allows 1 off; no sticky contact past a share: exact)
      EXPECT_EQ(a.counts[i], target[i]) << "session " << i;
    }
  }
}

TEST(AllocateStickyProperty, ThousandsOfRandomCases) {
  std::mt19937_64 rng(20261205);
  for (int iteration = 0; iteration < 5000; ++iteration) {
    const Case c = random_case(rng);
    SCOPED_TRACE("iteration " + std::to_string(iteration));
    const auto ptrs = pointers(c.sessions);
    auto sticky = sticky_positions(read_hash(c), ptrs);
    if (sticky.empty()) sticky.assign(c.contacts.size(), X);
    // Duplicates of a sticky contact all go to its session.
    const auto a = allocate_sticky(sticky, ptrs, c.mode, c.lb);
    ASSERT_NO_FATAL_FAILURE(check(c, sticky, a));
  }
}

TEST(AllocateStickyProperty, WithoutStickyContactsItIsTodaysDealing) {
  std::mt19937_64 rng(7);
  for (int iteration = 0; iteration < 2000; ++iteration) {
    Case c = random_case(rng);
    const std::vector<std::uint16_t> none(c.contacts.size(), X);
    const auto ptrs = pointers(c.sessions);
    const auto a = allocate_sticky(none, ptrs, c.mode, c.lb);
    const auto slices = allocate(c.contacts.size(), ptrs, c.mode, c.lb);
    for (std::size_t i = 0; i < slices.size(); ++i) {
      ASSERT_EQ(a.counts[i], slices[i].count);
      for (std::uint64_t m = 0; m < slices[i].count; ++m)
        ASSERT_EQ(a.owner[slices[i].position(m)], i);
    }
  }
}

}  // namespace
