// Message events, the health cycle, alerts and provider switching end to end (CONTRACT.md
// sections 2, 3 and 6).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>
#include <set>
#include <thread>

#include "core/events.hpp"
#include "e2e_util.hpp"
#include "switch_util.hpp"

namespace wa::test {
namespace {

using Strings = std::vector<std::string>;
using namespace std::chrono_literals;

const std::string kSixMetrics[] = {"connection_stability", "message_success_rate",
                                   "recent_activity",      "error_rate",
                                   "response_time",        "uptime"};

std::string event(const std::string& session, const std::string& status,
                  const std::string& extra = "", const std::string& workspace = "1") {
  return R"({"session_id":")" + session + R"(","workspace_id":")" + workspace +
         R"(","provider":"webjs","status":")" + status + "\"" + extra + "}";
}

void push_events(Client& c, const Strings& events) {
  std::vector<std::string> args{"RPUSH", "wa:events"};
  args.insert(args.end(), events.begin(), events.end());
  c.cmd(args);
}

Strings repeat(const std::string& e, int n) {
  return Strings(static_cast<std::size_t>(n), e);
}

// The stored health_metrics of a session, or an empty object.
json::object metrics_of(Client& c, const std::string& session) {
  const std::string text = c.str({"HGET", "wa:session:" + session, "health_metrics"});
  if (text.empty()) return {};
  return parse_object(text);
}

double metric(Client& c, const std::string& session, const std::string& name) {
  const json::object m = metrics_of(c, session);
  const json::value* v = m.if_contains(name);
  return v != nullptr && v->is_number() ? v->to_number<double>() : -1.0;
}

int score_of(Client& c, const std::string& session) {
  const std::string s = c.str({"HGET", "wa:session:" + session, "health_score"});
  return s.empty() ? -1 : std::stoi(s);
}

std::map<std::string, std::string> hash_of(Client& c, const std::string& key) {
  const auto flat = c.cmd({"HGETALL", key}).strings();
  std::map<std::string, std::string> out;
  for (std::size_t i = 0; i + 1 < flat.size(); i += 2)
    out[flat[i]] = flat[i + 1];
  return out;
}

std::string session_id_of(const json::object& d) {
  const json::value* s = d.if_contains("session");
  return s != nullptr && s->is_object() ? str_of(s->get_object(), "id") : "";
}

// A TCP port that was free a moment ago.
int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

// GET http://127.0.0.1:port/path; the whole response, or "" when the connection fails.
std::string http_get(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return "";
  }
  const std::string req =
      "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
  if (write(fd, req.data(), req.size()) < 0) {
    close(fd);
    return "";
  }
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0)
    out.append(buf, static_cast<std::size_t>(n));
  close(fd);
  return out;
}

// The value of a metric line "name value" in a Prometheus text page, or -1.
double prom_value(const std::string& page, const std::string& name) {
  std::size_t at = 0;
  while ((at = page.find(name + " ", at)) != std::string::npos) {
    if (at == 0 || page[at - 1] == '\n') return std::stod(page.substr(at + name.size() + 1));
    at += name.size();
  }
  return -1;
}

// ---------------------------------------------------------------------------------------------
// Events and statistics.

TEST(Events, AreConsumedIntoTheLastHourStatisticsAndDailyCounters) {
  Env env;
  seed_session(env.c, {.id = "s1"});
  seed_session(env.c, {.id = "s2", .workspace = "2"});
  seed_session(env.c, {.id = "s3"});  // clean: s1 breaks the switch error-rate threshold
  const std::string rt = R"(,"response_time_ms":1000)";
  Strings evs;
  for (const char* st :
       {"sent", "sent", "sent", "delivered", "delivered", "read", "failed", "failed"}) {
    evs.push_back(event("s1", st, rt));
  }
  // Meta messages of workspace 1: 2 of 4 succeed (50 %).
  for (const char* st : {"delivered", "failed", "read", "failed"}) {
    evs.push_back(R"({"workspace_id":"1","provider":"meta_api","status":")" + std::string(st) +
                  "\"}");
  }
  // s2: a failure two hours ago is out of the window; a delivery 30 minutes ago is in it.
  const long long now = now_seconds();
  evs.push_back(event("s2", "failed", R"(,"at":)" + std::to_string(now - 7200), "2"));
  evs.push_back(event("s2", "delivered", R"(,"at":)" + std::to_string(now - 1800), "2"));
  push_events(env.c, evs);
  env.start();

  ASSERT_TRUE(wait_until([&] { return env.c.integer({"LLEN", "wa:events"}) == 0; })) << env.log();
  // s1: 6 of 8 successful, 2 failed, every response in 1000 ms.
  ASSERT_TRUE(wait_until([&] { return metric(env.c, "s1", "error_rate") == 25.0; })) << env.log();
  EXPECT_DOUBLE_EQ(metric(env.c, "s1", "message_success_rate"), 75.0);
  EXPECT_DOUBLE_EQ(metric(env.c, "s1", "response_time"), 80.0);
  EXPECT_DOUBLE_EQ(metric(env.c, "s1", "connection_stability"), 100.0);
  // (0.35·100 + 0.25·75 + 0.20·100 + 0.15·80 + 0.15·100) / 1.10 − 0.20·25 = 86.59 → 87
  EXPECT_EQ(score_of(env.c, "s1"), 87);
  ASSERT_TRUE(wait_until([&] { return metric(env.c, "s2", "message_success_rate") == 100.0; }))
      << metrics_of(env.c, "s2");
  EXPECT_DOUBLE_EQ(metric(env.c, "s2", "error_rate"), 0.0);
  EXPECT_DOUBLE_EQ(metric(env.c, "s2", "response_time"), 90.0);  // none reported one

  // The workspace's daily counters feed performance_score: best of webjs 75 % and Meta 50 %.
  push_job(
      env.c,
      R"({"job_id":"p","campaign_id":1,"workspace_id":"1","template_mode":"direct","contacts":[1]})");
  auto d = wait_decision(env.c, "p");
  ASSERT_TRUE(d) << env.log();
  EXPECT_DOUBLE_EQ(d->at("factors").at("performance_score").to_number<double>(), 75.0);
  // s1 (error rate 25 % > error_rate_threshold 10) is not eligible: s3 serves.
  EXPECT_EQ(str_of(*d, "type"), "webjs");
  EXPECT_EQ(session_id_of(*d), "s3");
  EXPECT_EQ(distribution_of(*d), (std::vector<DistEntry>{{"s3", 1, "wa:dispatch:1:s3"}}));
}

TEST(Events, MalformedEventsAreDroppedAndCountedWithoutBlockingGoodOnes) {
  Env env;
  seed_session(env.c, {.id = "s1"});
  const int port = free_port();
  ASSERT_GT(port, 0);
  push_events(env.c, {
                         event("s1", "sent"),
                         "garbage",
                         "[1]",
                         R"({"workspace_id":"1","provider":"sms","status":"sent"})",
                         R"({"workspace_id":"1","provider":"webjs","status":"sent"})",
                         event("s1", "bounced"),
                         event("s1", "failed"),
                     });
  env.start(kFastConfig + "metrics: {listen: \"127.0.0.1:" + std::to_string(port) + "\"}\n");
  ASSERT_TRUE(wait_until([&] { return env.c.integer({"LLEN", "wa:events"}) == 0; })) << env.log();
  // Only the two good events count: one sent, one failed.
  ASSERT_TRUE(wait_until([&] { return metric(env.c, "s1", "error_rate") == 50.0; }))
      << metrics_of(env.c, "s1") << env.log();
  EXPECT_DOUBLE_EQ(metric(env.c, "s1", "message_success_rate"), 50.0);
  std::string page;
  ASSERT_TRUE(wait_until([&] {
    page = http_get(port, "/metrics");
    return prom_value(page, "wa_events_malformed_total") == 5;
  })) << page;
  EXPECT_EQ(prom_value(page, "wa_events_consumed_total"), 7);
  EXPECT_NE(env.log().find("malformed"), std::string::npos);
  // More good events are still consumed afterwards.
  push_events(env.c, {event("s1", "sent"), event("s1", "sent")});
  ASSERT_TRUE(wait_until([&] { return metric(env.c, "s1", "error_rate") == 25.0; }))
      << metrics_of(env.c, "s1");
}

