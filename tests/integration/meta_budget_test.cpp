// Meta's budget end to end (CONTRACT.md section 9): wa-routerd against a private redis-server
// releases a portfolio's new recipients only while its moving window has room, shares the budget
// between the portfolio's workspaces, releases the rest as entries age out (a short window
// through pacing.meta_budget_window, a knob meant for tests), predicts the wait, and releases
// every contact exactly once when the pacing daemon is SIGKILLed.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <thread>

#include "e2e_util.hpp"
#include "fault_util.hpp"

namespace wa::test {
namespace {

std::string paced(int window_s = 86400) {
  return kFastConfig + "pacing: {enabled: true, meta_budget_window: " + std::to_string(window_s) +
         "}\n";
}

std::string meta_job(const std::string& id, const std::string& campaign, const std::string& ws,
                     int from, int n) {
  std::string contacts;
  for (int i = from; i < from + n; ++i)
    contacts += (contacts.empty() ? "" : ",") + std::to_string(i);
  return R"({"job_id":")" + id + R"(","campaign_id":)" + campaign + R"(,"workspace_id":")" + ws +
         R"(","template_mode":"template","provider_preference":"meta_api",)" +
         R"("template":{"id":"t","status":"APPROVED"},"contacts":[)" + contacts + "]}";
}

struct Released {
  std::string contact;
  long long at = 0;  // ms
};

