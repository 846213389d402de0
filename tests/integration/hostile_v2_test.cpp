// Hostile values in the v2 keys the app writes (CONTRACT.md sections 8-12): a workspace's pacing
// and Meta settings that cannot be read, keys of the wrong type, sticky entries naming sessions
// that are not the job's, and the status page while all of that is in Redis. Each case runs
// beside a healthy workspace (1, session h1) whose contacts must be paced as usual: the hostile
// value is logged naming its key and handled as the README says, the daemon stays up, and every
// contact is accounted for exactly once (popped, in a ready list, or in a dispatch list).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <thread>

#include "e2e_util.hpp"
#include "fault_util.hpp"

namespace wa::test {
namespace {

using fault::free_port;
using fault::http_get;

// Contacts of campaign c: c * 1000 + 1 … c * 1000 + n, as strings (as ready items carry them).
std::vector<std::string> contacts_of(int campaign, int n) {
  std::vector<std::string> out;
  for (int i = 1; i <= n; ++i)
    out.push_back(std::to_string(campaign * 1000 + i));
  return out;
}

std::string job(const std::string& ws, int campaign, int n, const std::string& preference) {
  std::string list;
  for (const auto& c : contacts_of(campaign, n))
    list += (list.empty() ? "" : ",") + c;
  const std::string compatible = preference == "webjs" ? R"(,"webjs_compatible":true)" : "";
  return R"({"job_id":"j)" + std::to_string(campaign) + R"(","campaign_id":)" +
         std::to_string(campaign) + R"(,"workspace_id":")" + ws +
         R"(","template_mode":"template","provider_preference":")" + preference +
         R"(","template":{"id":"t","status":"APPROVED")" + compatible + R"(},"contacts":[)" + list +
         "]}";
}

// A session id that breaks out of a JSON string and an HTML script unless escaped (status page).
const std::string kOddSession = "s\"</script><b>";

struct HostileEnv : Env {
  int port = free_port();
  std::map<std::string, std::vector<json::object>> popped;  // target → items a sender popped

