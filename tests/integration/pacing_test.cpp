// Pacing end to end (CONTRACT.md section 8): wa-routerd against a private redis-server releases
// each target's contacts one at a time into wa:ready:<target>, at its pace, within its cap and
// sending hours, in turns between campaigns, skipping paused ones, never piling up a ready list
// nobody pops; pacing off writes none of its keys; a second daemon takes over the pacing of a
// killed one and every contact is released exactly once.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <thread>

#include "e2e_util.hpp"

namespace wa::test {
namespace {

const std::string kPaced = kFastConfig + "pacing: {enabled: true, jitter: 0.3}\n";

std::string job(const std::string& id, const std::string& campaign, int from, int n,
                const std::string& preference = "webjs") {
  std::string contacts;
  for (int i = from; i < from + n; ++i)
    contacts += (contacts.empty() ? "" : ",") + std::to_string(i);
  return R"({"job_id":")" + id + R"(","campaign_id":)" + campaign +
         R"(,"workspace_id":"1","template_mode":"template","provider_preference":")" + preference +
         R"(","template":{"id":"t","status":"APPROVED","webjs_compatible":true},"contacts":[)" +
         contacts + "]}";
}

// One ready item: its campaign, contact and release time (ms).
struct Item {
  std::string campaign, contact;
  long long at = 0;
};

Item item_of(const std::string& text) {
  const json::object o = parse_object(text);
  Item it;
  const json::value& c = o.at("campaign_id");
  it.campaign = c.is_int64() ? std::to_string(c.get_int64()) : std::string(c.get_string());
  it.contact = str_of(o, "contact");
  it.at = iso_ms(str_of(o, "released_at"));
  return it;
}

struct PacingEnv : Env {
  PacingEnv() {
    pin_health(c);
    seed_session(c, {.id = "s1", .primary = true, .health = 95});
  }
  void workspace_pacing(std::initializer_list<std::string> fields) {
    std::vector<std::string> cmd{"HSET", "wa:workspace:1:pacing"};
    cmd.insert(cmd.end(), fields.begin(), fields.end());
    c.cmd(cmd);
  }
  // What a sender does: BLPOP its ready list until `n` items came or the timeout passed.
  std::vector<Item> pop(const std::string& target, std::size_t n,
                        std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
    std::vector<Item> got;
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (got.size() < n && std::chrono::steady_clock::now() < until) {
      const auto r = c.cmd({"BLPOP", "wa:ready:" + target, "1"});
      if (r.elements.size() == 2) got.push_back(item_of(r.elements[1].str));
    }
    return got;
  }
};

TEST(Pacing, ASessionReleasesOneContactPerGapInOrder) {
  PacingEnv env;
  env.workspace_pacing({"rate_per_hour", "36000"});  // a gap of 100 ms ± 30 %
  push_job(env.c, job("j1", "7", 1, 20));
  env.start(kPaced);
  ASSERT_TRUE(wait_decision(env.c, "j1")) << env.log();
  const auto got = env.pop("s1", 20);
  ASSERT_EQ(got.size(), 20u) << env.log();
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].campaign, "7");
    EXPECT_EQ(got[i].contact, std::to_string(i + 1));
  }
  for (std::size_t i = 1; i < got.size(); ++i) {
    const long long gap = got[i].at - got[i - 1].at;
    EXPECT_GE(gap, 65) << "release " << i;  // 70 ms at the least jitter, less a clock tick
  }
  const long long span = got.back().at - got.front().at;
  EXPECT_GE(span, 19 * 70);
  EXPECT_LE(span, 19 * 130 + 1500);
  EXPECT_EQ(env.c.integer({"EXISTS", "wa:dispatch:7:s1"}), 0);
  EXPECT_EQ(env.c.integer({"EXISTS", "wa:backlog:s1"}), 0);  // emptied: left the backlog
  EXPECT_EQ(env.c.str({"HGET", "wa:pace:s1", "released_today"}), "20");
  EXPECT_EQ(env.c.str({"HGET", "wa:pace:s1", "rate_per_hour"}), "36000");
}