// The daemon's minute buckets (wa:stats:session:<id>): field "<minute>", value the nine counters
// packed as Lua's struct "<I4I4I4I4I4dI4dI4" (queue/codec.hpp). (total, failed) per field.
std::map<std::string, std::pair<std::uint32_t, std::uint32_t>> buckets_of(Client& c,
                                                                          const std::string& id) {
  auto u32 = [](const std::string& v, std::size_t at) {
    std::uint32_t x = 0;
    for (std::size_t i = 0; i < 4; ++i)
      x |= static_cast<std::uint32_t>(static_cast<unsigned char>(v[at + i])) << (8 * i);
    return x;
  };
  std::map<std::string, std::pair<std::uint32_t, std::uint32_t>> out;
  for (const auto& [field, value] : hash_of(c, "wa:stats:session:" + id)) {
    out[field] = value.size() == 44 ? std::make_pair(u32(value, 0), u32(value, 16))
                                    : std::make_pair(~0u, ~0u);  // not a packed bucket
  }
  return out;
}

// Sum of `field` over every wa:stats:daily:* hash.
long long daily_sum(Client& c, const std::string& field) {
  return c.integer({"EVAL",
                    "local t = 0 "
                    "for _, k in ipairs(redis.call('KEYS', 'wa:stats:daily:*')) do "
                    "t = t + (tonumber(redis.call('HGET', k, ARGV[1])) or 0) end return t",
                    "0", field});
}

TEST(Events, MinuteBucketsAddUpAcrossBatchesAndOldMinutesExpire) {
  Env env;
  seed_session(env.c, {.id = "s1"});
  const long long now = now_seconds();
  const long long m = now / 60;
  const std::string key = "wa:stats:session:s1";
  // Buckets of the earlier layout (one field per counter) still count until they are stale.
  env.c.cmd({"HSET", key, std::to_string(m - 3) + ":t", "10", std::to_string(m - 3) + ":f", "10",
             std::to_string(m - 100) + ":t", "5"});
  // 12,000 events in one minute, over three batches of the event loop: 3,000 failed.
  const std::string at = R"(,"at":)" + std::to_string(m * 60 - 120);
  for (int chunk = 0; chunk < 12; ++chunk) {
    Strings evs = repeat(event("s1", "sent", at), 750);
    for (const auto& e : repeat(event("s1", "failed", at), 250))
      evs.push_back(e);
    push_events(env.c, evs);
  }
  // Two hours ago: a bucket that is stale at once. An hour ahead (a clock ahead of ours): kept,
  // not counted yet.
  push_events(env.c, {event("s1", "failed", R"(,"at":)" + std::to_string(now - 7200)),
                      event("s1", "failed", R"(,"at":)" + std::to_string(now + 3600))});
  env.start();
  ASSERT_TRUE(wait_until([&] { return env.c.integer({"LLEN", "wa:events"}) == 0; })) << env.log();
  const std::string stale = std::to_string((now - 7200) / 60);
  const std::string ahead = std::to_string((now + 3600) / 60);
  ASSERT_TRUE(wait_until([&] {
    const auto b = buckets_of(env.c, "s1");
    return !b.contains(stale) && !b.contains(std::to_string(m - 100) + ":t");
  })) << env.log();
  const auto b = buckets_of(env.c, "s1");
  EXPECT_EQ(b.at(std::to_string(m - 2)), std::make_pair(12000u, 3000u));
  EXPECT_EQ(b.at(ahead), std::make_pair(1u, 1u));
  EXPECT_TRUE(b.contains(std::to_string(m - 3) + ":t"));  // legacy, still in the hour
  EXPECT_EQ(b.size(), 4u);                                // m-2, ahead, and the two legacy
  const long long ttl = env.c.integer({"TTL", key});
  EXPECT_GT(ttl, 7000);
  EXPECT_LE(ttl, 7200);
  // The last hour: the 12,000 plus the 10 legacy failures; not the stale or future ones.
  ASSERT_TRUE(wait_until([&] {
    return std::abs(metric(env.c, "s1", "error_rate") - 100.0 * 3010 / 12010) < 1e-9;
  })) << metrics_of(env.c, "s1");
  EXPECT_NEAR(metric(env.c, "s1", "message_success_rate"), 100.0 * 9000 / 12010, 1e-9);
  // Daily counters count every event, whatever its minute.
  EXPECT_EQ(daily_sum(env.c, "total"), 12002);
  EXPECT_EQ(daily_sum(env.c, "failed"), 3002);
  EXPECT_EQ(daily_sum(env.c, "successful"), 9000);
}

// CONTRACT.md section 2: per workspace, provider and day, total, successful, delivered, read,
// failed, delivery time sum and count, kept retention_period_days; a malformed event is counted.
TEST(Events, DailyCountersKeepEveryFieldForTheRetentionPeriod) {
  Env env;
  seed_session(env.c, {.id = "s9", .workspace = "9"});
  const long long now = now_seconds();
  const std::string at = R"(,"at":)" + std::to_string(now);
  push_events(
      env.c, {event("s9", "sent", at + R"(,"response_time_ms":100)", "9"),
              event("s9", "delivered", at + R"(,"delivery_time_ms":2000)", "9"),
              event("s9", "read", at + R"(,"delivery_time_ms":1000.5,"response_time_ms":300)", "9"),
              event("s9", "failed", at, "9"), R"({"status":"lost"})"});
  env.start();
  ASSERT_TRUE(wait_until([&] { return env.c.integer({"LLEN", "wa:events"}) == 0; })) << env.log();
  const std::string key = "wa:stats:daily:9:webjs:" + core::utc_day(static_cast<double>(now));
  ASSERT_TRUE(wait_until([&] { return env.c.str({"HGET", key, "total"}) == "4"; })) << env.log();
  const std::map<std::string, std::string> expected{{"total", "4"},
                                                    {"successful", "3"},
                                                    {"delivered", "2"},
                                                    {"read", "1"},
                                                    {"failed", "1"},
                                                    {"response_time_sum", "400"},
                                                    {"response_time_count", "2"},
                                                    {"delivery_time_sum", "3000.5"},
                                                    {"delivery_time_count", "2"}};
  for (const auto& [field, value] : expected)
    EXPECT_EQ(env.c.str({"HGET", key, field}), value) << field;
  const long long ttl = env.c.integer({"TTL", key});  // retention_period_days: 30 by default
  EXPECT_GT(ttl, 30LL * 86400 - 60);
  EXPECT_LE(ttl, 31LL * 86400);
  EXPECT_EQ(env.c.str({"GET", "wa:stats:events:malformed"}), "1");
}

