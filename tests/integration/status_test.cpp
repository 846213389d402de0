// The status page (CONTRACT.md section 12) against a real wa-routerd and redis-server:
// GET /status.json reports the seeded state (queue depths, sessions with their health, pace,
// backlog and ready list, the active campaigns' progress, alerts and dead jobs, newest first), and
// GET /status is one HTML page that names no other host.
#include <gtest/gtest.h>

#include <regex>

#include "e2e_util.hpp"
#include "fault_util.hpp"

namespace wa::test {
namespace {

using fault::free_port;
using fault::http_get;

std::string job(const std::string& id, const std::string& campaign, const std::string& ws,
                int contacts) {
  std::string list;
  for (int i = 1; i <= contacts; ++i)
    list += (i > 1 ? "," : "") + std::to_string(i);
  return R"({"job_id":")" + id + R"(","campaign_id":)" + campaign + R"(,"workspace_id":")" + ws +
         R"(","template_mode":"direct","contacts":[)" + list + "]}";
}

struct StatusEnv : Env {
  int port = free_port();
  StatusEnv() {
    pin_health(c);  // the seeded scores stay
    seed_session(c, {.id = "s1", .workspace = "1", .primary = true, .health = 95});
    seed_session(c, {.id = "s2", .workspace = "1", .health = 72});
    seed_session(c, {.id = "s3", .workspace = "2", .status = "disconnected", .health = 40});
    // One release per session at once, the next an hour later: the rest stays in the backlog.
    c.cmd({"HSET", "wa:workspace:1:pacing", "rate_per_hour", "1"});
    start(paced_http_config(port));
    wait_until([&] { return http_get(port, "/healthz").has_value(); });
  }
  // The document, once `done` holds for it (polled; the page's cache is 1 s).
  std::optional<json::object> status_when(const std::function<bool(const json::object&)>& done) {
    std::optional<json::object> got;
    wait_until(
        [&] {
          const auto r = http_get(port, "/status.json");
          if (!r || r->status != 200) return false;
          got = parse_object(r->body);
          return done(*got);
        },
        std::chrono::seconds(15));
    return got;
  }
};

const json::object* find_by(const json::value& array, std::string_view field,
                            const json::value& value) {
  for (const json::value& e : array.as_array()) {
    if (e.as_object().if_contains(field) && e.as_object().at(field) == value) return &e.as_object();
  }
  return nullptr;
}

const json::object& session_of(const json::object& doc, const std::string& ws,
                               const std::string& sid) {
  const json::object* w = find_by(doc.at("workspaces"), "id", json::value(ws));
  if (w == nullptr) throw std::runtime_error("no workspace " + ws);
  const json::object* s = find_by(w->at("sessions"), "id", json::value(sid));
  if (s == nullptr) throw std::runtime_error("no session " + sid);
  return *s;
}

TEST(StatusJson, ReportsSessionsCampaignsAndDeadJobs) {
  StatusEnv env;
  push_job(env.c, job("j1", "501", "1", 10));
  push_job(env.c, "not json at all");
  push_job(env.c, R"({"job_id":"bad-1","campaign_id":777,"workspace_id":"1","template_mode":"x"})");
  // Both sessions got their first release (and nothing more within the hour).
  ASSERT_TRUE(wait_until([&] {
    return env.c.integer({"LLEN", "wa:ready:s1"}) == 1 &&
           env.c.integer({"LLEN", "wa:ready:s2"}) == 1;
  })) << env.log();
  const auto doc = env.status_when([](const json::object& d) {
    return d.at("queue").at("dead") == json::value(2) && !d.at("campaigns").as_array().empty();
  });
  ASSERT_TRUE(doc) << env.log();
  const json::object& q = doc->at("queue").as_object();
  EXPECT_EQ(q.at("waiting"), json::value(0));
  EXPECT_EQ(q.at("delayed"), json::value(0));
  EXPECT_EQ(q.at("in_hand"), json::value(0));
  EXPECT_GE(doc->at("throughput").at("jobs_per_minute").to_number<int>(), 3);

  const json::object& s1 = session_of(*doc, "1", "s1");
  EXPECT_EQ(s1.at("health_score"), json::value(95));
  EXPECT_EQ(s1.at("status"), json::value("connected"));
  EXPECT_EQ(s1.at("ready"), json::value(1));
  EXPECT_EQ(s1.at("backlog"), json::value(env.c.integer({"LLEN", "wa:dispatch:501:s1"})));
  EXPECT_EQ(s1.at("rate_per_hour"), json::value(1.0));
  EXPECT_EQ(s1.at("released_today"), json::value(1));
  EXPECT_EQ(session_of(*doc, "1", "s2").at("health_score"), json::value(72));
  const json::object& s3 = session_of(*doc, "2", "s3");
  EXPECT_EQ(s3.at("health_score"), json::value(40));
  EXPECT_EQ(s3.at("status"), json::value("disconnected"));
  EXPECT_EQ(s3.at("backlog"), json::value(0));

  ASSERT_EQ(doc->at("campaigns").as_array().size(), 1u) << json::serialize(*doc);
  const json::object& c = doc->at("campaigns").as_array()[0].as_object();
  EXPECT_EQ(c.at("campaign_id"), json::value(501));
  EXPECT_EQ(c.at("workspace_id"), json::value("1"));
  EXPECT_EQ(c.at("total"), json::value(10));
  EXPECT_EQ(c.at("released"), json::value(2));  // one per session
  EXPECT_EQ(c.at("ready"), json::value(2));
  EXPECT_TRUE(c.at("predicted_minutes").is_number()) << json::serialize(c);
  EXPECT_TRUE(c.at("elapsed_minutes").is_number()) << json::serialize(c);

  const json::array& dead = doc->at("dead").as_array();
  ASSERT_EQ(dead.size(), 2u);
  const json::object& newest = dead[0].as_object();  // the bad template_mode, pushed last
  EXPECT_EQ(newest.at("job_id"), json::value("bad-1"));
  EXPECT_EQ(newest.at("campaign_id"), json::value(777));
  EXPECT_NE(str_of(newest, "error").find("template_mode"), std::string::npos);
  EXPECT_TRUE(is_iso8601(str_of(newest, "failed_at")));
  EXPECT_FALSE(dead[1].as_object().contains("job_id"));
  EXPECT_FALSE(str_of(dead[1].as_object(), "error").empty());
}

