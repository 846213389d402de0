// Load balancing (CONTRACT.md section 4): capacity, the three strategies and largest-remainder
// rounding, with property tests over random workspaces.
#include "core/balance.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core_test_helpers.hpp"

namespace {

using namespace wa::core;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using wa::config::LoadBalancing;
using wa::config::Strategy;
using wa::test::make_session;

Session with_metrics(std::string id, int health, double success, double response) {
  Session s = make_session(std::move(id), health);
  s.metrics.message_success_rate = success;
  s.metrics.response_time = response;
  return s;
}

std::vector<const Session*> pointers(const std::vector<Session>& sessions) {
  std::vector<const Session*> out;
  for (const Session& s : sessions)
    out.push_back(&s);
  return out;
}

std::vector<std::uint64_t> counts(const std::vector<Slice>& slices) {
  std::vector<std::uint64_t> out;
  for (const Slice& s : slices)
    out.push_back(s.count);
  return out;
}

LoadBalancing strategy(Strategy s) {
  LoadBalancing lb;
  lb.strategy = s;
  return lb;
}

// The contract's capacity formula, written out independently of the code under test.
double contract_capacity(const Session& s, TemplateMode mode, double base) {
  const double success = s.metrics.message_success_rate;
  const double response = s.metrics.response_time;
  const double multiplier = ((0.5 + success / 100) + std::max(0.5, 1 - (100 - response) / 200)) / 2;
  return base * s.health / 100 * multiplier * (mode == TemplateMode::direct ? 1.2 : 1.0);
}

// --- capacity ---------------------------------------------------------------------------------

TEST(PerformanceMultiplierTest, Formula) {
  auto m = [](double success, double response) {
    return performance_multiplier(HealthMetrics{0, success, 0, 0, response, 0});
  };
  EXPECT_DOUBLE_EQ(m(100, 100), (1.5 + 1.0) / 2);
  EXPECT_DOUBLE_EQ(m(80, 90), (1.3 + 0.95) / 2);
  EXPECT_DOUBLE_EQ(m(80, 20), (1.3 + 0.6) / 2);
  // The response part never drops below 0.5.
  EXPECT_DOUBLE_EQ(m(0, 0), (0.5 + 0.5) / 2);
  EXPECT_DOUBLE_EQ(m(50, 0), (1.0 + 0.5) / 2);
  EXPECT_DOUBLE_EQ(m(50, 10), (1.0 + 0.55) / 2);
}

TEST(SessionCapacityTest, DirectIsTwentyPercentMoreThanTemplate) {
  const Session s = with_metrics("s", 80, 100, 100);
  const LoadBalancing lb;  // base_capacity 1000
  EXPECT_DOUBLE_EQ(session_capacity(s, TemplateMode::direct, lb), 1000 * 0.8 * 1.25 * 1.2);
  EXPECT_DOUBLE_EQ(session_capacity(s, TemplateMode::template_, lb), 1000 * 0.8 * 1.25);
}

TEST(SessionCapacityTest, ScalesWithBaseCapacityHealthAndMultiplier) {
  LoadBalancing lb;
  lb.base_capacity = 250;
  const Session s = with_metrics("s", 60, 50, 40);
  EXPECT_DOUBLE_EQ(session_capacity(s, TemplateMode::template_, lb),
                   contract_capacity(s, TemplateMode::template_, 250));
  EXPECT_DOUBLE_EQ(session_capacity(s, TemplateMode::direct, lb),
                   contract_capacity(s, TemplateMode::direct, 250));
}

// --- largest remainder ------------------------------------------------------------------------

TEST(LargestRemainderTest, Examples) {
  EXPECT_THAT(largest_remainder(1000, std::vector<double>{60, 40}), ElementsAre(600, 400));
  EXPECT_THAT(largest_remainder(7, std::vector<double>{0.5, 0.3, 0.2}), ElementsAre(4, 2, 1));
  EXPECT_THAT(largest_remainder(100, std::vector<double>{0, 1}), ElementsAre(0, 100));
  EXPECT_THAT(largest_remainder(0, std::vector<double>{3, 1}), ElementsAre(0, 0));
  EXPECT_THAT(largest_remainder(5, std::vector<double>{}), IsEmpty());
  // 10 × (0.15, 0.25, 0.6) = 1.5, 2.5, 6: the 0.5 remainders tie, the earlier wins.
  EXPECT_THAT(largest_remainder(10, std::vector<double>{15, 25, 60}), ElementsAre(2, 2, 6));
}

TEST(LargestRemainderTest, TiesGoToTheEarlierEntry) {
  EXPECT_THAT(largest_remainder(10, std::vector<double>{1, 1, 1}), ElementsAre(4, 3, 3));
  EXPECT_THAT(largest_remainder(1, std::vector<double>{1, 1}), ElementsAre(1, 0));
  EXPECT_THAT(largest_remainder(2, std::vector<double>{1, 1, 1}), ElementsAre(1, 1, 0));
  EXPECT_THAT(largest_remainder(5, std::vector<double>(6, 2.5)), ElementsAre(1, 1, 1, 1, 1, 0));
  // 1 × (0.2, 0.4, 0.4): the two 0.4 tie; the earlier of them wins.
  EXPECT_THAT(largest_remainder(1, std::vector<double>{1, 2, 2}), ElementsAre(0, 1, 0));
}

TEST(LargestRemainderTest, LargestRemainderWinsOverPosition) {
  // 3 × (0.1, 0.2, 0.7) = 0.3, 0.6, 2.1: the unit left goes to the 0.6.
  EXPECT_THAT(largest_remainder(3, std::vector<double>{1, 2, 7}), ElementsAre(0, 1, 2));
}

// Exact largest remainder for integer weights: an oracle with no floating point.
std::vector<std::uint64_t> exact_largest_remainder(std::uint64_t n,
                                                   const std::vector<std::uint64_t>& w) {
  std::uint64_t total = 0;
  for (const auto x : w)
    total += x;
  std::vector<std::uint64_t> shares(w.size()), rem(w.size());
  std::uint64_t given = 0;
  for (std::size_t i = 0; i < w.size(); ++i) {
    shares[i] = n * w[i] / total;
    rem[i] = n * w[i] % total;
    given += shares[i];
  }
  std::vector<std::size_t> order(w.size());
  for (std::size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return rem[a] > rem[b]; });
  for (std::size_t j = 0; given < n; ++j, ++given)
    ++shares[order[j]];
  return shares;
}