// A statistics key the daemon cannot write (another type) loses that key's counters, not the
// batch: the other counters are written once and the events consumed, not applied again.
TEST(Events, AStatisticsKeyOfAnotherTypeIsSkippedAndTheBatchAppliedOnce) {
  Env env;
  seed_session(env.c, {.id = "s1"});
  seed_session(env.c, {.id = "s9"});
  env.c.cmd({"SET", "wa:stats:session:s9", "not a hash"});
  Strings evs = repeat(event("s1", "sent"), 3);
  for (const auto& e : repeat(event("s9", "failed"), 2))
    evs.push_back(e);
  push_events(env.c, evs);
  env.start();
  ASSERT_TRUE(wait_until([&] { return env.c.integer({"LLEN", "wa:events"}) == 0; })) << env.log();
  ASSERT_TRUE(wait_until([&] { return metric(env.c, "s1", "message_success_rate") == 100.0; }))
      << env.log();
  std::this_thread::sleep_for(1500ms);  // more event loop rounds: nothing is applied again
  std::uint32_t s1_total = 0;
  for (const auto& [field, tf] : buckets_of(env.c, "s1"))
    s1_total += tf.first;
  EXPECT_EQ(s1_total, 3u);
  EXPECT_EQ(env.c.str({"GET", "wa:stats:session:s9"}), "not a hash");
  EXPECT_EQ(daily_sum(env.c, "total"), 5);
  EXPECT_EQ(daily_sum(env.c, "failed"), 2);
  EXPECT_NE(env.log().find("statistics writes skipped"), std::string::npos) << env.log();
}

// Exactly once: a daemon frozen with a batch read ahead (SIGSTOP) while its lock expires,
// another that takes over and is killed mid-flow, then both running: every event is counted
// once in the session buckets and the daily counters.
TEST(Events, EachEventCountsOnceThroughAFrozenDaemonAKillAndASecondDaemon) {
  Env env;
  const Strings sessions{"s1", "s2", "s3", "s4"};
  for (const auto& s : sessions)
    seed_session(env.c, {.id = s});
  const long long now = now_seconds();
  // Irregular data (a pseudo-random session and status per event), so that counting one batch
  // in place of another shows in the per-session counts, not only in the order of things.
  long long pushed = 0, failed = 0;
  std::map<std::string, std::pair<long long, long long>> expected;  // session: total, failed
  std::uint32_t state = 20261125;
  auto next = [&] { return state = state * 1103515245u + 12345u, (state >> 16) & 0x7fff; };
  auto push = [&](int n) {
    for (int done = 0; done < n; done += 1000) {
      Strings evs;
      for (int i = 0; i < 1000; ++i, ++pushed) {
        const std::string& s = sessions[next() % sessions.size()];
        const bool f = next() % 7 == 0;
        failed += f ? 1 : 0;
        expected[s].first += 1;
        expected[s].second += f ? 1 : 0;
        evs.push_back(event(s, f ? "failed" : "delivered",
                            std::string(f ? "" : R"(,"delivery_time_ms":1500)") + R"(,"at":)" +
                                std::to_string(now - 900 + pushed % 600)));
      }
      push_events(env.c, evs);
    }
  };
  push(200000);
  const std::string yaml = "health: {check_interval: 120}\nlogging: {level: info}\n";
  Daemon a(env.dir, env.redis.socket(), yaml, "a");
  Daemon b(env.dir, env.redis.socket(), yaml, "b");
  auto left = [&] { return env.c.integer({"LLEN", "wa:events"}); };

  a.start();
  ASSERT_TRUE(wait_until([&] { return left() < pushed; })) << a.log();
  a.signal(SIGSTOP);  // mid-flow: with the next batch read and aggregated
  const long long frozen_at = left();
  env.c.cmd({"DEL", "wa:lock:events"});  // as if its lock had expired
  b.start();
  ASSERT_TRUE(wait_until([&] { return left() <= frozen_at - 10000; })) << b.log();
  b.kill();
  const long long killed_at = left();
  env.c.cmd({"DEL", "wa:lock:events"});
  a.signal(SIGCONT);
  b.start();
  push(20000);
  ASSERT_TRUE(wait_until([&] { return left() == 0; }, 30s)) << a.log() << b.log();
  EXPECT_EQ(a.stop(), 0) << a.log();
  EXPECT_EQ(b.stop(), 0) << b.log();
  SCOPED_TRACE("frozen with " + std::to_string(frozen_at) + " events left, killed with " +
               std::to_string(killed_at));

  EXPECT_EQ(daily_sum(env.c, "total"), pushed);
  EXPECT_EQ(daily_sum(env.c, "failed"), failed);
  EXPECT_EQ(daily_sum(env.c, "delivered"), pushed - failed);
  EXPECT_EQ(daily_sum(env.c, "delivery_time_count"), pushed - failed);
  for (const auto& s : sessions) {
    SCOPED_TRACE(s);
    long long total = 0, bucket_failed = 0;
    for (const auto& [field, tf] : buckets_of(env.c, s)) {
      total += tf.first;
      bucket_failed += tf.second;
    }
    EXPECT_EQ(total, expected[s].first);
    EXPECT_EQ(bucket_failed, expected[s].second);
  }
  EXPECT_EQ(env.c.str({"GET", "wa:stats:events:malformed"}), "");
}

// ---------------------------------------------------------------------------------------------
// The health cycle.

TEST(Health, CycleWritesEverySessionAndNeverCreatesAMissingOne) {
  Env env;
  seed_session(env.c, {.id = "s1"});
  seed_session(env.c, {.id = "s2", .status = "disconnected"});
  seed_session(env.c, {.id = "s3", .workspace = "2", .status = "error"});
  env.c.cmd({"SADD", "wa:workspace:1:sessions", "ghost"});
  // Events for the missing session must not create its hash either.
  push_events(env.c, repeat(event("ghost", "failed"), 3));
  std::map<std::string, std::map<std::string, std::string>> before;
  for (const std::string s : {"s1", "s2", "s3"})
    before[s] = hash_of(env.c, "wa:session:" + s);
  env.start();
  const Strings ids{"s1", "s2", "s3"};
  ASSERT_TRUE(wait_until([&] {
    return std::all_of(ids.begin(), ids.end(),
                       [&](const auto& s) { return score_of(env.c, s) >= 0; });
  })) << env.log();
  const long long now = now_seconds();
  const std::map<std::string, double> stability{{"s1", 100}, {"s2", 20}, {"s3", 0}};
  for (const auto& s : ids) {
    SCOPED_TRACE(s);
    auto h = hash_of(env.c, "wa:session:" + s);
    const std::string score = h["health_score"];
    ASSERT_FALSE(score.empty());
    EXPECT_TRUE(std::all_of(score.begin(), score.end(), ::isdigit)) << score;  // an integer
    EXPECT_LE(std::stoi(score), 100);
    const std::string updated = h["health_updated_at"];
    EXPECT_TRUE(!updated.empty() && std::all_of(updated.begin(), updated.end(), ::isdigit))
        << updated;
    EXPECT_NEAR(static_cast<double>(std::stoll(updated)), static_cast<double>(now), 5.0);
    const json::object m = parse_object(h["health_metrics"]);
    EXPECT_EQ(m.size(), 6u) << h["health_metrics"];
    for (const auto& name : kSixMetrics) {
      ASSERT_TRUE(m.contains(name)) << name;
      ASSERT_TRUE(m.at(name).is_number()) << name;
      EXPECT_GE(m.at(name).to_number<double>(), 0.0);
      EXPECT_LE(m.at(name).to_number<double>(), 100.0);
    }
    EXPECT_DOUBLE_EQ(m.at("connection_stability").to_number<double>(), stability.at(s));
    // No other field is touched.
    for (const char* f : {"health_score", "health_updated_at", "health_metrics"})
      h.erase(f);
    EXPECT_EQ(h, before[s]);
  }
  // connected, active a minute ago, up all along: (35 + 20 + 20 + 13.5 + 15) / 1.1 → 94.
  EXPECT_EQ(score_of(env.c, "s1"), 94);
  EXPECT_GT(score_of(env.c, "s1"), score_of(env.c, "s2"));
  EXPECT_GT(score_of(env.c, "s2"), score_of(env.c, "s3"));
  ASSERT_TRUE(wait_until([&] { return env.c.integer({"LLEN", "wa:events"}) == 0; }));

  // Every check_interval: a status change shows at the next cycle.
  env.c.cmd({"HSET", "wa:session:s1", "status", "connecting"});
  ASSERT_TRUE(wait_until([&] { return metric(env.c, "s1", "connection_stability") == 50.0; }, 3s))
      << env.log();
  EXPECT_LT(score_of(env.c, "s1"), 94);
  EXPECT_EQ(env.c.integer({"EXISTS", "wa:session:ghost"}), 0);
  EXPECT_NE(env.log().find("ghost"), std::string::npos);
}

