// Adaptive pace and the silent rule at each health cycle (CONTRACT.md section 8), end to end: a
// real redis-server and wa-routerd with a short health.check_interval. The releases are counted
// here as the pacer's release script counts them (wa:stats:released:<sid>, field Unix ms ÷ 60000
// → releases), written directly.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "e2e_util.hpp"

namespace wa::test {
namespace {

using Strings = std::vector<std::string>;
using namespace std::chrono_literals;

// One check a second: a test reads the factor a cycle wrote before the next one runs.
const std::string kHealthEverySecond = "health: {check_interval: 1}\n";
// (The test harness turns pacing off unless the config names it.)
const std::string kPacingConfig = kHealthEverySecond + "pacing: {enabled: true}\n";

std::string event(const std::string& session, const std::string& status) {
  return R"({"session_id":")" + session + R"(","workspace_id":"1","provider":"webjs","status":")" +
         status + "\"}";
}

void push_events(Client& c, const std::string& e, int n) {
  std::vector<std::string> args{"RPUSH", "wa:events"};
  args.insert(args.end(), static_cast<std::size_t>(n), e);
  c.cmd(args);
}

// `n` releases counted `minutes_ago` whole minutes before the current one.
void count_releases(Client& c, const std::string& session, int minutes_ago, int n) {
  const long long minute = now_ms() / 60000 - minutes_ago;
  c.cmd({"HSET", "wa:stats:released:" + session, std::to_string(minute), std::to_string(n)});
}

// The stored factor, or -1 when there is none.
double factor_of(Client& c, const std::string& session) {
  const std::string f = c.str({"HGET", "wa:pace:" + session, "factor"});
  return f.empty() ? -1.0 : std::stod(f);
}

long long alert_mask(Client& c, const std::string& session) {
  const std::string m = c.str({"HGET", "wa:health:" + session, "alerts"});
  return m.empty() ? -1 : std::stoll(m);
}

// The alert entries of an alert message: type → (value, threshold).
std::map<std::string, std::pair<double, double>> entries(const json::object& a) {
  std::map<std::string, std::pair<double, double>> out;
  for (const json::value& x : a.at("alerts").as_array()) {
    const json::object& o = x.as_object();
    out[str_of(o, "type")] = {o.at("value").to_number<double>(),
                              o.at("threshold").to_number<double>()};
  }
  return out;
}

constexpr long long kSilentBit = 1 << 3;  // core::AlertType::silent

TEST(AdaptivePace, SilentSessionIsHalvedAlertedOnceAndRecoversByATenthPerCycle) {
  Env env;
  seed_session(env.c, {.id = "s1"});
  count_releases(env.c, "s1", 10, 12);  // 12 releases ten minutes ago, none reported
  count_releases(env.c, "s1", 0, 50);   // this minute's: younger than the grace, not counted
  Subscriber sub(env.redis.socket(), "wa:alerts");
  env.start(kPacingConfig);

  const auto first = sub.next(5s);
  ASSERT_TRUE(first) << env.log();
  EXPECT_DOUBLE_EQ(factor_of(env.c, "s1"), 0.5) << env.log();  // the same cycle's write
  const json::object a = parse_object(*first);
  EXPECT_EQ(str_of(a, "session_id"), "s1");
  EXPECT_EQ(entries(a),
            (std::map<std::string, std::pair<double, double>>{{"silent", {0.0, 50.0}}}));
  EXPECT_EQ(alert_mask(env.c, "s1"), kSilentBit);
  EXPECT_NE(env.log().find("session s1 (workspace 1) is silent"), std::string::npos) << env.log();

  // Still silent at the next check: halved again, not reported again.
  ASSERT_TRUE(wait_until([&] { return factor_of(env.c, "s1") == 0.25; }, 3s)) << env.log();
  // The outcomes arrive (all delivered: no alert limit broken): +0.1 per check up to 1.
  push_events(env.c, event("s1", "delivered"), 12);
  std::vector<double> seen{factor_of(env.c, "s1")};
  ASSERT_TRUE(wait_until(
      [&] {
        const double f = factor_of(env.c, "s1");
        if (f != seen.back()) seen.push_back(f);
        return f == 1.0;
      },
      15s))
      << env.log();
  const auto low = std::min_element(seen.begin(), seen.end());
  EXPECT_GE(*low, 0.1);
  for (auto it = seen.begin(); it != low; ++it)  // halved while the events were on their way
    EXPECT_DOUBLE_EQ(*(it + 1), *it / 2 < 0.1 ? 0.1 : *it / 2);
  for (auto it = low; it + 1 != seen.end(); ++it)
    EXPECT_NEAR(*(it + 1) - *it, std::min(0.1, 1.0 - *it), 1e-9) << "after " << *it;
  EXPECT_EQ(alert_mask(env.c, "s1"), 0);
  const auto again = sub.next(1500ms);
  EXPECT_FALSE(again) << *again;
  EXPECT_DOUBLE_EQ(factor_of(env.c, "s1"), 1.0);  // stays
}

// s3's reports wait in wa:events when the daemon starts: it is not taken for silent.
TEST(AdaptivePace, BrokenAlertLimitHalvesACleanSessionIsNotWritten) {
  Env env;
  seed_session(env.c, {.id = "s2"});
  seed_session(env.c, {.id = "s3"});
  count_releases(env.c, "s3", 10, 20);  // all reported: not silent
  Subscriber sub(env.redis.socket(), "wa:alerts");
  push_events(env.c, event("s2", "failed"), 10);
  push_events(env.c, event("s3", "delivered"), 20);
  env.start(kPacingConfig);

  const auto first = sub.next(5s);
  ASSERT_TRUE(first) << env.log();
  const json::object a = parse_object(*first);
  EXPECT_EQ(str_of(a, "session_id"), "s2");
  EXPECT_FALSE(entries(a).contains("silent")) << *first;
  EXPECT_TRUE(entries(a).contains("high_error_rate")) << *first;
  // Halved at every check while it breaks the limit, down to min_factor.
  std::vector<double> seen{factor_of(env.c, "s2")};
  ASSERT_TRUE(wait_until(
      [&] {
        const double f = factor_of(env.c, "s2");
        if (f != seen.back()) seen.push_back(f);
        return f == 0.1;
      },
      8s))
      << env.log();
  // The first check of a daemon leaves the pace alone (the reports may still wait in wa:events).
  if (seen.front() == -1) seen.erase(seen.begin());
  EXPECT_EQ(seen, (std::vector<double>{0.5, 0.25, 0.125, 0.1}));
  EXPECT_EQ(env.c.integer({"EXISTS", "wa:pace:s3"}), 0);  // factor 1 is never written
  EXPECT_EQ(alert_mask(env.c, "s3"), 0);
}

TEST(AdaptivePace, DisabledAdaptivePaceStillRaisesSilentButWritesNoFactor) {
  Env env;
  seed_session(env.c, {.id = "s1"});
  seed_session(env.c, {.id = "s2"});
  count_releases(env.c, "s1", 10, 12);
  push_events(env.c, event("s2", "failed"), 10);
  Subscriber sub(env.redis.socket(), "wa:alerts");
  env.start(kHealthEverySecond + "pacing: {adaptive: {enabled: false}}\n");

  std::map<std::string, std::map<std::string, std::pair<double, double>>> by_session;
  for (int i = 0; i < 2; ++i) {
    const auto m = sub.next(5s);
    ASSERT_TRUE(m) << env.log();
    const json::object a = parse_object(*m);
    by_session[str_of(a, "session_id")] = entries(a);
  }
  EXPECT_EQ(by_session["s1"],
            (std::map<std::string, std::pair<double, double>>{{"silent", {0.0, 50.0}}}));
  EXPECT_TRUE(by_session["s2"].contains("high_error_rate"));
  std::this_thread::sleep_for(1500ms);  // another check
  EXPECT_EQ(env.c.cmd({"KEYS", "wa:pace:*"}).strings(), Strings{}) << env.log();
}

TEST(AdaptivePace, PacingOffReadsAndWritesNothingOfIt) {
  Env env;
  seed_session(env.c, {.id = "s1"});
  seed_session(env.c, {.id = "s2"});
  count_releases(env.c, "s1", 10, 12);  // silent if pacing were on
  push_events(env.c, event("s2", "failed"), 10);
  Subscriber sub(env.redis.socket(), "wa:alerts");
  env.start(kHealthEverySecond + "pacing: {enabled: false}\n");

  const auto first = sub.next(5s);
  ASSERT_TRUE(first) << env.log();
  EXPECT_EQ(str_of(parse_object(*first), "session_id"), "s2");
  EXPECT_FALSE(entries(parse_object(*first)).contains("silent"));
  std::this_thread::sleep_for(2500ms);  // two more checks
  EXPECT_EQ(env.c.cmd({"KEYS", "wa:pace:*"}).strings(), Strings{}) << env.log();
  EXPECT_EQ(alert_mask(env.c, "s1"), 0);
  const auto more = sub.next(100ms);
  EXPECT_FALSE(more) << *more;
}

}  // namespace
}  // namespace wa::test