struct BudgetEnv : Env {
  // Pops every ready list of `targets` until `n` items came or the timeout passed.
  void pop(const std::vector<std::string>& targets, std::size_t n,
           std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (got.size() < n && std::chrono::steady_clock::now() < until) {
      for (const auto& t : targets) {
        for (const auto& e : c.cmd({"LPOP", "wa:ready:" + t, "100"}).elements) {
          const json::object o = parse_object(e.str);
          got.push_back({str_of(o, "contact"), iso_ms(str_of(o, "released_at"))});
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  std::vector<Released> got;
};

TEST(MetaBudget, ATierOfFiveReleasesExactlyFiveOfTwelveAndPredictsTheWait) {
  BudgetEnv env;
  seed_meta(env.c, "1", true, {{"tier_limit", "5"}});
  push_job(env.c, meta_job("m1", "8", "1", 1, 12));
  env.start(paced());
  const auto d = wait_decision(env.c, "m1");
  ASSERT_TRUE(d) << env.log();
  EXPECT_EQ(str_of(*d, "type"), "meta_api");  // decided, though the budget will be full
  // 5 now, 5 a day later, 2 a day after: the last goes out two windows from now.
  const auto& meta = d->at("prediction").at("meta_api").as_object();
  EXPECT_EQ(meta.at("tier_limit").to_number<long long>(), 5);
  EXPECT_EQ(meta.at("estimated_minutes").to_number<long long>(), 2 * 1440);
  env.pop({"meta_api:1"}, 12, std::chrono::seconds(3));
  EXPECT_EQ(env.got.size(), 5u) << env.log();
  EXPECT_EQ(env.c.integer({"ZCARD", "wa:meta:budget:1"}), 5);
  EXPECT_EQ(env.c.integer({"LLEN", "wa:dispatch:8:meta_api"}), 7);
  const long long next_at = std::stoll(env.c.str({"HGET", "wa:pace:meta_api:1", "next_at"}));
  EXPECT_GT(next_at, env.got.front().at + 86'400'000 - 1000);
}

TEST(MetaBudget, TwoWorkspacesOfOnePortfolioShareItsBudget) {
  BudgetEnv env;
  seed_meta(env.c, "1", true, {{"tier_limit", "6"}, {"portfolio_id", "acme"}});
  seed_meta(env.c, "2", true, {{"tier_limit", "6"}, {"portfolio_id", "acme"}});
  push_job(env.c, meta_job("m1", "8", "1", 1, 4));
  push_job(env.c, meta_job("m2", "9", "2", 101, 4));
  env.start(paced());
  env.pop({"meta_api:1", "meta_api:2"}, 8, std::chrono::seconds(3));
  EXPECT_EQ(env.got.size(), 6u) << env.log();
  EXPECT_EQ(env.c.integer({"ZCARD", "wa:meta:budget:acme"}), 6);
  EXPECT_EQ(env.c.integer({"EXISTS", "wa:meta:budget:1"}), 0);
}

TEST(MetaBudget, TheRestGoesOutAsEntriesAgeOut) {
  BudgetEnv env;
  seed_meta(env.c, "1", true, {{"tier_limit", "5"}});
  push_job(env.c, meta_job("m1", "8", "1", 1, 12));
  env.start(paced(3));
  env.pop({"meta_api:1"}, 12, std::chrono::seconds(15));
  ASSERT_EQ(env.got.size(), 12u) << env.log();
  for (std::size_t i = 0; i < env.got.size(); ++i) {
    EXPECT_EQ(env.got[i].contact, std::to_string(i + 1));  // in order
    // Never more than 5 new recipients in any 3 s: the sixth comes 3 s after the first.
    if (i >= 5) {
      EXPECT_GE(env.got[i].at - env.got[i - 5].at, 3000) << "release " << i;
    }
  }
}

TEST(MetaBudget, AKilledPacerNeverReleasesTwiceNorOverTheBudget) {
  BudgetEnv env;
  seed_meta(env.c, "1", true, {{"tier_limit", "40"}});
  push_job(env.c, meta_job("m1", "8", "1", 1, 200));
  const std::string yaml = paced(2);
  Daemon& a = env.start(yaml);
  Daemon b(env.dir, env.redis.socket(), yaml, "second");
  b.start();
  env.pop({"meta_api:1"}, 60, std::chrono::seconds(10));
  ASSERT_GE(env.got.size(), 40u) << a.log();
  const std::string token = env.c.str({"GET", "wa:lock:pacer"});
  const pid_t holder = static_cast<pid_t>(std::stol(token.substr(token.find(':') + 1)));
  (holder == b.pid() ? b : a).kill();
  env.pop({"meta_api:1"}, 200, std::chrono::seconds(30));
  ASSERT_EQ(env.got.size(), 200u);
  std::set<std::string> unique;
  for (const auto& r : env.got)
    unique.insert(r.contact);
  EXPECT_EQ(unique.size(), 200u);
  for (std::size_t i = 40; i < env.got.size(); ++i) {
    EXPECT_GE(env.got[i].at - env.got[i - 40].at, 2000) << "release " << i;
  }
}

TEST(MetaBudget, TheStatusPageShowsThePortfoliosBudget) {
  BudgetEnv env;
  const int port = fault::free_port();
  seed_meta(env.c, "1", true, {{"tier_limit", "5"}});
  push_job(env.c, meta_job("m1", "8", "1", 1, 12));
  env.start(kFastConfig + "metrics: {listen: \"127.0.0.1:" + std::to_string(port) +
            "\"}\npacing: {enabled: true}\n");
  std::optional<json::object> meta;
  wait_until(
      [&] {
        const auto r = fault::http_get(port, "/status.json");
        if (!r || r->status != 200) return false;
        const json::object doc = parse_object(r->body);
        for (const auto& w : doc.at("workspaces").as_array()) {
          const json::value& m = w.as_object().at("meta");
          if (m.is_object() && m.as_object().contains("budget_used")) meta = m.as_object();
        }
        return meta && meta->at("budget_used").to_number<long long>() == 5;
      },
      std::chrono::seconds(10));
  ASSERT_TRUE(meta) << env.log();
  EXPECT_EQ(meta->at("budget_used").to_number<long long>(), 5);
  EXPECT_EQ(meta->at("tier_limit").to_number<long long>(), 5);
}

}  // namespace
}  // namespace wa::test