TEST(Health, MetricsFollowTheirDefinitions) {
  Env env;
  const long long now = now_seconds();
  seed_session(env.c, {.id = "a10", .last_activity_ago = 600});   // m = 10 → 80
  seed_session(env.c, {.id = "a30", .last_activity_ago = 1800});  // m = 30 → 60
  seed_session(env.c, {.id = "a90", .last_activity_ago = 5400});  // m = 90 → 30
  seed_session(env.c, {.id = "never", .last_activity_ago = -1});  // never active → 0
  // Disconnected half-way through its life: uptime 50.
  seed_session(env.c, {.id = "half", .status = "disconnected"});
  env.c.cmd({"HSET", "wa:session:half", "disconnected_at", std::to_string(now - 43200)});
  // Connected since 6 hours ago, created a day ago: uptime 25.
  seed_session(env.c, {.id = "late"});
  env.c.cmd({"HSET", "wa:session:late", "last_connected_at", std::to_string(now - 21600)});
  env.start();
  const Strings ids{"a10", "a30", "a90", "never", "half", "late"};
  ASSERT_TRUE(wait_until([&] {
    return std::all_of(ids.begin(), ids.end(),
                       [&](const auto& s) { return score_of(env.c, s) >= 0; });
  })) << env.log();
  EXPECT_DOUBLE_EQ(metric(env.c, "a10", "recent_activity"), 80.0);
  EXPECT_DOUBLE_EQ(metric(env.c, "a30", "recent_activity"), 60.0);
  EXPECT_DOUBLE_EQ(metric(env.c, "a90", "recent_activity"), 30.0);
  EXPECT_DOUBLE_EQ(metric(env.c, "never", "recent_activity"), 0.0);
  EXPECT_NEAR(metric(env.c, "half", "uptime"), 50.0, 0.1);
  EXPECT_DOUBLE_EQ(metric(env.c, "half", "connection_stability"), 20.0);
  EXPECT_NEAR(metric(env.c, "late", "uptime"), 25.0, 0.1);
  for (const auto& s : ids) {
    EXPECT_DOUBLE_EQ(metric(env.c, s, "message_success_rate"), 80.0) << s;  // no messages
    EXPECT_DOUBLE_EQ(metric(env.c, s, "error_rate"), 0.0) << s;
    EXPECT_DOUBLE_EQ(metric(env.c, s, "response_time"), 90.0) << s;
  }
  // never: (35 + 20 + 0 + 13.5 + 15) / 1.1 = 75.9 → 76
  EXPECT_EQ(score_of(env.c, "never"), 76);
}

TEST(Health, ScoresAreRoundedHalfAwayFromZero) {
  Env env;
  // h1: success 75, error 25, activity 59 (61 minutes ago), response 90, uptime 100:
  //   (35 + 18.75 + 11.8 + 13.5 + 15) / 1.1 − 5 = 80.5 exactly → 81.
  seed_session(env.c, {.id = "h1", .last_activity_ago = 61 * 60 + 30});
  // h2 (workspace 2): success 45, error 55, activity 14 (106 minutes ago):
  //   (35 + 11.25 + 2.8 + 13.5 + 15) / 1.1 − 11 = 59.5 exactly → 60.
  seed_session(env.c, {.id = "h2", .workspace = "2", .last_activity_ago = 106 * 60 + 30});
  Strings evs = repeat(event("h1", "sent"), 3);
  evs.push_back(event("h1", "failed"));
  for (const auto& e : repeat(event("h2", "sent", "", "2"), 9))
    evs.push_back(e);
  for (const auto& e : repeat(event("h2", "failed", "", "2"), 11))
    evs.push_back(e);
  push_events(env.c, evs);
  env.start(kFastConfig + "selection: {enable_auto_switching: false}\n");
  ASSERT_TRUE(wait_until([&] {
    return metric(env.c, "h1", "error_rate") == 25.0 && metric(env.c, "h2", "error_rate") == 55.0;
  })) << env.log();
  EXPECT_DOUBLE_EQ(metric(env.c, "h1", "recent_activity"), 59.0);
  EXPECT_DOUBLE_EQ(metric(env.c, "h2", "recent_activity"), 14.0);
  EXPECT_EQ(score_of(env.c, "h1"), 81);
  EXPECT_EQ(score_of(env.c, "h2"), 60);
  // 60 reaches min_score_secondary: h2 can serve.
  push_job(
      env.c,
      R"({"job_id":"r","campaign_id":1,"workspace_id":"2","template_mode":"direct","contacts":[1]})");
  auto d = wait_decision(env.c, "r");
  ASSERT_TRUE(d) << env.log();
  EXPECT_EQ(str_of(*d, "type"), "webjs") << json::serialize(*d);
  EXPECT_EQ(str_of(*d, "reason"), "secondary_session");
}

TEST(Health, ManyFailuresGiveALowerScoreThanACleanSession) {
  Env env;
  seed_session(env.c, {.id = "clean"});
  seed_session(env.c, {.id = "bad"});
  Strings evs = repeat(event("clean", "delivered"), 10);
  for (const auto& e : repeat(event("bad", "failed"), 10))
    evs.push_back(e);
  push_events(env.c, evs);
  env.start();
  ASSERT_TRUE(wait_until([&] {
    return metric(env.c, "bad", "error_rate") == 100.0 &&
           metric(env.c, "clean", "message_success_rate") == 100.0;
  })) << env.log();
  // clean: (35 + 25 + 20 + 13.5 + 15) / 1.1 = 98.6 → 99; bad: 83.5 / 1.1 − 20 = 55.9 → 56.
  EXPECT_EQ(score_of(env.c, "clean"), 99);
  EXPECT_EQ(score_of(env.c, "bad"), 56);
  EXPECT_LT(score_of(env.c, "bad"), score_of(env.c, "clean"));
}

// ---------------------------------------------------------------------------------------------
// Alerts.

std::map<std::string, std::pair<double, double>> alerts_of(const json::object& a) {
  std::map<std::string, std::pair<double, double>> out;
  for (const json::value& x : a.at("alerts").as_array()) {
    const json::object& o = x.as_object();
    out[str_of(o, "type")] = {o.at("value").to_number<double>(),
                              o.at("threshold").to_number<double>()};
  }
  return out;
}