TEST(LargestRemainderTest, MatchesExactArithmeticForIntegerWeights) {
  std::mt19937_64 rng(20261125);
  for (int iteration = 0; iteration < 5000; ++iteration) {
    const std::size_t k = std::uniform_int_distribution<std::size_t>(1, 20)(rng);
    std::vector<std::uint64_t> w(k);
    std::vector<double> wd(k);
    const std::uint64_t max_weight = iteration % 2 ? 100 : 5;  // small weights make many ties
    for (std::size_t i = 0; i < k; ++i) {
      w[i] = std::uniform_int_distribution<std::uint64_t>(1, max_weight)(rng);
      wd[i] = static_cast<double>(w[i]);
    }
    const std::uint64_t n = std::uniform_int_distribution<std::uint64_t>(0, 100000)(rng);
    ASSERT_EQ(largest_remainder(n, wd), exact_largest_remainder(n, w))
        << "n=" << n << " k=" << k << " iteration " << iteration;
  }
}

// --- allocate: the three strategies -----------------------------------------------------------

TEST(AllocateTest, NoSessionsNoSlices) {
  for (const Strategy st :
       {Strategy::weighted_capacity, Strategy::health_score, Strategy::round_robin}) {
    EXPECT_THAT(allocate(100, {}, TemplateMode::direct, strategy(st)), IsEmpty());
  }
}

TEST(AllocateTest, HealthScoreIsProportionalToHealth) {
  const std::vector<Session> sessions{make_session("a", 90), make_session("b", 60)};
  const auto slices =
      allocate(150, pointers(sessions), TemplateMode::direct, strategy(Strategy::health_score));
  EXPECT_THAT(slices, ElementsAre(Slice{0, 1, 90}, Slice{90, 1, 60}));
}

