// Process tests: the command line, signals (SIGTERM, SIGINT, SIGHUP), the metrics endpoint and
// JSON logging of wa-routerd (CONTRACT.md section 7).
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <sstream>

#include "fault_util.hpp"
#include "harness.hpp"

namespace wa::test {
namespace {

using namespace fault;
using namespace std::chrono_literals;

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::trunc) << text;
}

// ---- command line ----

TEST(CommandLine, CheckConfigAcceptsAGoodFile) {
  TempDir dir;
  const std::string path = dir.file("good.yaml");
  write_file(path,
             "redis: {unix_socket: /run/redis/redis.sock, prefix: laravel_database_}\n"
             "queue: {lease_seconds: 30, batch_size: 100}\n"
             "load_balancing: {strategy: round_robin}\n"
             "metrics: {listen: \"127.0.0.1:9464\"}\n"
             "logging: {level: warn, format: json}\n");
  std::string out;
  EXPECT_EQ(run_daemon({"--config", path, "--check-config"}, &out), 0) << out;
  // An empty file is all defaults.
  write_file(path, "");
  EXPECT_EQ(run_daemon({"--config", path, "--check-config"}, &out), 0) << out;
}

TEST(CommandLine, CheckConfigRejectsABadFileNamingTheKey) {
  TempDir dir;
  const std::string path = dir.file("bad.yaml");
  write_file(path, "health: {min_score_primary: high}\n");
  std::string out;
  EXPECT_EQ(run_daemon({"--config", path, "--check-config"}, &out), 1) << out;
  EXPECT_NE(out.find(R"(health.min_score_primary: expected an integer 0-100, got "high")"),
            std::string::npos)
      << out;

  // Every bad key is named: an unknown key and an out-of-range value together.
  write_file(path, "queue: {lease_secs: 5, batch_size: 0}\n");
  EXPECT_EQ(run_daemon({"--config", path, "--check-config"}, &out), 1) << out;
  EXPECT_NE(out.find("queue.lease_secs"), std::string::npos) << out;
  EXPECT_NE(out.find("queue.batch_size"), std::string::npos) << out;

  // Not YAML at all.
  write_file(path, "queue: {name: [unclosed\n");
  EXPECT_EQ(run_daemon({"--config", path, "--check-config"}, &out), 1) << out;
  EXPECT_NE(out.find(path), std::string::npos) << out;

  // Running (not only checking) with a bad file is the same error.
  write_file(path, "health: {min_score_primary: high}\n");
  EXPECT_EQ(run_daemon({"--config", path}, &out), 1) << out;
  EXPECT_NE(out.find("health.min_score_primary"), std::string::npos) << out;
}

TEST(CommandLine, VersionAndHelpExitZero) {
  std::string out;
  EXPECT_EQ(run_daemon({"--version"}, &out), 0) << out;
  EXPECT_NE(out.find("wa-routerd"), std::string::npos) << out;
  EXPECT_EQ(run_daemon({"--help"}, &out), 0) << out;
  EXPECT_NE(out.find("--config"), std::string::npos) << out;
  EXPECT_NE(out.find("--check-config"), std::string::npos) << out;
}

TEST(CommandLine, MissingConfigOptionIsAnError) {
  std::string out;
  EXPECT_NE(run_daemon({}, &out), 0) << out;
  EXPECT_NE(out.find("--config"), std::string::npos) << out;
  EXPECT_NE(run_daemon({"--check-config"}, &out), 0) << out;
  EXPECT_NE(out.find("--config"), std::string::npos) << out;
  EXPECT_NE(run_daemon({"--no-such-option"}, &out), 0) << out;
}

TEST(CommandLine, MissingFileExitsOneNamingThePath) {
  TempDir dir;
  const std::string path = dir.file("does-not-exist.yaml");
  std::string out;
  EXPECT_EQ(run_daemon({"--config", path, "--check-config"}, &out), 1) << out;
  EXPECT_NE(out.find(path), std::string::npos) << out;
  EXPECT_EQ(run_daemon({"--config", path}, &out), 1) << out;
  EXPECT_NE(out.find(path), std::string::npos) << out;
}

// ---- signals ----