TEST(StatusJson, AFinishedCampaignLeavesTheList) {
  StatusEnv env;
  env.c.cmd({"HSET", "wa:workspace:1:pacing", "rate_per_hour", "36000"});
  push_job(env.c, job("j1", "601", "1", 2));
  ASSERT_TRUE(env.status_when([](const json::object& d) {
    return d.at("throughput").at("jobs_per_minute") == json::value(1);
  })) << env.log();
  // A sender pops every contact: nothing waits any more.
  ASSERT_TRUE(wait_until([&] {
    for (const char* s : {"wa:ready:s1", "wa:ready:s2"})
      env.c.cmd({"DEL", s});
    return env.c.integer({"LLEN", "wa:dispatch:601:s1"}) +
               env.c.integer({"LLEN", "wa:dispatch:601:s2"}) ==
           0;
  })) << env.log();
  for (const char* s : {"wa:ready:s1", "wa:ready:s2"})
    env.c.cmd({"DEL", s});
  const auto doc =
      env.status_when([](const json::object& d) { return d.at("campaigns").as_array().empty(); });
  ASSERT_TRUE(doc) << env.log();
  EXPECT_EQ(doc->at("active_total"), json::value(1));  // the app has not ZREMed it yet
}

TEST(StatusJson, AlertsOfTheHealthCycleAreShown) {
  TempDir dir;
  RedisServer redis{dir};
  Client c{redis.socket()};
  seed_session(c, {.id = "s1"});
  const int port = free_port();
  Daemon d(dir, redis.socket(), paced_http_config(port));
  d.start();
  ASSERT_TRUE(wait_until([&] {
    return !c.str({"HGET", "wa:session:s1", "health_score"}).empty();
  })) << d.log();
  for (int i = 0; i < 10; ++i) {
    c.cmd({"RPUSH", "wa:events",
           R"({"session_id":"s1","workspace_id":"1","provider":"webjs","status":"failed"})"});
  }
  std::optional<json::object> doc;
  ASSERT_TRUE(wait_until(
      [&] {
        const auto r = http_get(port, "/status.json");
        if (!r || r->status != 200) return false;
        doc = parse_object(r->body);
        return !doc->at("alerts").as_array().empty();
      },
      std::chrono::seconds(10)))
      << d.log();
  const json::object& a = doc->at("alerts").as_array()[0].as_object();
  EXPECT_EQ(str_of(a, "event"), "alert");
  EXPECT_EQ(str_of(a, "session_id"), "s1");
  EXPECT_EQ(c.integer({"LLEN", "wa:alerts:recent"}), 1);
}

TEST(StatusPage, IsOneHtmlPageNamingNoOtherHost) {
  StatusEnv env;
  const auto r = http_get(env.port, "/status");
  ASSERT_TRUE(r) << env.log();
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->headers.find("Content-Type: text/html"), std::string::npos) << r->headers;
  EXPECT_NE(r->body.find("<html"), std::string::npos);
  EXPECT_NE(r->body.find("status.json"), std::string::npos);
  EXPECT_EQ(r->body.find("http://"), std::string::npos);
  EXPECT_EQ(r->body.find("https://"), std::string::npos);
  const std::regex external(R"((src|href|action)\s*=\s*["']?\s*//)", std::regex::icase);
  EXPECT_FALSE(std::regex_search(r->body, external));
  EXPECT_EQ(r->body.find("innerHTML"), std::string::npos) << "data goes in as text only";
  const auto j = http_get(env.port, "/status.json");
  ASSERT_TRUE(j);
  EXPECT_EQ(j->status, 200);
  EXPECT_NE(j->headers.find("Content-Type: application/json"), std::string::npos) << j->headers;
}

TEST(StatusJson, RedisDownIs503WithTheReason) {
  StatusEnv env;
  ASSERT_TRUE(env.status_when([](const json::object&) { return true; }));
  env.redis.stop();
  std::optional<fault::HttpResponse> r;
  ASSERT_TRUE(wait_until([&] {
    r = http_get(env.port, "/status.json");
    return r && r->status == 503;
  })) << env.log();
  EXPECT_NE(parse_object(r->body).at("error").as_string().size(), 0u);
}

}  // namespace
}  // namespace wa::test