TEST(AllocateTest, HealthScoreIgnoresPerformance) {
  const std::vector<Session> sessions{with_metrics("a", 80, 0, 0), with_metrics("b", 80, 100, 100)};
  EXPECT_THAT(counts(allocate(100, pointers(sessions), TemplateMode::direct,
                              strategy(Strategy::health_score))),
              ElementsAre(50, 50));
}

TEST(AllocateTest, WeightedCapacityUsesThePerformanceMultiplier) {
  // Same health; multipliers 1.25 and 0.5.
  const std::vector<Session> sessions{with_metrics("a", 100, 100, 100),
                                      with_metrics("b", 100, 0, 0)};
  for (const TemplateMode mode : {TemplateMode::direct, TemplateMode::template_}) {
    EXPECT_THAT(allocate(175, pointers(sessions), mode, strategy(Strategy::weighted_capacity)),
                ElementsAre(Slice{0, 1, 125}, Slice{125, 1, 50}));
  }
}

TEST(AllocateTest, WeightedCapacityCombinesHealthAndMultiplier) {
  const std::vector<Session> sessions{with_metrics("a", 80, 100, 100),    // 0.8 × 1.25 = 1.0
                                      with_metrics("b", 100, 50, 100),    // 1.0 × 1.0 = 1.0
                                      with_metrics("c", 100, 100, 100)};  // 1.0 × 1.25 = 1.25
  EXPECT_THAT(counts(allocate(325, pointers(sessions), TemplateMode::direct, LoadBalancing{})),
              ElementsAre(100, 100, 125));
}

TEST(AllocateTest, WeightedCapacityTiesGoToTheEarlierSession) {
  const std::vector<Session> same{make_session("a", 80), make_session("b", 80),
                                  make_session("c", 80)};
  EXPECT_THAT(counts(allocate(10, pointers(same), TemplateMode::direct, LoadBalancing{})),
              ElementsAre(4, 3, 3));
  EXPECT_THAT(counts(allocate(2, pointers(same), TemplateMode::template_, LoadBalancing{})),
              ElementsAre(1, 1, 0));
  // Capacities 3:1 (same metrics, health 75 and 25): 2 contacts are 1.5 and 0.5.
  const std::vector<Session> three_to_one{make_session("a", 75), make_session("b", 25)};
  EXPECT_THAT(counts(allocate(2, pointers(three_to_one), TemplateMode::direct, LoadBalancing{})),
              ElementsAre(2, 0));
}

TEST(AllocateTest, WeightedCapacityIsTheDefault) {
  EXPECT_EQ(LoadBalancing{}.strategy, Strategy::weighted_capacity);
}

TEST(AllocateTest, RoundRobinDealsContactIToSessionIModN) {
  const std::vector<Session> sessions{make_session("a", 90), make_session("b", 60),
                                      make_session("c", 75)};
  const auto slices =
      allocate(10, pointers(sessions), TemplateMode::direct, strategy(Strategy::round_robin));
  EXPECT_THAT(slices, ElementsAre(Slice{0, 3, 4}, Slice{1, 3, 3}, Slice{2, 3, 3}));
  for (std::size_t t = 0; t < slices.size(); ++t) {
    for (std::uint64_t k = 0; k < slices[t].count; ++k) {
      EXPECT_EQ(slices[t].position(k) % 3, t);
    }
  }
  EXPECT_THAT(counts(allocate(2, pointers(sessions), TemplateMode::direct,
                              strategy(Strategy::round_robin))),
              ElementsAre(1, 1, 0));
}

TEST(AllocateTest, SeedSixtyFortyRegressionDropsNothing) {
  const std::vector<Session> sessions{make_session("a", 60), make_session("b", 40)};
  for (const Strategy st : {Strategy::weighted_capacity, Strategy::health_score}) {
    const auto slices = allocate(1000, pointers(sessions), TemplateMode::direct, strategy(st));
    ASSERT_THAT(slices, ElementsAre(Slice{0, 1, 600}, Slice{600, 1, 400}));
    std::vector<int> ids(1000);
    for (int i = 0; i < 1000; ++i)
      ids[static_cast<std::size_t>(i)] = i;
    const auto lists = materialize<int>(slices, ids);
    ASSERT_EQ(lists.size(), 2u);
    EXPECT_EQ(lists[0].size(), 600u);
    EXPECT_EQ(lists[1].size(), 400u);
    EXPECT_EQ(lists[0].front(), 0);
    EXPECT_EQ(lists[0].back(), 599);
    EXPECT_EQ(lists[1].front(), 600);
    EXPECT_EQ(lists[1].back(), 999);
  }
}

