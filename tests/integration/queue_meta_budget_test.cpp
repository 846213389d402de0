// Meta's budget in the release step (pace_release_script with wa:meta:budget:<portfolio>,
// CONTRACT.md section 9) against a real redis-server, in process: new recipients only while the
// moving window has room, known ones always, backlog order kept, the wait until the oldest entry
// ages out, a budget shared by two workspaces, bounded pruning.
#include <gtest/gtest.h>

#include "harness.hpp"
#include "inproc.hpp"
#include "queue/exec.hpp"
#include "queue/pacer.hpp"

namespace wa::test {
namespace {

using queue::ReleaseArgs;
using queue::ReleaseReason;
using Strings = std::vector<std::string>;

constexpr long long kNow = 1'764'892'800'000;  // 2025-12-05T00:00:00Z
constexpr long long kDay = 86'400'000;

class MetaBudgetTest : public InProcess {
 protected:
  MetaBudgetTest() : keys_("", "wa-campaigns"), conn_(connect("pacer")) {}

  static ReleaseArgs args(long long n, std::uint64_t tier, long long now = kNow,
                          const std::string& portfolio = "p1") {
    ReleaseArgs a;
    a.now_ms = now;
    a.now_iso = "2025-12-05T00:00:00Z";
    a.n = n;
    a.room = 100000;
    a.next_at = now + 1000;
    a.day = "2025-12-05";
    a.cap_today = -1;
    a.rate_per_hour = 288000;
    a.list_target = "meta_api";
    a.budget_portfolio = portfolio;
    a.tier_limit = tier;
    return a;
  }

  queue::ReleaseResult release(const ReleaseArgs& a, const std::string& target = "meta_api:1") {
    c_.cmd({"HDEL", keys_.pace(target), "next_at"});  // its gap is over
    return await(queue::release(*conn_, keys_, target, a));
  }

  void campaign(const std::string& id, int n, const std::string& target = "meta_api:1",
                const std::string& prefix = "c") {
    Strings push{"RPUSH", keys_.dispatch(id, "meta_api")};
    for (int i = 0; i < n; ++i)
      push.push_back(prefix + std::to_string(i));
    c_.cmd(push);
    c_.cmd({"ZADD", keys_.backlog(target), "1", id});
  }

  long long ready(const std::string& target = "meta_api:1") {
    return c_.integer({"LLEN", keys_.ready(target)});
  }

  queue::Keys keys_;
  std::shared_ptr<redis::Connection> conn_;
};

TEST_F(MetaBudgetTest, ATierOfFiveReleasesFiveOfTwelveAndWaitsForTheOldestEntry) {
  campaign("7", 12);
  const auto r = release(args(100, 5));
  EXPECT_EQ(r.released, 5);
  EXPECT_EQ(r.reason, ReleaseReason::budget);
  EXPECT_EQ(ready(), 5);
  EXPECT_EQ(c_.integer({"ZCARD", keys_.meta_budget("p1")}), 5);
  EXPECT_EQ(c_.str({"ZSCORE", keys_.meta_budget("p1"), "c0"}), std::to_string(kNow));
  // The sixth stays at the head of its list, in order; the target is due when c0 ages out.
  EXPECT_EQ(c_.list(keys_.dispatch("7", "meta_api")).front(), "c5");
  EXPECT_EQ(c_.str({"HGET", keys_.pace("meta_api:1"), "next_at"}), std::to_string(kNow + kDay));
  EXPECT_EQ(c_.str({"ZSCORE", keys_.pace_due(), "meta_api:1"}), std::to_string(kNow + kDay));
  EXPECT_EQ(c_.str({"HGET", keys_.pace("meta_api:1"), "budget_used"}), "5");
  EXPECT_EQ(c_.str({"HGET", keys_.pace("meta_api:1"), "tier_limit"}), "5");
  // Later, still within the window: nothing.
  EXPECT_EQ(release(args(100, 5, kNow + kDay - 1)).released, 0);
  EXPECT_EQ(ready(), 5);
  // A window later the five age out: five more.
  const auto later = release(args(100, 5, kNow + kDay + 1));
  EXPECT_EQ(later.released, 5);
  EXPECT_EQ(ready(), 10);
  EXPECT_EQ(c_.integer({"ZCARD", keys_.meta_budget("p1")}), 5);
}

TEST_F(MetaBudgetTest, KnownRecipientsAlwaysFitAndKeepTheirPlace) {
  campaign("1", 5);
  EXPECT_EQ(release(args(100, 5)).released, 5);  // c0…c4 in the budget: full
  // A second campaign to the same five, then a new one: the known go out, the new one waits.
  campaign("2", 6);
  c_.cmd({"ZREM", keys_.backlog("meta_api:1"), "1"});
  const auto r = release(args(100, 5, kNow + 1000));
  EXPECT_EQ(r.released, 5);
  EXPECT_EQ(r.reason, ReleaseReason::budget);
  EXPECT_EQ(c_.list(keys_.dispatch("2", "meta_api")), (Strings{"c5"}));
  // Their entries now count from the second release.
  EXPECT_EQ(c_.str({"ZSCORE", keys_.meta_budget("p1"), "c0"}), std::to_string(kNow + 1000));
}

TEST_F(MetaBudgetTest, TwoWorkspacesOfOnePortfolioShareItsBudget) {
  campaign("1", 4, "meta_api:1", "a");
  campaign("2", 4, "meta_api:2", "b");
  EXPECT_EQ(release(args(100, 6), "meta_api:1").released, 4);
  EXPECT_EQ(release(args(100, 6), "meta_api:2").released, 2);
  EXPECT_EQ(c_.integer({"ZCARD", keys_.meta_budget("p1")}), 6);
  // Another portfolio has its own.
  EXPECT_EQ(release(args(100, 6, kNow, "p2"), "meta_api:2").released, 2);
}

TEST_F(MetaBudgetTest, ZeroTierOrNoPortfolioUsesNoBudget) {
  campaign("1", 20);
  EXPECT_EQ(release(args(100, 0)).released, 20);
  EXPECT_EQ(c_.integer({"EXISTS", keys_.meta_budget("p1")}), 0);
}

TEST_F(MetaBudgetTest, AgedOutEntriesArePrunedTwoHundredAtATime) {
  Strings add{"ZADD", keys_.meta_budget("p1")};
  for (int i = 0; i < 2500; ++i) {
    add.push_back(std::to_string(kNow - kDay - 10 - i));
    add.push_back("old" + std::to_string(i));
  }
  c_.cmd(add);
  campaign("1", 3);
  // The 2,500 aged-out entries do not count: all three fit.
  EXPECT_EQ(release(args(100, 3)).released, 3);
  EXPECT_EQ(c_.integer({"ZCARD", keys_.meta_budget("p1")}), 2300 + 3);
  campaign("2", 1);
  release(args(100, 3, kNow + 1));
  EXPECT_EQ(c_.integer({"ZCARD", keys_.meta_budget("p1")}), 2100 + 3);
}

}  // namespace
}  // namespace wa::test