TEST(Alerts, OneMessageWhenASessionStartsBreakingALimitAndNoRepeat) {
  Env env;
  seed_session(env.c, {.id = "s1"});
  seed_session(env.c, {.id = "s2"});
  Subscriber sub(env.redis.socket(), "wa:alerts");
  env.start();
  ASSERT_TRUE(wait_until([&] { return score_of(env.c, "s1") >= 0; })) << env.log();
  EXPECT_FALSE(sub.next(700ms)) << "an alert for clean sessions";

  push_events(env.c, repeat(event("s1", "failed"), 10));
  const auto first = sub.next(4s);
  ASSERT_TRUE(first) << env.log();
  const json::object a = parse_object(*first);
  EXPECT_EQ(str_of(a, "event"), "alert");
  EXPECT_EQ(str_of(a, "session_id"), "s1");
  const json::value& ws = a.at("workspace_id");
  EXPECT_TRUE(ws == json::value("1") || ws == json::value(1)) << *first;
  EXPECT_EQ(alerts_of(a),
            (std::map<std::string, std::pair<double, double>>{{"high_error_rate", {100.0, 15.0}},
                                                              {"low_success_rate", {0.0, 80.0}}}));
  ASSERT_TRUE(a.at("health_score").is_int64()) << *first;
  EXPECT_EQ(a.at("health_score").get_int64(), 56);
  EXPECT_TRUE(is_iso8601(str_of(a, "at")));
  // Still bad at the next checks: not reported again.
  const auto repeat_msg = sub.next(1200ms);
  EXPECT_FALSE(repeat_msg) << *repeat_msg;

  // A limit it did not break before (slow delivery): one message listing every broken limit.
  push_events(env.c, repeat(event("s1", "delivered", R"(,"delivery_time_ms":20000)"), 10));
  const auto second = sub.next(4s);
  ASSERT_TRUE(second) << env.log();
  const json::object b = parse_object(*second);
  EXPECT_EQ(str_of(b, "session_id"), "s1");
  EXPECT_EQ(alerts_of(b), (std::map<std::string, std::pair<double, double>>{
                              {"high_error_rate", {50.0, 15.0}},
                              {"low_success_rate", {50.0, 80.0}},
                              {"slow_delivery", {20000.0, 10000.0}}}));
  const auto again = sub.next(1200ms);
  EXPECT_FALSE(again) << *again;
}

// ---------------------------------------------------------------------------------------------
// Provider switching.

Strings sorted(Strings v) {
  std::sort(v.begin(), v.end());
  return v;
}

Strings range(int from, int to) {
  Strings out;
  for (int i = from; i <= to; ++i)
    out.push_back(std::to_string(i));
  return out;
}

TEST(Switching, DisconnectedSessionLosesItsUndeliveredContactsToTheOther) {
  Env env;
  seed_session(env.c, {.id = "s1", .primary = true});
  seed_session(env.c, {.id = "s2"});
  push_job(
      env.c,
      R"({"job_id":"sw","campaign_id":42,"workspace_id":"1","template_mode":"direct","contacts":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20]})");
  env.start();
  auto d = wait_decision(env.c, "sw");
  ASSERT_TRUE(d) << env.log();
  ASSERT_EQ(distribution_of(*d), (std::vector<DistEntry>{{"s1", 10, "wa:dispatch:42:s1"},
                                                         {"s2", 10, "wa:dispatch:42:s2"}}));
  // s2's sender has sent three, then the phone goes away.
  const Strings sent = env.c.cmd({"LPOP", "wa:dispatch:42:s2", "3"}).strings();
  ASSERT_EQ(sent, (Strings{"11", "12", "13"}));
  env.c.cmd({"HSET", "wa:session:s2", "status", "disconnected"});

  ASSERT_TRUE(wait_until([&] { return !events_of(env.c, "provider_switch").empty(); }, 4s))
      << env.log();
  const auto sw = events_of(env.c, "provider_switch");
  ASSERT_EQ(sw.size(), 1u);
  EXPECT_EQ(sw[0].at("campaign_id"), json::value(42));
  EXPECT_EQ(str_of(sw[0], "from"), "s2");
  EXPECT_EQ(sw[0].at("to"), json::parse(R"(["s1"])"));
  EXPECT_EQ(sw[0].at("moved"), json::value(7));
  EXPECT_EQ(str_of(sw[0], "reason"), "disconnected");
  EXPECT_TRUE(is_iso8601(str_of(sw[0], "at")));

  // The undelivered contacts moved, in order; none lost, none duplicated.
  EXPECT_EQ(env.c.integer({"LLEN", "wa:dispatch:42:s2"}), 0);
  Strings s1 = range(1, 10);
  for (const auto& x : range(14, 20))
    s1.push_back(x);
  EXPECT_EQ(env.c.list("wa:dispatch:42:s1"), s1);
  Strings all = env.c.list("wa:dispatch:42:s1");
  all.insert(all.end(), sent.begin(), sent.end());
  EXPECT_EQ(sorted(all), sorted(range(1, 20)));

  // The stored decision follows.
  const json::object stored = parse_object(env.c.str({"GET", "wa:campaign:42:decision"}));
  // s2 keeps the 3 contacts it sent; s1 has its 10 and the 7 moved: still 20 in all.
  EXPECT_EQ(distribution_of(stored), (std::vector<DistEntry>{{"s1", 17, "wa:dispatch:42:s1"},
                                                             {"s2", 3, "wa:dispatch:42:s2"}}));
  EXPECT_EQ(str_of(stored, "type"), "webjs");
  EXPECT_EQ(stored.at("session").at("id"), json::value("s1"));
  EXPECT_GT(env.c.integer({"TTL", "wa:campaign:42:decision"}), 0);

  // Later cycles have nothing more to do.
  std::this_thread::sleep_for(1200ms);
  EXPECT_EQ(events_of(env.c, "provider_switch").size(), 1u);
  EXPECT_EQ(env.c.list("wa:dispatch:42:s1"), s1);
}

TEST(Switching, ContactsAreBalancedOverTheRemainingSessions) {
  Env env;
  seed_session(env.c, {.id = "s1", .primary = true});
  seed_session(env.c, {.id = "s2"});
  seed_session(env.c, {.id = "s3"});
  std::string contacts = "[";
  for (int i = 1; i <= 30; ++i)
    contacts += (i > 1 ? "," : "") + std::to_string(i);
  push_job(
      env.c,
      R"({"job_id":"sw","campaign_id":45,"workspace_id":"1","template_mode":"direct","contacts":)" +
          contacts + "]}");
  env.start();
  auto d = wait_decision(env.c, "sw");
  ASSERT_TRUE(d) << env.log();
  ASSERT_EQ(distribution_of(*d), (std::vector<DistEntry>{{"s1", 10, "wa:dispatch:45:s1"},
                                                         {"s2", 10, "wa:dispatch:45:s2"},
                                                         {"s3", 10, "wa:dispatch:45:s3"}}));
  env.c.cmd({"HSET", "wa:session:s3", "is_active", "0"});
  ASSERT_TRUE(wait_until([&] { return !events_of(env.c, "provider_switch").empty(); }, 4s))
      << env.log();
  const auto sw = events_of(env.c, "provider_switch");
  ASSERT_EQ(sw.size(), 1u);
  EXPECT_EQ(str_of(sw[0], "from"), "s3");
  EXPECT_EQ(sw[0].at("to"), json::parse(R"(["s1","s2"])"));
  EXPECT_EQ(sw[0].at("moved"), json::value(10));
  EXPECT_EQ(str_of(sw[0], "reason"), "disconnected");
  Strings s1 = range(1, 10), s2 = range(11, 20);
  for (const auto& x : range(21, 25))
    s1.push_back(x);
  for (const auto& x : range(26, 30))
    s2.push_back(x);
  EXPECT_EQ(env.c.list("wa:dispatch:45:s1"), s1);
  EXPECT_EQ(env.c.list("wa:dispatch:45:s2"), s2);
  EXPECT_EQ(env.c.integer({"LLEN", "wa:dispatch:45:s3"}), 0);
  const json::object stored = parse_object(env.c.str({"GET", "wa:campaign:45:decision"}));
  EXPECT_EQ(distribution_of(stored), (std::vector<DistEntry>{{"s1", 15, "wa:dispatch:45:s1"},
                                                             {"s2", 15, "wa:dispatch:45:s2"}}));
}