TEST(AllocateTest, ZeroContacts) {
  const std::vector<Session> sessions{make_session("a", 60), make_session("b", 40)};
  for (const Strategy st :
       {Strategy::weighted_capacity, Strategy::health_score, Strategy::round_robin}) {
    EXPECT_THAT(counts(allocate(0, pointers(sessions), TemplateMode::direct, strategy(st))),
                ElementsAre(0, 0));
  }
}

// --- property tests ---------------------------------------------------------------------------

struct RandomCase {
  std::vector<Session> sessions;
  std::uint64_t n = 0;
  TemplateMode mode = TemplateMode::direct;
  LoadBalancing lb;
};

RandomCase random_case(std::mt19937_64& rng, Strategy st) {
  RandomCase c;
  const std::size_t k = std::uniform_int_distribution<std::size_t>(1, 20)(rng);
  std::uniform_real_distribution<double> percent(0, 100);
  for (std::size_t i = 0; i < k; ++i) {
    const int health = std::uniform_int_distribution<int>(1, 100)(rng);
    Session s = with_metrics("s" + std::to_string(i), health, percent(rng), percent(rng));
    if (rng() % 5 == 0) s.metrics.message_success_rate = std::round(s.metrics.message_success_rate);
    c.sessions.push_back(std::move(s));
  }
  switch (rng() % 4) {  // mostly small n, sometimes up to 100,000
    case 0:
      c.n = std::uniform_int_distribution<std::uint64_t>(0, 30)(rng);
      break;
    case 1:
      c.n = std::uniform_int_distribution<std::uint64_t>(0, 1000)(rng);
      break;
    case 2:
      c.n = std::uniform_int_distribution<std::uint64_t>(0, 20000)(rng);
      break;
    default:
      c.n = std::uniform_int_distribution<std::uint64_t>(0, 100000)(rng);
  }
  c.mode = rng() % 2 ? TemplateMode::direct : TemplateMode::template_;
  c.lb.strategy = st;
  c.lb.base_capacity = std::uniform_real_distribution<double>(1, 100000)(rng);
  return c;
}