TEST(Signals, SigtermWhileJobsFlowExitsZeroAndLosesNothing) {
  constexpr int kJobs = 2000, kPer = 3;
  TempDir dir;
  RedisServer redis(dir);
  Client c(redis.socket());
  seed_two_sessions(c);
  push_jobs(c, 1, kJobs, kPer);
  Daemon d(dir, redis.socket(),
           "queue: {batch_size: 64}\nhealth: {check_interval: 120}\nlogging: {level: info}\n");
  d.start();
  ASSERT_TRUE(wait_until([&] { return results_len(c) >= 300; }, 15s)) << d.log();
  EXPECT_EQ(d.stop(), 0) << d.log();
  EXPECT_NE(d.log().find("SIGTERM"), std::string::npos) << d.log();

  // Every job is either decided exactly once or waiting in the queue, in FIFO order; none is
  // left reserved.
  EXPECT_EQ(c.integer({"ZCARD", kReserved}), 0);
  const ResultsView r = read_results(c);
  std::set<int> decided;
  for (const auto& [id, n] : r.decisions) {
    EXPECT_EQ(n, 1) << id;
    decided.insert(std::stoi(id.substr(1)));
  }
  std::vector<int> queued;
  for (const auto& p : c.list(kQueue)) {
    const auto o = parse_object(p);
    ASSERT_TRUE(o) << p;
    queued.push_back(std::stoi(str_of(*o, "job_id").substr(1)));
  }
  EXPECT_TRUE(std::is_sorted(queued.begin(), queued.end()));
  EXPECT_EQ(decided.size() + queued.size(), static_cast<std::size_t>(kJobs));
  for (const int q : queued)
    EXPECT_EQ(decided.count(q), 0u) << "j" << q << " decided and queued";
  EXPECT_LT(decided.size(), static_cast<std::size_t>(kJobs)) << "the SIGTERM came too late";
  // Dispatch lists exist for the decided jobs only.
  const DispatchView dv = read_dispatch(c);
  for (const auto& [campaign, contacts] : dv.contacts) {
    EXPECT_EQ(decided.count(campaign), 1u) << campaign;
    EXPECT_EQ(contacts.size(), static_cast<std::size_t>(kPer)) << campaign;
  }
  EXPECT_EQ(dv.contacts.size(), decided.size());

  // A new daemon finishes the rest.
  d.start();
  ASSERT_TRUE(wait_until([&] { return results_len(c) >= kJobs && drained(c); }, 20s)) << d.log();
  EXPECT_EQ(d.stop(), 0) << d.log();
  EXPECT_TRUE(audit_jobs(c, 1, kJobs, kPer));
}

TEST(Signals, SigintExitsZero) {
  TempDir dir;
  RedisServer redis(dir);
  Client c(redis.socket());
  seed_two_sessions(c);
  Daemon d(dir, redis.socket());
  d.start();
  ASSERT_TRUE(wait_until([&] { return d.log().find("redis: connected") != std::string::npos; }))
      << d.log();
  d.signal(SIGINT);
  EXPECT_EQ(d.wait(10s), 0) << d.log();
  EXPECT_NE(d.log().find("SIGINT"), std::string::npos) << d.log();
}

TEST(Signals, SigtermWhileRedisIsDownExitsZero) {
  TempDir dir;
  RedisServer redis(dir);
  Daemon d(dir, redis.socket());
  d.start();
  ASSERT_TRUE(wait_until([&] { return d.log().find("redis: connected") != std::string::npos; }))
      << d.log();
  redis.kill(SIGKILL);
  ASSERT_TRUE(wait_until([&] { return d.log().find("redis: not connected") != std::string::npos; }))
      << d.log();
  EXPECT_EQ(d.stop(5s), 0) << d.log();
}

// SIGTERM while a loop is busy (here the start-up health cycle, held up by paused writes):
// the loop must not start its next full-interval sleep (check_interval: 120 s) afterwards.
TEST(Signals, SigtermDuringAHealthCycleExitsPromptly) {
  TempDir dir;
  RedisServer redis(dir);
  Client c(redis.socket());
  seed_two_sessions(c);
  c.cmd({"CLIENT", "PAUSE", "5000", "WRITE"});
  Daemon d(dir, redis.socket(), "health: {check_interval: 120}\n");
  d.start();
  ASSERT_TRUE(wait_until([&] { return d.log().find("redis: connected") != std::string::npos; }))
      << d.log();
  sleep_ms(300);  // the health cycle waits for its lock (a write)
  d.signal(SIGTERM);
  ASSERT_TRUE(wait_until([&] { return d.log().find("SIGTERM") != std::string::npos; })) << d.log();
  c.cmd({"CLIENT", "UNPAUSE"});
  EXPECT_EQ(d.wait(5s), 0) << d.log();
}