TEST(Switching, EveryActiveCampaignIsCheckedWhenThereAreManyPages) {
  // wa:campaigns:active is walked in pages of 500 (ZSCAN): 1,200 campaigns take several, and
  // every one of them is switched, once.
  Env env;
  seed_session(env.c, {.id = "s1", .primary = true});
  seed_session(env.c, {.id = "s2"});
  constexpr int kCampaigns = 1200;
  for (int i = 0; i < kCampaigns; ++i) {
    push_job(env.c, R"({"job_id":"many-)" + std::to_string(i) + R"(","campaign_id":)" +
                        std::to_string(10000 + i) +
                        R"(,"workspace_id":"1","template_mode":"direct","contacts":[1,2,3,4]})");
  }
  env.start();
  ASSERT_TRUE(wait_until(
      [&] {
        return env.c.integer({"LLEN", "wa:results"}) >= kCampaigns;
      },
      20s))
      << env.log();
  ASSERT_EQ(env.c.integer({"ZCARD", "wa:campaigns:active"}), kCampaigns);
  env.c.cmd({"HSET", "wa:session:s2", "status", "disconnected"});
  ASSERT_TRUE(wait_until(
      [&] { return events_of(env.c, "provider_switch").size() >= std::size_t{kCampaigns}; }, 20s))
      << env.log();
  std::this_thread::sleep_for(1200ms);  // a later cycle has nothing more to do
  const auto sw = events_of(env.c, "provider_switch");
  ASSERT_EQ(sw.size(), std::size_t{kCampaigns});
  std::set<std::int64_t> switched;
  for (const auto& e : sw) {
    EXPECT_EQ(str_of(e, "from"), "s2");
    EXPECT_EQ(e.at("moved"), json::value(2));
    switched.insert(e.at("campaign_id").as_int64());
  }
  EXPECT_EQ(switched.size(), std::size_t{kCampaigns});
  for (const int i : {0, 499, 500, 1199}) {
    const std::string c = std::to_string(10000 + i);
    EXPECT_EQ(env.c.list("wa:dispatch:" + c + ":s1"), (Strings{"1", "2", "3", "4"})) << c;
    EXPECT_EQ(env.c.integer({"LLEN", "wa:dispatch:" + c + ":s2"}), 0) << c;
  }
}

TEST(Switching, ActiveEntriesOlderThanADayAreDropped) {
  // The daemon drops them whether or not auto switching is on.
  for (const std::string switching : {"true", "false"}) {
    SCOPED_TRACE("enable_auto_switching: " + switching);
    Env env;
    seed_session(env.c, {.id = "s1"});
    const long long now = now_ms();
    env.c.cmd({"ZADD", "wa:campaigns:active", std::to_string(now - 25LL * 3600 * 1000), "old",
               std::to_string(now - 23LL * 3600 * 1000), "recent"});
    env.start(kFastConfig + "selection: {enable_auto_switching: " + switching + "}\n");
    EXPECT_TRUE(wait_until(
        [&] {
          return env.c.cmd({"ZSCORE", "wa:campaigns:active", "old"}).nil();
        },
        3s))
        << env.log();
    EXPECT_FALSE(env.c.cmd({"ZSCORE", "wa:campaigns:active", "recent"}).nil());
  }
}

// A busy app leaves hundreds of thousands of day-old entries per health interval: they go in
// bounded steps, never in one command that blocks Redis for 10 ms or more.
TEST(Switching, ManyOldActiveEntriesAreDroppedWithoutStallingRedis) {
  Env env;
  seed_session(env.c, {.id = "s1"});
  const long long old = now_ms() - 25LL * 3600 * 1000;
  constexpr int kOld = 150000;
  for (int i = 0; i < kOld; i += 1000) {
    std::vector<std::string> zadd{"ZADD", "wa:campaigns:active"};
    for (int k = i; k < i + 1000; ++k)
      zadd.insert(zadd.end(), {std::to_string(old + k), "old-" + std::to_string(k)});
    env.c.cmd(zadd);
  }
  env.c.cmd({"ZADD", "wa:campaigns:active", std::to_string(now_ms() - 3600 * 1000), "recent"});
  switching::reset_slowlog(env.c);
  env.start();
  EXPECT_TRUE(wait_until(
      [&] {
        return env.c.integer({"ZCARD", "wa:campaigns:active"}) == 1;
      },
      10s))
      << env.log();
  EXPECT_FALSE(env.c.cmd({"ZSCORE", "wa:campaigns:active", "recent"}).nil());
  switching::expect_rarely_slow(switching::daemon_slowlog(env.c), switching::evalsha_calls(env.c));
}

TEST(Switching, ErrorRateAboveThresholdMovesContactsToo) {
  Env env;
  seed_session(env.c, {.id = "s1", .primary = true});
  seed_session(env.c, {.id = "s2"});
  seed_session(env.c, {.id = "t1", .workspace = "2", .primary = true});
  seed_session(env.c, {.id = "t2", .workspace = "2"});
  push_job(
      env.c,
      R"({"job_id":"sw","campaign_id":"camp-e","workspace_id":"1","template_mode":"direct","contacts":["a","b","c","d","e","f"]})");
  push_job(
      env.c,
      R"({"job_id":"sr","campaign_id":"camp-r","workspace_id":"2","template_mode":"direct","contacts":[1,2,3,4]})");
  env.start();
  auto d = wait_decision(env.c, "sw");
  ASSERT_TRUE(d) << env.log();
  auto r = wait_decision(env.c, "sr");
  ASSERT_TRUE(r) << env.log();
  ASSERT_EQ(distribution_of(*r), (std::vector<DistEntry>{{"t1", 2, "wa:dispatch:camp-r:t1"},
                                                         {"t2", 2, "wa:dispatch:camp-r:t2"}}));
  ASSERT_EQ(distribution_of(*d), (std::vector<DistEntry>{{"s1", 3, "wa:dispatch:camp-e:s1"},
                                                         {"s2", 3, "wa:dispatch:camp-e:s2"}}));
  // 3 of 20 failed: 15 % > error_rate_threshold 10, while its health stays about 92.
  Strings evs = repeat(event("s2", "sent"), 17);
  for (const auto& e : repeat(event("s2", "failed"), 3))
    evs.push_back(e);
  // t2 answers in 6 s on average (> response_time_threshold 5000 ms), all sent: health ≈ 86.
  for (const auto& e : repeat(event("t2", "sent", R"(,"response_time_ms":6000)", "2"), 4)) {
    evs.push_back(e);
  }
  push_events(env.c, evs);
  ASSERT_TRUE(wait_until([&] { return events_of(env.c, "provider_switch").size() >= 2; }, 5s))
      << env.log();
  auto sw = events_of(env.c, "provider_switch");
  ASSERT_EQ(sw.size(), 2u);
  if (sw[0].at("campaign_id") != json::value("camp-e")) std::swap(sw[0], sw[1]);
  EXPECT_EQ(sw[1].at("campaign_id"), json::value("camp-r"));
  EXPECT_EQ(str_of(sw[1], "from"), "t2");
  EXPECT_EQ(str_of(sw[1], "reason"), "response_time_above_threshold");
  EXPECT_EQ(sw[1].at("moved"), json::value(2));
  EXPECT_GE(score_of(env.c, "t2"), 60);
  EXPECT_EQ(env.c.list("wa:dispatch:camp-r:t1"), range(1, 4));
  EXPECT_EQ(sw[0].at("campaign_id"), json::value("camp-e"));
  EXPECT_EQ(str_of(sw[0], "from"), "s2");
  EXPECT_EQ(str_of(sw[0], "reason"), "error_rate_above_threshold");
  EXPECT_EQ(sw[0].at("moved"), json::value(3));
  EXPECT_GE(score_of(env.c, "s2"), 60);
  EXPECT_EQ(env.c.list("wa:dispatch:camp-e:s1"), (Strings{"a", "b", "c", "d", "e", "f"}));
  EXPECT_EQ(env.c.integer({"LLEN", "wa:dispatch:camp-e:s2"}), 0);
}