void check_case(const RandomCase& c, int iteration) {
  SCOPED_TRACE("iteration " + std::to_string(iteration) + ", n=" + std::to_string(c.n) +
               ", sessions=" + std::to_string(c.sessions.size()) + ", strategy " +
               wa::config::to_string(c.lb.strategy));
  const auto ptrs = pointers(c.sessions);
  const auto slices = allocate(c.n, ptrs, c.mode, c.lb);
  ASSERT_EQ(slices.size(), c.sessions.size());

  // Counts sum to n, and every position lands in exactly one slice, increasing within it.
  std::uint64_t sum = 0;
  std::vector<std::uint8_t> hits(c.n, 0);
  for (const Slice& s : slices) {
    sum += s.count;
    std::uint64_t previous = 0;
    for (std::uint64_t k = 0; k < s.count; ++k) {
      const std::uint64_t p = s.position(k);
      ASSERT_LT(p, c.n);
      ASSERT_EQ(hits[p], 0) << "position " << p << " assigned twice";
      hits[p] = 1;
      if (k > 0) {
        ASSERT_GT(p, previous);
      }
      previous = p;
    }
  }
  ASSERT_EQ(sum, c.n);
  ASSERT_EQ(std::count(hits.begin(), hits.end(), 0), 0);

  if (c.lb.strategy == Strategy::round_robin) {
    const std::uint64_t k = slices.size();
    for (std::size_t t = 0; t < slices.size(); ++t) {
      if (slices[t].count > 0) {
        ASSERT_EQ(slices[t].first, t);
      }
      ASSERT_EQ(slices[t].count, c.n / k + (t < c.n % k ? 1 : 0));
      for (std::uint64_t j = 0; j < slices[t].count; ++j) {
        ASSERT_EQ(slices[t].position(j) % k, t);
      }
    }
    return;
  }

  // Proportional strategies: contiguous blocks in tier order, each share within 1 of its ideal,
  // rounded down or up, and only the largest remainders rounded up.
  std::vector<double> weights;
  double total = 0;
  for (const Session& s : c.sessions) {
    weights.push_back(c.lb.strategy == Strategy::health_score
                          ? static_cast<double>(s.health)
                          : contract_capacity(s, c.mode, c.lb.base_capacity));
    total += weights.back();
  }
  if (c.lb.strategy == Strategy::health_score) {
    std::vector<std::uint64_t> healths;
    for (const Session& s : c.sessions)
      healths.push_back(static_cast<std::uint64_t>(s.health));
    ASSERT_EQ(counts(slices), exact_largest_remainder(c.n, healths));
  }
  std::uint64_t next = 0;
  double smallest_up = 2, largest_down = -1;
  for (std::size_t i = 0; i < slices.size(); ++i) {
    const Slice& s = slices[i];
    if (s.count > 0) {
      ASSERT_EQ(s.first, next) << "session " << i << " does not take the next block";
      ASSERT_EQ(s.stride, 1u);
    }
    next += s.count;
    const double ideal = static_cast<double>(c.n) * weights[i] / total;
    const double diff = static_cast<double>(s.count) - ideal;
    ASSERT_LT(std::abs(diff), 1.0 + 1e-9) << "session " << i << " ideal " << ideal;
    const double fraction = ideal - std::floor(ideal);
    if (diff > 1e-9) {
      smallest_up = std::min(smallest_up, fraction);
    } else if (diff < -1e-9) {
      largest_down = std::max(largest_down, fraction);
    }
  }
  if (smallest_up <= 1 && largest_down >= 0) {
    ASSERT_GE(smallest_up, largest_down - 1e-6) << "a smaller remainder was rounded up";
  }
}

class AllocatePropertyTest : public ::testing::TestWithParam<Strategy> {};