TEST(Pacing, ANobodyPopsTheReadyListHoldsAtMostAhead) {
  PacingEnv env;
  env.workspace_pacing({"rate_per_hour", "36000"});
  push_job(env.c, job("j1", "7", 1, 30));
  env.start(kPaced + "");
  ASSERT_TRUE(wait_until([&] {
    return env.c.integer({"LLEN", "wa:ready:s1"}) >= 10;
  })) << env.log();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  // One second's releases at 10 per second (more than ahead = 2).
  EXPECT_EQ(env.c.integer({"LLEN", "wa:ready:s1"}), 10);
  EXPECT_EQ(env.c.integer({"LLEN", "wa:dispatch:7:s1"}), 20);
}

TEST(Pacing, TheDailyCapStopsReleasesForTheDay) {
  PacingEnv env;
  env.workspace_pacing({"rate_per_hour", "36000", "daily_cap", "3"});
  push_job(env.c, job("j1", "7", 1, 10));
  env.start(kPaced);
  EXPECT_EQ(env.pop("s1", 3).size(), 3u);
  EXPECT_TRUE(env.pop("s1", 1, std::chrono::milliseconds(1200)).empty());
  EXPECT_EQ(env.c.str({"HGET", "wa:pace:s1", "cap_today"}), "3");
  EXPECT_EQ(env.c.str({"HGET", "wa:pace:s1", "released_today"}), "3");
  EXPECT_EQ(env.c.integer({"LLEN", "wa:dispatch:7:s1"}), 7);
  // The next look is at most a minute away (a raised cap applies then), not every pass.
  EXPECT_GT(std::stoll(env.c.str({"ZSCORE", "wa:pace:due", "s1"})), now_ms() + 30'000);
}

TEST(Pacing, ANewNumberWarmsUpFromStartPerDay) {
  PacingEnv env;
  env.workspace_pacing({"rate_per_hour", "36000"});
  env.c.cmd({"HSET", "wa:session:s1", "created_at", std::to_string(now_seconds())});  // day 0
  push_job(env.c, job("j1", "7", 1, 10));
  env.start(kFastConfig + "pacing: {enabled: true, warmup: {days: 14, start_per_day: 3}}\n");
  EXPECT_EQ(env.pop("s1", 3).size(), 3u) << env.log();
  EXPECT_TRUE(env.pop("s1", 1, std::chrono::milliseconds(1200)).empty());
  EXPECT_EQ(env.c.str({"HGET", "wa:pace:s1", "cap_today"}), "3");
  EXPECT_EQ(env.c.integer({"LLEN", "wa:dispatch:7:s1"}), 7);
}

TEST(Pacing, CampaignsTakeTurnsAndPausedOnesWait) {
  PacingEnv env;
  env.workspace_pacing({"rate_per_hour", "36000"});
  env.c.cmd({"SADD", "wa:campaigns:paused", "9"});
  push_job(env.c, job("a", "7", 1, 3));
  push_job(env.c, job("b", "8", 101, 3));
  push_job(env.c, job("p", "9", 201, 3));
  env.start(kPaced);
  ASSERT_TRUE(wait_decision(env.c, "p")) << env.log();
  const auto got = env.pop("s1", 6);
  ASSERT_EQ(got.size(), 6u) << env.log();
  std::map<std::string, int> per;
  for (std::size_t i = 0; i < got.size(); ++i)
    ++per[got[i].campaign];
  EXPECT_EQ(per["7"], 3);
  EXPECT_EQ(per["8"], 3);
  // Turns: never the same campaign twice in a row while the other still has contacts.
  for (std::size_t i = 1; i + 1 < got.size(); ++i)
    EXPECT_NE(got[i].campaign, got[i - 1].campaign) << i;
  EXPECT_TRUE(env.pop("s1", 1, std::chrono::milliseconds(800)).empty());
  EXPECT_EQ(env.c.integer({"LLEN", "wa:dispatch:9:s1"}), 3);
  env.c.cmd({"SREM", "wa:campaigns:paused", "9"});
  const auto resumed = env.pop("s1", 3);
  ASSERT_EQ(resumed.size(), 3u);
  EXPECT_EQ(resumed[0].contact, "201");
}

// "HH:MM-HH:MM" of a window that opens `from` hours after now (UTC) and lasts an hour.
std::string window_from_now(int from) {
  const long long s = now_seconds() + from * 3600;
  const auto hhmm = [](long long t) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%02lld:%02lld", (t / 3600) % 24, (t / 60) % 60);
    return std::string(buf);
  };
  return hhmm(s) + "-" + hhmm(s + 3600);
}