TEST(Switching, ToMetaWhenSection4AllowsIt) {
  Env env;
  seed_session(env.c, {.id = "s1", .primary = true});
  seed_meta(env.c, "1", true);
  push_job(
      env.c,
      R"({"job_id":"sw","campaign_id":43,"workspace_id":"1","template_mode":"direct","template":{"status":"APPROVED"},"contacts":[1,2,3,4,5]})");
  env.start();
  auto d = wait_decision(env.c, "sw");
  ASSERT_TRUE(d) << env.log();
  ASSERT_EQ(str_of(*d, "reason"), "primary_session");
  env.c.cmd({"HSET", "wa:session:s1", "status", "failed"});
  ASSERT_TRUE(wait_until([&] { return !events_of(env.c, "provider_switch").empty(); }, 4s))
      << env.log();
  const auto sw = events_of(env.c, "provider_switch");
  ASSERT_EQ(sw.size(), 1u);
  EXPECT_EQ(sw[0].at("to"), json::parse(R"(["meta_api"])"));
  EXPECT_EQ(sw[0].at("moved"), json::value(5));
  EXPECT_EQ(str_of(sw[0], "reason"), "disconnected");
  EXPECT_EQ(env.c.list("wa:dispatch:43:meta_api"), range(1, 5));
  EXPECT_EQ(env.c.integer({"LLEN", "wa:dispatch:43:s1"}), 0);
  const json::object stored = parse_object(env.c.str({"GET", "wa:campaign:43:decision"}));
  EXPECT_EQ(str_of(stored, "type"), "meta_api");
  EXPECT_TRUE(stored.at("session").is_null());
  EXPECT_EQ(distribution_of(stored),
            (std::vector<DistEntry>{{"meta_api", 5, "wa:dispatch:43:meta_api"}}));
}

TEST(Switching, WithNowhereToGoOneRecordWithAnEmptyToAndNoRepeat) {
  Env env;
  seed_session(env.c, {.id = "s1", .primary = true});
  seed_meta(env.c, "1", true);  // configured, but the job has no template: Meta is not allowed
  push_job(
      env.c,
      R"({"job_id":"sw","campaign_id":44,"workspace_id":"1","template_mode":"direct","contacts":[1,2,3,4,5,6]})");
  env.start();
  auto d = wait_decision(env.c, "sw");
  ASSERT_TRUE(d) << env.log();
  const std::string stored_before = env.c.str({"GET", "wa:campaign:44:decision"});
  env.c.cmd({"HSET", "wa:session:s1", "status", "disconnected"});
  ASSERT_TRUE(wait_until([&] { return !events_of(env.c, "provider_switch").empty(); }, 4s))
      << env.log();
  std::this_thread::sleep_for(1600ms);  // three more cycles
  const auto sw = events_of(env.c, "provider_switch");
  ASSERT_EQ(sw.size(), 1u);
  EXPECT_EQ(sw[0].at("campaign_id"), json::value(44));
  EXPECT_EQ(str_of(sw[0], "from"), "s1");
  EXPECT_EQ(sw[0].at("to"), json::array());
  EXPECT_EQ(sw[0].at("moved"), json::value(0));
  EXPECT_EQ(str_of(sw[0], "reason"), "disconnected");
  // The contacts stay where they were.
  EXPECT_EQ(env.c.list("wa:dispatch:44:s1"), range(1, 6));
  EXPECT_EQ(env.c.str({"GET", "wa:campaign:44:decision"}), stored_before);

  // Later cycles keep trying: once a session is there, the contacts move to it.
  seed_session(env.c, {.id = "s2"});
  ASSERT_TRUE(wait_until([&] { return events_of(env.c, "provider_switch").size() >= 2; }, 4s))
      << env.log();
  const auto moved = events_of(env.c, "provider_switch");
  ASSERT_EQ(moved.size(), 2u);
  EXPECT_EQ(str_of(moved[1], "from"), "s1");
  EXPECT_EQ(moved[1].at("to"), json::parse(R"(["s2"])"));
  EXPECT_EQ(moved[1].at("moved"), json::value(6));
  EXPECT_EQ(env.c.list("wa:dispatch:44:s2"), range(1, 6));
  EXPECT_EQ(env.c.integer({"LLEN", "wa:dispatch:44:s1"}), 0);
  const json::object stored = parse_object(env.c.str({"GET", "wa:campaign:44:decision"}));
  EXPECT_EQ(distribution_of(stored), (std::vector<DistEntry>{{"s2", 6, "wa:dispatch:44:s2"}}));
  EXPECT_EQ(stored.at("session").at("id"), json::value("s2"));
}

// A million contacts waiting on a broken session move in bounded steps: no command of the
// daemon blocks Redis for 10 ms or more (Redis's own slow-log threshold; Redis is the app's too),
// and every contact ends in exactly one list, in order, as one provider_switch record says.
TEST(Switching, AMillionContactsMoveInStepsThatNeverStallRedis) {
  for (const std::string strategy : {"weighted_capacity", "round_robin"}) {
    SCOPED_TRACE(strategy);
    Env env;
    seed_session(env.c, {.id = "s1", .primary = true, .health = 100});
    seed_session(env.c, {.id = "s2", .health = 100});
    seed_session(env.c, {.id = "s3", .health = 100});
    const switching::BigCampaign big;  // 1,000,000 contacts on s2
    switching::seed_big_campaign(env.c, big);
    env.c.cmd({"HSET", "wa:session:s2", "status", "disconnected"});
    switching::reset_slowlog(env.c);
    env.start(kFastConfig + "load_balancing: {strategy: " + strategy + "}\n");
    ASSERT_TRUE(wait_until([&] { return !events_of(env.c, "provider_switch").empty(); }, 60s))
        << env.log();
    switching::expect_rarely_slow(switching::daemon_slowlog(env.c),
                                  switching::evalsha_calls(env.c));

    const auto sw = events_of(env.c, "provider_switch");
    ASSERT_EQ(sw.size(), 1u);
    EXPECT_EQ(str_of(sw[0], "from"), "s2");
    EXPECT_EQ(sw[0].at("to"), json::parse(R"(["s1","s3"])"));
    EXPECT_EQ(sw[0].at("moved"), json::value(1000000));
    EXPECT_EQ(env.c.integer({"EXISTS", big.key(), "wa:campaign:77:switching"}), 0);
    auto lists = switching::lists_of(env.c, big.id, {"s1", "s3"});
    EXPECT_EQ(switching::audit(lists, big.contacts), "");
    if (strategy == "round_robin") {
      EXPECT_EQ(lists["s1"].size(), 500000u);
      EXPECT_EQ(lists["s1"][1], switching::contact(2));
      EXPECT_EQ(lists["s3"][0], switching::contact(1));
    } else {  // blocks: s1's first, then s3's
      ASSERT_FALSE(lists["s1"].empty());
      EXPECT_EQ(lists["s3"].front(), switching::contact(lists["s1"].size()));
    }
    EXPECT_EQ(
        switching::stored_distribution(env.c, big.id),
        (std::map<std::string, long long>{{"s1", lists["s1"].size()}, {"s3", lists["s3"].size()}}));
    EXPECT_NE(env.log().find("in steps of"), std::string::npos) << env.log();
  }
}