// Contacts first .. first + 3 (campaigns with other contacts are not bound by stickiness).
std::string job4(int campaign, int first = 1) {
  std::string contacts;
  for (int i = first; i < first + 4; ++i)
    contacts += (i == first ? "" : ",") + std::to_string(i);
  return R"({"job_id":"h)" + std::to_string(campaign) + R"(","campaign_id":)" +
         std::to_string(campaign) + R"(,"workspace_id":"1","template_mode":"direct","contacts":[)" +
         contacts + "]}";
}

void push_raw(Client& c, const std::string& payload) {
  c.cmd({"RPUSH", kQueue, payload});
  c.cmd({"RPUSH", kNotify, "1"});
}

TEST(Signals, SighupAppliesAGoodFileAndKeepsTheOldConfigOnABadOne) {
  TempDir dir;
  RedisServer redis(dir);
  Client c(redis.socket());
  // Two sessions of equal health: weighted_capacity gives each a contiguous half, round_robin
  // alternates. Each campaign has its own contacts: the same ones would stay on their sessions
  // (sticky senders).
  seed_two_sessions(c);
  const std::string rest = "health: {check_interval: 120}\n";
  Daemon d(dir, redis.socket(), rest);
  d.start();
  push_raw(c, job4(1));
  ASSERT_TRUE(wait_until([&] { return results_len(c) == 1; })) << d.log();
  EXPECT_EQ(c.list("wa:dispatch:1:s1"), (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(c.list("wa:dispatch:1:s2"), (std::vector<std::string>{"3", "4"}));

  d.write_config(d.base_config() + rest + "load_balancing: {strategy: round_robin}\n");
  d.signal(SIGHUP);
  ASSERT_TRUE(wait_until([&] { return count_of(d.log(), "reload: configuration re-read") == 1; }))
      << d.log();
  push_raw(c, job4(2, 5));
  ASSERT_TRUE(wait_until([&] { return results_len(c) == 2; })) << d.log();
  EXPECT_EQ(c.list("wa:dispatch:2:s1"), (std::vector<std::string>{"5", "7"}));
  EXPECT_EQ(c.list("wa:dispatch:2:s2"), (std::vector<std::string>{"6", "8"}));

  // A broken file: reported with the bad key, nothing of it applied (not even its good keys),
  // and the daemon keeps serving with the previous configuration.
  d.write_config(d.base_config() + "health: {check_interval: 120, min_score_primary: high}\n" +
                 "load_balancing: {strategy: weighted_capacity}\n");
  d.signal(SIGHUP);
  ASSERT_TRUE(wait_until([&] {
    return d.log().find("health.min_score_primary") != std::string::npos;
  })) << d.log();
  EXPECT_TRUE(d.running());
  EXPECT_EQ(count_of(d.log(), "reload: configuration re-read"), 1) << d.log();
  push_raw(c, job4(3, 9));
  ASSERT_TRUE(wait_until([&] { return results_len(c) == 3; })) << d.log();
  EXPECT_EQ(c.list("wa:dispatch:3:s1"), (std::vector<std::string>{"9", "11"}));
  EXPECT_EQ(c.list("wa:dispatch:3:s2"), (std::vector<std::string>{"10", "12"}));
  EXPECT_EQ(d.stop(), 0) << d.log();
}

// ---- metrics endpoint ----

std::string metrics_yaml(int port) {
  return "metrics: {listen: \"127.0.0.1:" + std::to_string(port) +
         "\"}\nhealth: {check_interval: 120}\n";
}

int status_of(int port, const std::string& path) {
  const auto r = http_get(port, path);
  return r ? r->status : 0;
}

TEST(Metrics, ServesMetricsAndHealthThatFollowsRedis) {
  TempDir dir;
  RedisServer redis(dir);
  Client c(redis.socket());
  seed_two_sessions(c);
  const int port = free_port();
  Daemon d(dir, redis.socket(), metrics_yaml(port));
  d.start();
  ASSERT_TRUE(wait_until([&] { return status_of(port, "/healthz") == 200; })) << d.log();
  EXPECT_EQ(http_get(port, "/healthz")->body, "ok\n");

  push_raw(c, job4(1));
  ASSERT_TRUE(wait_until([&] { return results_len(c) == 1; })) << d.log();
  const auto m = http_get(port, "/metrics");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 200);
  EXPECT_NE(m->body.find("\nwa_jobs_taken_total 1\n"), std::string::npos) << m->body;
  EXPECT_NE(m->body.find("\nwa_decisions_total{reason=\"primary_session\",type=\"webjs\"} 1\n"),
            std::string::npos)
      << m->body;
  EXPECT_NE(m->body.find("# TYPE wa_jobs_taken_total counter"), std::string::npos) << m->body;
  EXPECT_EQ(status_of(port, "/nope"), 404);

  // Redis down: 503; back: 200.
  redis.kill(SIGKILL);
  ASSERT_TRUE(wait_until([&] { return status_of(port, "/healthz") == 503; }, 5s)) << d.log();
  EXPECT_NE(http_get(port, "/metrics")->body.find("\nwa_redis_up 0\n"), std::string::npos);
  redis.start();
  ASSERT_TRUE(wait_until([&] { return status_of(port, "/healthz") == 200; }, 10s)) << d.log();
  EXPECT_TRUE(d.running());
  EXPECT_EQ(d.stop(), 0) << d.log();
}

TEST(Metrics, UnbindableAddressAtStartUpExitsOne) {
  TempDir dir;
  RedisServer redis(dir);
  Listener busy;
  Daemon d(dir, redis.socket(), metrics_yaml(busy.port()));
  d.start();
  EXPECT_EQ(d.wait(10s), 1) << d.log();
  EXPECT_NE(d.log().find(std::to_string(busy.port())), std::string::npos) << d.log();

  // An address of no interface of this host (TEST-NET-1) cannot be bound either.
  Daemon other(dir, redis.socket(), "metrics: {listen: \"192.0.2.1:9464\"}\n", "other");
  other.start();
  EXPECT_EQ(other.wait(10s), 1) << other.log();
  EXPECT_NE(other.log().find("192.0.2.1:9464"), std::string::npos) << other.log();
}

TEST(Metrics, AddressInUseOnReloadIsLoggedAndTheOldAddressKept) {
  TempDir dir;
  RedisServer redis(dir);
  const int port = free_port();
  Daemon d(dir, redis.socket(), metrics_yaml(port));
  d.start();
  ASSERT_TRUE(wait_until([&] { return status_of(port, "/healthz") == 200; })) << d.log();
  Listener busy;
  d.write_config(d.base_config() + metrics_yaml(busy.port()));
  d.signal(SIGHUP);
  ASSERT_TRUE(wait_until([&] {
    return d.log().find("cannot listen on 127.0.0.1:" + std::to_string(busy.port())) !=
           std::string::npos;
  })) << d.log();
  EXPECT_TRUE(d.running());
  EXPECT_EQ(status_of(port, "/healthz"), 200);

  // Back to the address it serves on: nothing to change, no error.
  const std::size_t errors_before = count_of(d.log(), "cannot listen");
  d.write_config(d.base_config() + metrics_yaml(port));
  d.signal(SIGHUP);
  ASSERT_TRUE(wait_until([&] { return count_of(d.log(), "reload: configuration re-read") == 2; }))
      << d.log();
  sleep_ms(100);
  EXPECT_EQ(static_cast<std::size_t>(count_of(d.log(), "cannot listen")), errors_before) << d.log();
  EXPECT_EQ(status_of(port, "/healthz"), 200);

  // A free new address: served there, the old one closed.
  const int port2 = free_port();
  d.write_config(d.base_config() + metrics_yaml(port2));
  d.signal(SIGHUP);
  ASSERT_TRUE(wait_until([&] { return status_of(port2, "/healthz") == 200; })) << d.log();
  EXPECT_EQ(status_of(port, "/healthz"), 0);
  EXPECT_EQ(d.stop(), 0) << d.log();
}

// ---- logging ----

TEST(Logging, JsonFormatWritesOneObjectPerLine) {
  TempDir dir;
  RedisServer redis(dir);
  Client c(redis.socket());
  seed_two_sessions(c);
  Daemon d(dir, redis.socket(), "logging: {format: json, level: debug}\n");
  d.start();
  push_raw(c, job4(1));
  push_raw(c, "not json");  // a warning line too
  ASSERT_TRUE(wait_until([&] {
    return results_len(c) == 1 && c.integer({"LLEN", kDead}) == 1;
  })) << d.log();
  EXPECT_EQ(d.stop(), 0) << d.log();
  std::istringstream in(d.log());
  std::string line;
  int lines = 0;
  std::set<std::string> levels;
  int job_lines = 0;
  while (std::getline(in, line)) {
    ++lines;
    const auto o = parse_object(line);
    ASSERT_TRUE(o) << "not a JSON object: " << line;
    for (const char* k : {"time", "level", "msg"}) {
      ASSERT_TRUE(o->if_contains(k) && o->at(k).is_string()) << k << " missing: " << line;
    }
    EXPECT_EQ(str_of(*o, "time").size(), 24u) << line;  // 2026-11-25T12:00:00.000Z
    EXPECT_EQ(str_of(*o, "time").back(), 'Z') << line;
    levels.insert(str_of(*o, "level"));
    // A line about a job carries its ids as fields, for log search.
    if (str_of(*o, "msg").starts_with("job h1:")) {
      ++job_lines;
      EXPECT_EQ(str_of(*o, "job_id"), "h1") << line;
      EXPECT_EQ(str_of(*o, "campaign_id"), "1") << line;
    }
  }
  EXPECT_GE(job_lines, 1) << d.log();
  EXPECT_GE(lines, 4);
  EXPECT_TRUE(levels.count("info")) << d.log();
  EXPECT_TRUE(levels.count("debug")) << d.log();
}

}  // namespace
}  // namespace wa::test