TEST(Pacing, NothingIsReleasedOutsideSendingHours) {
  PacingEnv env;
  env.workspace_pacing(
      {"rate_per_hour", "36000", "sending_hours", window_from_now(2), "timezone", "UTC"});
  seed_meta(env.c, "1", true);
  push_job(env.c, job("j1", "7", 1, 3));
  push_job(env.c, job("m1", "8", 1, 3, "meta_api"));  // Meta keeps the hours too
  env.start(kPaced);
  ASSERT_TRUE(wait_decision(env.c, "m1")) << env.log();
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  EXPECT_EQ(env.c.integer({"LLEN", "wa:ready:s1"}), 0);
  EXPECT_EQ(env.c.integer({"LLEN", "wa:ready:meta_api:1"}), 0);
  EXPECT_EQ(env.c.integer({"LLEN", "wa:dispatch:7:s1"}), 3);
  EXPECT_GT(std::stoll(env.c.str({"ZSCORE", "wa:pace:due", "s1"})), now_ms() + 30'000);
  // The window opens (from this minute on): the pacer reads the workspace's settings again
  // within 5 s and looks at a held target at least every minute; here the minute is skipped.
  env.workspace_pacing({"sending_hours", window_from_now(0)});
  std::this_thread::sleep_for(std::chrono::milliseconds(5500));
  env.c.cmd({"ZADD", "wa:pace:due", "0", "s1"});
  EXPECT_EQ(env.pop("s1", 3).size(), 3u) << env.log();
}

TEST(Pacing, MetaReleasesAtItsThroughputIntoTheWorkspacesReadyList) {
  PacingEnv env;
  seed_meta(env.c, "1", true, {{"throughput_mps", "50"}});
  push_job(env.c, job("m1", "8", 1, 40, "meta_api"));
  env.start(kPaced);
  const auto got = env.pop("meta_api:1", 40, std::chrono::seconds(10));
  ASSERT_EQ(got.size(), 40u) << env.log();
  for (std::size_t i = 0; i < got.size(); ++i)
    EXPECT_EQ(got[i].contact, std::to_string(i + 1));
  EXPECT_EQ(env.c.integer({"EXISTS", "wa:dispatch:8:meta_api"}), 0);
  EXPECT_TRUE(env.c.cmd({"HGET", "wa:pace:meta_api:1", "cap_today"}).nil());  // no daily cap
}

TEST(Pacing, ADisconnectedSessionGetsNothingUntilItIsBack) {
  PacingEnv env;
  env.workspace_pacing({"rate_per_hour", "36000"});
  push_job(env.c, job("j1", "7", 1, 3));
  env.start(kPaced);
  ASSERT_TRUE(wait_decision(env.c, "j1")) << env.log();
  env.pop("s1", 3, std::chrono::milliseconds(100));  // (may race the first release)
  env.c.cmd({"HSET", "wa:session:s1", "status", "disconnected"});
  std::this_thread::sleep_for(std::chrono::milliseconds(6000));  // its settings are read again
  env.c.cmd({"DEL", "wa:ready:s1"});
  env.c.cmd({"RPUSH", "wa:dispatch:7:s1", "x1", "x2"});  // as a later job of campaign 7 would
  env.c.cmd({"ZADD", "wa:backlog:s1", "NX", "1", "7"});
  env.c.cmd({"ZADD", "wa:pace:due", "NX", "1", "s1"});
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(env.c.integer({"LLEN", "wa:ready:s1"}), 0);
  EXPECT_EQ(env.c.integer({"LLEN", "wa:dispatch:7:s1"}), 2);
  env.c.cmd({"HSET", "wa:session:s1", "status", "connected"});
  const auto got = env.pop("s1", 2, std::chrono::seconds(12));
  ASSERT_EQ(got.size(), 2u) << env.log();
  EXPECT_EQ(got.back().contact, "x2");
}

// The daemon that holds wa:lock:pacer ("host:pid:nonce").
pid_t pacer_pid(Client& c) {
  const std::string token = c.str({"GET", "wa:lock:pacer"});
  const auto a = token.find(':'), b = token.find(':', a + 1);
  if (a == std::string::npos || b == std::string::npos) return -1;
  return static_cast<pid_t>(std::stol(token.substr(a + 1, b - a - 1)));
}

TEST(Pacing, AKilledPacerIsTakenOverAndEveryContactGoesOutOnce) {
  PacingEnv env;
  std::vector<std::string> sessions;
  for (int i = 2; i <= 10; ++i) {
    sessions.push_back("s" + std::to_string(i));
    seed_session(env.c, {.id = sessions.back(), .health = 95});
  }
  sessions.push_back("s1");
  env.workspace_pacing({"rate_per_hour", "72000"});  // 20 per second and session
  push_job(env.c, job("big", "7", 1, 3000));
  // (No warm-up: the seeded sessions are young, and their cap would end the test.)
  const std::string yaml = kFastConfig + "pacing: {enabled: true, warmup: {days: 0}}\n";
  Daemon& a = env.start(yaml);
  Daemon b(env.dir, env.redis.socket(), yaml, "second");
  b.start();
  std::multiset<std::string> got;
  const auto drain = [&] {
    for (const auto& s : sessions) {
      for (const auto& e : env.c.cmd({"LPOP", "wa:ready:" + s, "100"}).elements)
        got.insert(item_of(e.str).contact);
    }
  };
  ASSERT_TRUE(wait_until(
      [&] {
        drain();
        return got.size() >= 600;
      },
      std::chrono::seconds(20)))
      << a.log();
  const pid_t holder = pacer_pid(env.c);
  Daemon& victim = holder == b.pid() ? b : a;
  ASSERT_EQ(victim.pid(), holder);
  victim.kill();  // SIGKILL while releasing
  const bool done = wait_until(
      [&] {
        drain();
        return got.size() >= 3000;
      },
      std::chrono::seconds(40));
  EXPECT_TRUE(done) << got.size() << " of 3000";
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  drain();
  std::size_t left = 0;
  for (const auto& s : sessions)
    left += static_cast<std::size_t>(env.c.integer({"LLEN", "wa:dispatch:7:" + s}));
  EXPECT_EQ(left, 0u);
  EXPECT_EQ(got.size(), 3000u);
  for (int i = 1; i <= 3000; ++i)
    EXPECT_EQ(got.count(std::to_string(i)), 1u) << "contact " << i;
}

TEST(Pacing, TheFinishStepPutsTheCampaignInItsTargetsBacklogs) {
  PacingEnv env;
  seed_session(env.c, {.id = "s2", .health = 95});
  seed_meta(env.c, "1", true);
  env.c.cmd({"SADD", "wa:campaigns:paused", "7", "8"});  // nothing released: the keys stay
  push_job(env.c, job("j1", "7", 1, 6));
  push_job(env.c, job("m1", "8", 1, 2, "meta_api"));
  env.start(kPaced);
  const auto d = wait_decision(env.c, "j1");
  ASSERT_TRUE(d) << env.log();
  ASSERT_TRUE(wait_decision(env.c, "m1")) << env.log();
  const long long decided = iso_ms(str_of(*d, "selected_at"));
  for (const std::string target : {"s1", "s2"}) {
    SCOPED_TRACE(target);
    const long long score = std::stoll(env.c.str({"ZSCORE", "wa:backlog:" + target, "7"}));
    EXPECT_NEAR(score, decided, 2000);  // scored by decision time (ms)
    EXPECT_FALSE(env.c.cmd({"ZSCORE", "wa:pace:due", target}).nil());
  }
  EXPECT_FALSE(env.c.cmd({"ZSCORE", "wa:backlog:meta_api:1", "8"}).nil());
  EXPECT_FALSE(env.c.cmd({"ZSCORE", "wa:pace:due", "meta_api:1"}).nil());
  EXPECT_EQ(env.c.integer({"LLEN", "wa:dispatch:8:meta_api"}), 2);
}

TEST(Pacing, OffWritesNoneOfItsKeys) {
  PacingEnv env;
  push_job(env.c, job("j1", "7", 1, 5));
  env.start(kFastConfig + "pacing: {enabled: false}\n");
  ASSERT_TRUE(wait_decision(env.c, "j1")) << env.log();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(env.c.integer({"LLEN", "wa:dispatch:7:s1"}), 5);
  for (const char* pattern : {"wa:ready:*", "wa:backlog:*", "wa:pace:*"}) {
    EXPECT_TRUE(env.c.cmd({"KEYS", pattern}).elements.empty()) << pattern;
  }
}

}  // namespace
}  // namespace wa::test