// The broken session's sender may still pop its list while the move goes on: whatever it pops
// is not moved, and no contact is lost or doubled.
TEST(Switching, ContactsTheSenderPopsDuringABigMoveAreNeitherLostNorDoubled) {
  Env env;
  seed_session(env.c, {.id = "s1", .primary = true, .health = 100});
  seed_session(env.c, {.id = "s2", .health = 100});
  const switching::BigCampaign big{.contacts = 300000};
  switching::seed_big_campaign(env.c, big);
  env.c.cmd({"HSET", "wa:session:s2", "is_active", "0"});
  std::vector<std::string> sent;
  std::atomic<bool> done{false};
  std::thread sender([&] {
    Client own(env.redis.socket());
    while (!done) {
      const Reply r = own.cmd({"LPOP", big.key(), "3"});
      if (r.nil()) continue;
      for (const auto& x : r.strings())
        sent.push_back(x);
    }
  });
  env.start();
  const bool switched =
      wait_until([&] { return !events_of(env.c, "provider_switch").empty(); }, 60s);
  done = true;
  sender.join();
  ASSERT_TRUE(switched) << env.log();
  const auto sw = events_of(env.c, "provider_switch");
  ASSERT_EQ(sw.size(), 1u);
  auto lists = switching::lists_of(env.c, big.id, {"s1", "s2"});
  EXPECT_EQ(switching::audit(lists, big.contacts, sent), "");
  EXPECT_GT(sent.size(), 0u);
  EXPECT_EQ(sw[0].at("moved"), json::value(lists["s1"].size()));
  EXPECT_EQ(lists["s1"].size() + sent.size(), big.contacts);
  const auto stored = switching::stored_distribution(env.c, big.id);
  EXPECT_EQ(stored.at("s1"), static_cast<long long>(lists["s1"].size()));
  EXPECT_EQ(stored.at("s2"), static_cast<long long>(sent.size()));  // what s2 sent stays its
}

// A move found half done (its daemon died) is finished by the next cycle from where the list's
// head is, even when its target has come back meanwhile, and reported once for the whole move.
TEST(Switching, AMoveLeftHalfDoneIsFinishedAndReportedOnce) {
  Env env;
  seed_session(env.c, {.id = "s1", .primary = true, .health = 100});
  seed_session(env.c, {.id = "s2", .health = 100});  // connected again
  const switching::BigCampaign big{.contacts = 30000};
  switching::seed_big_campaign(env.c, big);
  // As a killed move left it: 10,000 of a 30,000-contact move to s1 done.
  env.c.cmd({"EVAL",
             "local c = redis.call('LPOP', KEYS[1], 10000) "
             "for s = 1, #c, 1000 do redis.call('RPUSH', KEYS[2], unpack(c, s, s + 999)) end",
             "2", big.key(), "wa:dispatch:77:s1"});
  std::string decision = env.c.str({"GET", "wa:campaign:77:decision"});
  const std::string dist = R"("distribution":[{"target":"s2","count":30000,)";
  decision.replace(decision.find(dist), dist.size(),
                   R"("distribution":[{"target":"s1","count":10000,"key":"wa:dispatch:77:s1"},)"
                   R"({"target":"s2","count":20000,)");
  env.c.cmd({"SET", "wa:campaign:77:decision", decision, "KEEPTTL"});
  env.c.cmd({"SET", "wa:campaign:77:switching",
             R"({"from":"s2","reason":"disconnected","total":30000,"done":10000,)"
             R"("to":[{"target":"s1","first":0,"stride":1,"count":30000}],)"
             R"("session":{"id":"s1","uuid":"uuid-s1","phone_number":"+1555s1",)"
             R"("health_score":100,"is_primary":true}})",
             "EX", "3600"});
  env.start();
  ASSERT_TRUE(wait_until([&] { return !events_of(env.c, "provider_switch").empty(); }, 8s))
      << env.log();
  std::this_thread::sleep_for(1200ms);  // later cycles have nothing to do
  const auto sw = events_of(env.c, "provider_switch");
  ASSERT_EQ(sw.size(), 1u);
  EXPECT_EQ(str_of(sw[0], "from"), "s2");
  EXPECT_EQ(sw[0].at("to"), json::parse(R"(["s1"])"));
  EXPECT_EQ(sw[0].at("moved"), json::value(30000));
  EXPECT_EQ(env.c.integer({"EXISTS", big.key(), "wa:campaign:77:switching"}), 0);
  auto lists = switching::lists_of(env.c, big.id, {"s1"});
  EXPECT_EQ(lists["s1"].size(), 30000u);
  EXPECT_EQ(switching::audit(lists, big.contacts), "");
  EXPECT_EQ(switching::stored_distribution(env.c, big.id),
            (std::map<std::string, long long>{{"s1", 30000}}));
  const json::object stored = parse_object(env.c.str({"GET", "wa:campaign:77:decision"}));
  EXPECT_EQ(stored.at("session").at("id"), json::value("s1"));  // s2 has no entry left
}

// The stored decision rewritten while a move goes on (a new job of the campaign decided, say):
// the next step reads it again and goes on from it; the move is neither stopped nor doubled.
TEST(Switching, ADecisionRewrittenDuringABigMoveIsReadAgainAndFollowed) {
  Env env;
  seed_session(env.c, {.id = "s1", .primary = true, .health = 100});
  seed_session(env.c, {.id = "s2", .health = 100});
  const switching::BigCampaign big{.contacts = 1000000};
  switching::seed_big_campaign(env.c, big);
  env.c.cmd({"HSET", "wa:session:s2", "status", "disconnected"});
  env.start();
  // Once a step is done (the progress record is there), atomically between two steps.
  const std::string rewrite =
      "if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end "
      "local d = redis.call('GET', KEYS[1]) "
      "d = string.gsub(d, '\"job_id\":\"big%-77\"', '\"job_id\":\"next-77\"') "
      "redis.call('SET', KEYS[1], d, 'KEEPTTL') return 1";
  ASSERT_TRUE(wait_until(
      [&] {
        return env.c.integer({"EVAL", rewrite, "2", "wa:campaign:77:decision",
                              "wa:campaign:77:switching"}) == 1;
      },
      30s))
      << env.log();
  ASSERT_TRUE(wait_until([&] { return !events_of(env.c, "provider_switch").empty(); }, 30s))
      << env.log();
  const auto sw = events_of(env.c, "provider_switch");
  ASSERT_EQ(sw.size(), 1u);
  EXPECT_EQ(sw[0].at("moved"), json::value(1000000));
  auto lists = switching::lists_of(env.c, big.id, {"s1", "s2"});
  EXPECT_EQ(switching::audit(lists, big.contacts), "");
  const json::object stored = parse_object(env.c.str({"GET", "wa:campaign:77:decision"}));
  EXPECT_EQ(str_of(stored, "job_id"), "next-77");
  EXPECT_EQ(distribution_of(stored),
            (std::vector<DistEntry>{{"s1", 1000000, "wa:dispatch:77:s1"}}));
}

}  // namespace
}  // namespace wa::test