  // The healthy workspace 1: session h1 at 10 releases a second, campaign 1 of 20 contacts.
  HostileEnv() {
    pin_health(c);  // the seeded scores stay
    seed_session(c, {.id = "h1", .workspace = "1", .primary = true, .health = 95});
    c.cmd({"HSET", "wa:workspace:1:pacing", "rate_per_hour", "36000"});
    push_job(c, job("1", 1, 20, "webjs"));
    seed_session(c, {.id = kOddSession, .workspace = "46", .health = 80});
  }
  void session(const std::string& ws, const std::string& id) {
    seed_session(c, {.id = id, .workspace = ws, .primary = true, .health = 95});
  }
  void run() {
    start(paced_http_config(port));
    ASSERT_TRUE(wait_until([&] { return http_get(port, "/healthz").has_value(); })) << log();
  }
  // What a sender does: pops the target's ready list until `n` items came in all, or the timeout.
  std::size_t pop(const std::string& target, std::size_t n,
                  std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto& got = popped[target];
    wait_until(
        [&] {
          for (const auto& e : c.cmd({"LPOP", "wa:ready:" + target, "100"}).elements)
            got.push_back(parse_object(e.str));
          return got.size() >= n;
        },
        timeout);
    return got.size();
  }
  // Every contact of `campaign` the sender popped, or waiting in a ready list or in a dispatch
  // list of `targets` ("meta_api:<ws>" for Meta), sorted.
  std::vector<std::string> accounted(int campaign, const std::vector<std::string>& targets) {
    const std::string id = std::to_string(campaign);
    std::vector<std::string> out;
    const auto add = [&](const json::object& o) {
      const json::value& v = o.at("campaign_id");
      if ((v.is_int64() ? std::to_string(v.get_int64()) : std::string()) == id)
        out.push_back(str_of(o, "contact"));
    };
    for (const auto& t : targets) {
      for (const auto& o : popped[t])
        add(o);
      if (c.str({"TYPE", "wa:ready:" + t}) == "list") {
        for (const auto& e : c.list("wa:ready:" + t))
          add(parse_object(e));
      }
      const std::string list = t.starts_with("meta_api:") ? "meta_api" : t;
      for (auto& e : c.list("wa:dispatch:" + id + ":" + list))
        out.push_back(std::move(e));
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  // The healthy workspace: its 20 contacts reach h1's sender in order, paced (gaps near 100 ms).
  void expect_healthy_paced() {
    ASSERT_EQ(pop("h1", 20), 20u) << log();
    const auto& got = popped["h1"];
    for (std::size_t i = 0; i < got.size(); ++i)
      EXPECT_EQ(str_of(got[i], "contact"), contacts_of(1, 20)[i]);
    for (std::size_t i = 1; i < got.size(); ++i) {
      const long long gap =
          iso_ms(str_of(got[i], "released_at")) - iso_ms(str_of(got[i - 1], "released_at"));
      EXPECT_GE(gap, 90) << "release " << i;
    }
    EXPECT_EQ(accounted(1, {"h1"}), contacts_of(1, 20));
  }
  bool logged(const std::string& text) const { return log().find(text) != std::string::npos; }
};

// GET /status.json answers 200 with a JSON document; the odd session id comes out escaped.
void expect_status_page(HostileEnv& env) {
  std::optional<json::object> doc;
  ASSERT_TRUE(wait_until(
      [&] {
        const auto r = http_get(env.port, "/status.json");
        EXPECT_TRUE(r.has_value());
        if (!r) return false;
        EXPECT_EQ(r->status, 200) << r->body.substr(0, 300);
        if (r->status != 200) return false;
        doc = parse_object(r->body);                 // throws when not JSON
        const auto raw = r->body.find(kOddSession);  // never unescaped
        EXPECT_EQ(raw, std::string::npos) << r->body.substr(raw < 200 ? 0 : raw - 200, 400);
        return r->body.find("s\\\"") != std::string::npos;
      },
      std::chrono::seconds(6)))
      << env.log();
  bool found = false;
  for (const json::value& w : doc->at("workspaces").as_array()) {
    for (const json::value& s : w.at("sessions").as_array())
      found = found || s.at("id") == json::value(kOddSession);
  }
  EXPECT_TRUE(found) << json::serialize(*doc).substr(0, 2000);
  const auto page = http_get(env.port, "/status");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
}

// "HH:MM" of now + `minutes` (UTC).
std::string clock_in(int minutes) {
  const long long t = now_seconds() + minutes * 60LL;
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02lld:%02lld", (t / 3600) % 24, (t / 60) % 60);
  return buf;
}

// ---- 1. wa:workspace:<ws>:pacing ----

struct PacingCase {
  std::string ws, field, value;
  std::string logged;  // what the log must say ("": nothing to say)
};

TEST(HostileV2, UnreadablePacingSettingsFallBackToTheConfigAndAreLogged) {
  const std::vector<PacingCase> cases{
      {"11", "rate_per_hour", "abc", "wa:workspace:11:pacing rate_per_hour 'abc'"},
      {"12", "rate_per_hour", "-5", "wa:workspace:12:pacing rate_per_hour '-5'"},
      {"13", "rate_per_hour", "0", "wa:workspace:13:pacing rate_per_hour '0'"},
      {"14", "rate_per_hour", "1e308", ""},  // a number > 0: as fast as the pacer goes
      {"15", "rate_per_hour", "nan", "wa:workspace:15:pacing rate_per_hour 'nan'"},
      {"16", "daily_cap", "-1", "wa:workspace:16:pacing daily_cap '-1'"},
      {"17", "daily_cap", "2.5", "wa:workspace:17:pacing daily_cap '2.5'"},
      {"18", "sending_hours", "25:00-99:00", "wa:workspace:18:pacing sending_hours '25:00-99:00'"},
      {"19", "sending_hours", "garbage", "wa:workspace:19:pacing sending_hours 'garbage'"},
      {"20", "sending_hours", "08:00-08:00", "wa:workspace:20:pacing sending_hours '08:00-08:00'"},
      {"21", "timezone", "Mars/Olympus", "wa:workspace:21:pacing timezone: unknown time zone"},
      {"22", "timezone", "../../etc/passwd", "wa:workspace:22:pacing timezone: unknown time zone"},
      {"23", "timezone", "", ""},  // empty: the default, UTC
  };
  HostileEnv env;
  for (const auto& k : cases) {
    env.session(k.ws, "x" + k.ws);
    env.c.cmd({"HSET", "wa:workspace:" + k.ws + ":pacing", k.field, k.value});
    push_job(env.c, job(k.ws, std::stoi(k.ws), 3, "webjs"));
  }
  env.run();
  env.expect_healthy_paced();
  for (const auto& k : cases) {
    SCOPED_TRACE(k.ws + " " + k.field + " " + k.value);
    const std::string target = "x" + k.ws;
    // The config's value applies: the first contact goes at once (1e308: all three).
    EXPECT_GE(env.pop(target, k.value == "1e308" ? 3 : 1), k.value == "1e308" ? 3u : 1u)
        << env.log();
    if (!k.logged.empty()) {
      EXPECT_TRUE(env.logged(k.logged)) << env.log();
    }
    EXPECT_EQ(env.accounted(std::stoi(k.ws), {target}), contacts_of(std::stoi(k.ws), 3));
  }
  expect_status_page(env);
  EXPECT_TRUE(env.daemon->running());
}

bool within_now(int start_min, int end_min) {
  const int m = static_cast<int>((now_seconds() / 60) % 1440);
  return start_min < end_min ? m >= start_min && m < end_min : m >= start_min || m < end_min;
}

TEST(HostileV2, SendingHoursAcrossMidnightAreOneWindowFromStartToEndTheNextMorning) {
  HostileEnv env;
  // 21:00-08:00 as written; then two windows that wrap (unless midnight falls inside the margin,
  // when they do not need to): one open now (opens in an hour, closes in half an hour, so it is
  // open for the 23 hours between), one closed now (closed for the hour around now).
  const std::vector<std::pair<std::string, std::string>> windows{
      {"51", "21:00-08:00"},
      {"52", clock_in(60) + "-" + clock_in(30)},
      {"53", clock_in(30) + "-" + clock_in(-30)}};
  const std::vector<bool> open{within_now(21 * 60, 8 * 60), true, false};
  for (const auto& [ws, hours] : windows) {
    env.session(ws, "x" + ws);
    env.c.cmd({"HSET", "wa:workspace:" + ws + ":pacing", "sending_hours", hours, "rate_per_hour",
               "36000"});
    push_job(env.c, job(ws, std::stoi(ws), 3, "webjs"));
  }
  env.run();
  env.expect_healthy_paced();
  for (std::size_t i = 0; i < windows.size(); ++i) {
    SCOPED_TRACE(windows[i].second);
    const std::string target = "x" + windows[i].first;
    const int campaign = std::stoi(windows[i].first);
    if (open[i]) {
      EXPECT_EQ(env.pop(target, 3), 3u) << env.log();
    } else {
      EXPECT_EQ(env.pop(target, 1, std::chrono::milliseconds(500)), 0u);
      EXPECT_EQ(env.c.integer({"LLEN", "wa:dispatch:" + std::to_string(campaign) + ":" + target}),
                3);
    }
    EXPECT_EQ(env.accounted(campaign, {target}), contacts_of(campaign, 3));
  }
  EXPECT_FALSE(env.logged("sending_hours '")) << env.log();
  expect_status_page(env);
}

// ---- 2. wa:workspace:<ws>:meta ----

TEST(HostileV2, UnreadableMetaSettingsUseTheDefaultsAndAreLogged) {
  const std::string long_portfolio(10240, 'p');
  const std::vector<PacingCase> cases{
      {"31", "tier_limit", "-3", "wa:workspace:31:meta tier_limit '-3'"},
      {"32", "tier_limit", "abc", "wa:workspace:32:meta tier_limit 'abc'"},
      {"33", "tier_limit", "1e30", "wa:workspace:33:meta tier_limit '1e30'"},
      {"34", "portfolio_id", "", ""},  // empty: the workspace is its own portfolio
      {"35", "portfolio_id", long_portfolio, ""},
      {"36", "throughput_mps", "0", "wa:workspace:36:meta throughput_mps '0'"},
      {"37", "throughput_mps", "-1", "wa:workspace:37:meta throughput_mps '-1'"},
      {"38", "throughput_mps", "abc", "wa:workspace:38:meta throughput_mps 'abc'"},
      {"39", "throughput_mps", "1e308", "wa:workspace:39:meta throughput_mps '1e308'"},
  };
  HostileEnv env;
  for (const auto& k : cases) {
    seed_meta(env.c, k.ws, true, {{k.field, k.value}});
    push_job(env.c, job(k.ws, std::stoi(k.ws), 3, "meta_api"));
  }
  env.run();
  env.expect_healthy_paced();
  for (const auto& k : cases) {
    SCOPED_TRACE(k.ws + " " + k.field + " " + k.value.substr(0, 20));
    const std::string target = "meta_api:" + k.ws;
    EXPECT_EQ(env.pop(target, 3), 3u) << env.log();  // 80 a second, a budget of 250
    EXPECT_EQ(env.accounted(std::stoi(k.ws), {target}), contacts_of(std::stoi(k.ws), 3));
    if (!k.logged.empty()) {
      EXPECT_TRUE(env.logged(k.logged)) << env.log();
    }
    if (k.field == "tier_limit") {
      EXPECT_EQ(env.c.str({"HGET", "wa:pace:" + target, "tier_limit"}), "250");
    }
  }
  EXPECT_EQ(env.c.integer({"ZCARD", "wa:meta:budget:34"}), 3);
  EXPECT_EQ(env.c.integer({"ZCARD", "wa:meta:budget:" + long_portfolio}), 3);
  expect_status_page(env);
  EXPECT_TRUE(env.daemon->running());
}

// ---- 3. and 4. Keys of the wrong type, stray sticky entries, and the status page ----

TEST(HostileV2, KeysOfTheWrongTypeHoldOnlyTheirTargetAndAreNamed) {
  HostileEnv env;
  for (const std::string ws : {"41", "42", "43"}) {
    env.session(ws, "x" + ws);
    env.c.cmd({"HSET", "wa:workspace:" + ws + ":pacing", "rate_per_hour", "36000"});
    push_job(env.c, job(ws, std::stoi(ws), 3, "webjs"));
  }
  env.session("49", "x49");  // its speed setting is not a hash: the config's values apply
  env.c.cmd({"SET", "wa:workspace:49:pacing", "not a hash"});
  push_job(env.c, job("49", 49, 3, "webjs"));
  env.session("50", "x50");  // its Meta hash is not a hash: Meta is not configured
  env.c.cmd({"SET", "wa:workspace:50:meta", "not a hash"});
  push_job(env.c, job("50", 50, 3, "auto"));
  env.c.cmd({"HSET", "wa:ready:x41", "not", "a list"});
  env.c.cmd({"SET", "wa:backlog:x42", "not a zset"});
  env.c.cmd({"RPUSH", "wa:pace:x43", "not", "a hash"});
  seed_meta(env.c, "44", true);
  env.c.cmd({"SET", "wa:meta:budget:44", "not a zset"});
  push_job(env.c, job("44", 44, 3, "meta_api"));
  env.c.cmd({"HSET", "wa:ready:" + kOddSession, "not", "a list"});
  env.run();
  env.expect_healthy_paced();
  for (const std::string key : {"wa:ready:x41", "wa:backlog:x42", "wa:pace:x43"}) {
    SCOPED_TRACE(key);
    EXPECT_TRUE(wait_until([&] { return env.logged(key); })) << env.log();
  }
  EXPECT_TRUE(wait_until([&] { return env.logged("wa:meta:budget:44"); })) << env.log();
  for (const std::string ws : {"41", "42", "43"})
    EXPECT_EQ(env.accounted(std::stoi(ws), {"x" + ws}), contacts_of(std::stoi(ws), 3)) << ws;
  EXPECT_EQ(env.accounted(44, {"meta_api:44"}), contacts_of(44, 3));
  EXPECT_GE(env.pop("x49", 1), 1u) << env.log();
  EXPECT_EQ(env.accounted(49, {"x49"}), contacts_of(49, 3));
  EXPECT_TRUE(env.logged("wa:workspace:49:pacing is not a hash")) << env.log();
  EXPECT_GE(env.pop("x50", 1), 1u) << env.log();
  EXPECT_EQ(env.accounted(50, {"x50"}), contacts_of(50, 3));
  EXPECT_TRUE(env.logged("wa:workspace:50:meta is not a hash")) << env.log();
  // The backlog that is not a zset fails the finish step's ZADD: its job is dead, naming the key
  // (README, Design choices: a failed write), and its contacts wait in the dispatch list.
  const auto dead = env.c.list("queues:wa-campaigns:dead");
  ASSERT_EQ(dead.size(), 1u) << env.log();
  EXPECT_NE(dead[0].find("ZADD wa:backlog:x42: WRONGTYPE"), std::string::npos) << dead[0];
  // A target whose release fails is looked at again later, not at every pass.
  for (const std::string t : {"x41", "x42", "x43", "meta_api:44"}) {
    const auto score = env.c.cmd({"ZSCORE", "wa:pace:due", t});
    if (!score.nil()) {
      EXPECT_GT(std::stod(score.str), now_ms() + 5000) << t;
    }
  }
  expect_status_page(env);
  EXPECT_TRUE(env.daemon->running());
}

TEST(HostileV2, APausedKeyThatIsNotASetPausesNothingAndIsNamed) {
  HostileEnv env;
  env.c.cmd({"SET", "wa:campaigns:paused", "1"});
  env.run();
  env.expect_healthy_paced();
  EXPECT_TRUE(env.logged("wa:campaigns:paused")) << env.log();
  expect_status_page(env);
  EXPECT_TRUE(env.daemon->running());
}

TEST(HostileV2, StickyEntriesNamingNoSessionOfTheJobAreNotSticky) {
  HostileEnv env;
  env.session("45", "x45a");
  env.session("45", "x45b");
  env.c.cmd({"HSET", "wa:workspace:45:pacing", "rate_per_hour", "36000"});
  const auto contacts = contacts_of(45, 6);
  env.c.cmd({"HSET", "wa:sticky:45", contacts[0], std::string(100 * 1024, 'z'), contacts[1], "h1",
             contacts[2], "nosuch", contacts[3], std::string(100 * 1024, 'z')});
  push_job(env.c, job("45", 45, 6, "webjs"));
  // A sticky key of another type: nothing is sticky in that workspace.
  env.session("47", "x47");
  env.c.cmd({"HSET", "wa:workspace:47:pacing", "rate_per_hour", "36000"});
  env.c.cmd({"SET", "wa:sticky:47", "not a hash"});
  push_job(env.c, job("47", 47, 3, "webjs"));
  for (const auto& c : contacts_of(48, 3))
    env.c.cmd({"RPUSH", "list:48", c});
  std::string listed = job("47", 48, 0, "webjs");
  const std::string inline_list = R"("contacts":[])";
  listed.replace(listed.find(inline_list), inline_list.size(), R"("contacts_key":"list:48")");
  push_job(env.c, listed);
  env.run();
  const auto d = wait_decision(env.c, "j45");
  ASSERT_TRUE(d) << env.log();
  // Dealt as if nothing were sticky: three each, in input order.
  const auto dist = distribution_of(*d);
  ASSERT_EQ(dist.size(), 2u);
  EXPECT_EQ(dist[0].count, 3);
  EXPECT_EQ(dist[1].count, 3);
  env.expect_healthy_paced();
  EXPECT_EQ(env.pop("x45a", 3) + env.pop("x45b", 3), 6u) << env.log();
  EXPECT_EQ(env.accounted(45, {"x45a", "x45b"}), contacts);
  EXPECT_TRUE(env.accounted(45, {"h1"}).empty());
  // The sticky key of another type: both jobs served, neither dead, nothing written to the key.
  EXPECT_EQ(env.pop("x47", 6), 6u) << env.log();
  EXPECT_EQ(env.accounted(47, {"x47"}), contacts_of(47, 3));
  EXPECT_EQ(env.accounted(48, {"x47"}), contacts_of(48, 3));
  EXPECT_TRUE(env.logged("wa:sticky:47 cannot be read")) << env.log();
  EXPECT_EQ(env.c.integer({"LLEN", "queues:wa-campaigns:dead"}), 0) << env.log();
  EXPECT_EQ(env.c.str({"GET", "wa:sticky:47"}), "not a hash");
  for (const auto& c : contacts) {  // now sticky to the session that got them
    const std::string s = env.c.str({"HGET", "wa:sticky:45", c});
    EXPECT_TRUE(s == "x45a" || s == "x45b") << c << " " << s.substr(0, 20);
  }
  expect_status_page(env);
  EXPECT_TRUE(env.daemon->running());
}

// The health cycle (not pinned here) reads and writes each session's pace state: keys of the
// wrong type there hold no other session's health.
TEST(HostileV2, PaceKeysOfTheWrongTypeDoNotStopTheHealthCycle) {
  TempDir dir;
  RedisServer redis{dir};
  Client c{redis.socket()};
  seed_session(c, {.id = "h1", .workspace = "1", .primary = true});
  seed_session(c, {.id = "x43", .workspace = "43", .primary = true});
  c.cmd({"RPUSH", "wa:pace:x43", "not", "a hash"});
  c.cmd({"SET", "wa:stats:released:x43", "not a hash"});
  c.cmd({"SET", "wa:health:x43", "not a hash"});
  Daemon d(dir, redis.socket(), kFastConfig + "pacing: {enabled: true}\n");
  d.start();
  // Scored at start-up, then again by later cycles (every 0.5 s; the pace is judged from the
  // second on).
  std::string first;
  ASSERT_TRUE(wait_until([&] {
    first = c.str({"HGET", "wa:session:h1", "health_updated_at"});
    return !first.empty();
  })) << d.log();
  EXPECT_TRUE(wait_until(
      [&] {
        return c.str({"HGET", "wa:session:h1", "health_updated_at"}) != first;
      },
      std::chrono::seconds(5)))
      << d.log();
  EXPECT_FALSE(c.str({"HGET", "wa:session:x43", "health_score"}).empty()) << d.log();
  EXPECT_TRUE(d.running());
}

}  // namespace
}  // namespace wa::test