namespace wa::test {
namespace {

TEST(Logging, LevelIsReloadedOnSighup) {
  TempDir dir;
  RedisServer redis(dir);
  Client c(redis.socket());
  seed_two_sessions(c);
  Daemon d(dir, redis.socket(), "logging: {level: debug}\n");
  d.start();
  push_raw(c, job4(1));
  ASSERT_TRUE(wait_until([&] { return d.log().find("job h1: campaign 1:") != std::string::npos; }))
      << d.log();
  d.write_config(d.base_config() + "logging: {level: warn}\n");
  d.signal(SIGHUP);
  // Logged at the old level just before the new one applies.
  ASSERT_TRUE(wait_until([&] {
    return d.log().find("reload: configuration re-read") != std::string::npos;
  })) << d.log();
  push_raw(c, job4(2));
  push_raw(c, "not json");
  ASSERT_TRUE(wait_until([&] {
    return d.log().find("moved to queues:wa-campaigns:dead") != std::string::npos;
  })) << d.log();
  ASSERT_TRUE(wait_until([&] { return results_len(c) == 2; })) << d.log();
  EXPECT_EQ(d.log().find("job h2: campaign 2:"), std::string::npos) << d.log();
  EXPECT_EQ(d.stop(), 0);
}

TEST(Metrics, ExposesDepthsBandsAndLatency) {
  TempDir dir;
  RedisServer redis(dir);
  Client c(redis.socket());
  seed_two_sessions(c);
  const int port = free_port();
  Daemon d(dir, redis.socket(), "metrics: {listen: \"127.0.0.1:" + std::to_string(port) + "\"}\n");
  d.start();
  push_raw(c, job4(1));
  ASSERT_TRUE(wait_until([&] { return results_len(c) == 1; })) << d.log();
  std::string body;
  ASSERT_TRUE(wait_until(
      [&] {
        const auto m = http_get(port, "/metrics");
        body = m ? m->body : "";
        // Depths are sampled every 5 s, the first time at start-up.
        return body.find("wa_health_cycles_total 1") != std::string::npos &&
               body.find("wa_queue_depth{key=\"queue\"} 0") != std::string::npos;
      },
      std::chrono::seconds(8)))
      << body;
  for (const char* want :
       {"wa_sessions{band=\"healthy\"} 2", "wa_sessions{band=\"unhealthy\"} 0",
        "wa_queue_depth{key=\"reserved\"} ", "wa_queue_depth{key=\"dead\"} 0",
        "wa_decision_seconds_count 1", "wa_decision_seconds_bucket{le=\"+Inf\"} 1",
        "wa_health_cycle_seconds_count 1", "wa_redis_up 1",
        "wa_redis_reconnects_total{connection=\"main\"} 0",
        "wa_jobs_dead_total{cause=\"poison\"} 0"}) {
    EXPECT_NE(body.find(want), std::string::npos) << want << "\n" << body;
  }
  EXPECT_EQ(d.stop(), 0);
}

TEST(Startup, WarnsWhenRedisMayEvictKeys) {
  TempDir dir;
  RedisServer redis(dir);
  Client c(redis.socket());
  c.cmd({"CONFIG", "SET", "maxmemory-policy", "allkeys-lru"});
  Daemon d(dir, redis.socket());
  d.start();
  EXPECT_TRUE(wait_until([&] {
    return d.log().find("maxmemory-policy is allkeys-lru") != std::string::npos;
  })) << d.log();
  EXPECT_EQ(d.stop(), 0);

  c.cmd({"CONFIG", "SET", "maxmemory-policy", "noeviction"});
  Daemon quiet(dir, redis.socket(), "", "quiet");
  quiet.start();
  ASSERT_TRUE(
      wait_until([&] { return quiet.log().find("redis: connected") != std::string::npos; }));
  EXPECT_EQ(quiet.stop(), 0);
  EXPECT_EQ(quiet.log().find("maxmemory-policy"), std::string::npos) << quiet.log();
}

}  // namespace
}  // namespace wa::test