TEST_P(AllocatePropertyTest, EveryContactExactlyOnceInOrderAndProportional) {
  std::mt19937_64 rng(0x5eed0000u + static_cast<unsigned>(GetParam()));
  for (int iteration = 0; iteration < 2000; ++iteration) {
    const RandomCase c = random_case(rng, GetParam());
    check_case(c, iteration);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

INSTANTIATE_TEST_SUITE_P(Strategies, AllocatePropertyTest,
                         ::testing::Values(Strategy::weighted_capacity, Strategy::health_score,
                                           Strategy::round_robin),
                         [](const auto& info) { return wa::config::to_string(info.param); });

// Sessions with the same metrics (e.g. every session without messages in the last hour:
// success 80, response 90) have capacities proportional to health, so weighted_capacity must
// split exactly like health_score, ties to the earlier session included.
TEST(EqualMetricsPropertyTest, WeightedCapacitySplitsLikeHealth) {
  std::mt19937_64 rng(7);
  for (int iteration = 0; iteration < 3000; ++iteration) {
    const std::size_t k = std::uniform_int_distribution<std::size_t>(1, 12)(rng);
    std::vector<Session> sessions;
    std::vector<std::uint64_t> healths;
    const int low = iteration % 2 ? 60 : 95;  // narrow ranges make many ties
    for (std::size_t i = 0; i < k; ++i) {
      const int h = std::uniform_int_distribution<int>(low, 100)(rng);
      sessions.push_back(with_metrics("s" + std::to_string(i), h, 80, 90));
      healths.push_back(static_cast<std::uint64_t>(h));
    }
    const std::uint64_t n = std::uniform_int_distribution<std::uint64_t>(0, 5000)(rng);
    LoadBalancing lb;
    lb.base_capacity = iteration % 3 ? 1000 : 777.7;
    const TemplateMode mode = iteration % 4 < 2 ? TemplateMode::direct : TemplateMode::template_;
    ASSERT_EQ(counts(allocate(n, pointers(sessions), mode, lb)),
              exact_largest_remainder(n, healths))
        << "iteration " << iteration << " n=" << n;
  }
}

TEST(LargestRemainderPropertyTest, SumIsNAndSharesWithinOneOfIdeal) {
  std::mt19937_64 rng(42);
  for (int iteration = 0; iteration < 5000; ++iteration) {
    const std::size_t k = std::uniform_int_distribution<std::size_t>(1, 20)(rng);
    std::vector<double> w(k);
    double total = 0;
    for (double& x : w) {
      // Some zero weights, some tiny, some huge.
      switch (rng() % 4) {
        case 0:
          x = 0;
          break;
        case 1:
          x = std::uniform_real_distribution<double>(0, 1e-6)(rng);
          break;
        case 2:
          x = std::uniform_real_distribution<double>(0, 1e9)(rng);
          break;
        default:
          x = std::uniform_real_distribution<double>(0, 100)(rng);
      }
      total += x;
    }
    if (!(total > 0)) continue;
    const std::uint64_t n = std::uniform_int_distribution<std::uint64_t>(0, 100000)(rng);
    const auto shares = largest_remainder(n, w);
    ASSERT_EQ(shares.size(), k);
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < k; ++i) {
      sum += shares[i];
      const double ideal = static_cast<double>(n) * w[i] / total;
      ASSERT_LT(std::abs(static_cast<double>(shares[i]) - ideal), 1.0 + 1e-9)
          << "iteration " << iteration << " entry " << i;
    }
    ASSERT_EQ(sum, n) << "iteration " << iteration;
  }
}

// --- materialize ------------------------------------------------------------------------------

struct CountingId {
  static inline std::uint64_t copies = 0;
  std::uint64_t value = 0;

  explicit CountingId(std::uint64_t v) : value(v) {}
  CountingId(const CountingId& other) : value(other.value) { ++copies; }
  CountingId(CountingId&& other) noexcept = default;
  CountingId& operator=(const CountingId& other) {
    value = other.value;
    ++copies;
    return *this;
  }
  CountingId& operator=(CountingId&&) noexcept = default;
};

void check_million_split(Strategy st) {
  constexpr std::uint64_t kN = 1'000'000;
  std::vector<CountingId> items;
  items.reserve(kN);
  for (std::uint64_t i = 0; i < kN; ++i)
    items.emplace_back(i);
  const std::vector<Session> sessions{with_metrics("a", 95, 99, 90), with_metrics("b", 80, 70, 50),
                                      with_metrics("c", 61, 100, 100)};
  const auto slices = allocate(kN, pointers(sessions), TemplateMode::direct, strategy(st));

  CountingId::copies = 0;
  const auto lists = materialize<CountingId>(slices, items);
  EXPECT_EQ(CountingId::copies, kN);

  std::vector<std::uint8_t> seen(kN, 0);
  std::uint64_t total = 0;
  for (std::size_t t = 0; t < lists.size(); ++t) {
    ASSERT_EQ(lists[t].size(), slices[t].count);
    for (std::size_t k = 0; k < lists[t].size(); ++k) {
      const std::uint64_t v = lists[t][k].value;
      ASSERT_EQ(v, slices[t].position(k));
      ASSERT_EQ(seen[v], 0);
      seen[v] = 1;
      if (k > 0) {
        ASSERT_GT(v, lists[t][k - 1].value);
      }
    }
    total += lists[t].size();
  }
  EXPECT_EQ(total, kN);
}

TEST(MaterializeTest, MillionContactsCopiedExactlyOnceWeighted) {
  check_million_split(Strategy::weighted_capacity);
}

TEST(MaterializeTest, MillionContactsCopiedExactlyOnceRoundRobin) {
  check_million_split(Strategy::round_robin);
}

TEST(MaterializeTest, EmptySlicesGiveEmptyLists) {
  const std::vector<Slice> slices{Slice{0, 1, 0}, Slice{0, 1, 2}};
  const std::vector<std::string> ids{"x", "y"};
  const auto lists = materialize<std::string>(slices, ids);
  EXPECT_THAT(lists, ElementsAre(IsEmpty(), ElementsAre("x", "y")));
}

}  // namespace
