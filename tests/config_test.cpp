// Tests of the configuration loader (CONTRACT.md section 7).
#include "config/config.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#ifndef WA_SOURCE_DIR
#error "WA_SOURCE_DIR must be defined as the repository root"
#endif

namespace {

using wa::config::Config;
using wa::config::ConfigError;
using wa::config::load_from_file;
using wa::config::load_from_string;
using wa::config::LogFormat;
using wa::config::Strategy;

// The problems reported for `yaml`, or a failure when it loads.
std::vector<std::string> problems_of(const std::string& yaml) {
  try {
    load_from_string(yaml);
  } catch (const ConfigError& e) {
    return e.problems();
  }
  ADD_FAILURE() << "loaded without error:\n" << yaml;
  return {};
}

// Expects `yaml` to be rejected with exactly one problem, `message`.
void expect_problem(const std::string& yaml, const std::string& message) {
  EXPECT_EQ(problems_of(yaml), std::vector<std::string>{message}) << "for YAML:\n" << yaml;
}

void expect_valid(const std::string& yaml) {
  EXPECT_NO_THROW(load_from_string(yaml)) << "for YAML:\n" << yaml;
}

TEST(Config, ExampleFileEqualsDefaults) {
  EXPECT_EQ(load_from_file(WA_SOURCE_DIR "/config/wa-routerd.yaml"), Config{});
}

TEST(Config, ExampleFileSetsEveryKeyWithAComment) {
  // Every key of section 7 is written out, each preceded by its one-line comment.
  std::ifstream in(WA_SOURCE_DIR "/config/wa-routerd.yaml");
  ASSERT_TRUE(in);
  std::vector<std::string> keys;
  std::string line;
  std::string previous;
  while (std::getline(in, line)) {
    const auto first = line.find_first_not_of(' ');
    const auto colon = line.find(": ");
    if (first != std::string::npos && line[first] != '#' && colon != std::string::npos) {
      keys.push_back(line.substr(first, colon - first));
      EXPECT_NE(previous.find('#'), std::string::npos) << "no comment above: " << line;
    }
    previous = line;
  }
  // Section 7's 40 keys + redis.sentinels, redis.master_name, queue.max_payload_bytes,
  // metrics.idle_timeout and metrics.max_connections, section 8's 11 pacing keys and
  // pacing.adaptive.enabled, pacing.meta_budget_window (section 9), section 10's
  // selection.sticky_sender, section 11's redis.cluster and its 15 connection keys
  // (redis.username, sentinel_username, sentinel_password and the 6 keys of each of tls and
  // sentinel_tls).
  EXPECT_EQ(keys.size(), 75u);
}

TEST(Config, TlsAndAclUsersAreReadAndValidated) {
  const Config c = load_from_string(
      "redis: {username: router, password: pw, sentinel_username: sen, "
      "sentinel_password: sp, tls: {enabled: true, ca_file: /etc/ca.pem, cert_file: c.pem, "
      "key_file: k.pem, server_name: redis.example, verify: false}, "
      "sentinel_tls: {enabled: yes}}");
  EXPECT_EQ(c.redis.username, "router");
  EXPECT_EQ(c.redis.sentinel_username, "sen");
  EXPECT_EQ(c.redis.sentinel_password, "sp");
  EXPECT_TRUE(c.redis.tls.enabled);
  EXPECT_EQ(c.redis.tls.ca_file, "/etc/ca.pem");
  EXPECT_EQ(c.redis.tls.cert_file, "c.pem");
  EXPECT_EQ(c.redis.tls.key_file, "k.pem");
  EXPECT_EQ(c.redis.tls.server_name, "redis.example");
  EXPECT_FALSE(c.redis.tls.verify);
  EXPECT_TRUE(c.redis.sentinel_tls.enabled);
  EXPECT_TRUE(c.redis.sentinel_tls.verify);
  EXPECT_EQ(Config{}.redis.tls, wa::config::Tls{});
  EXPECT_TRUE(Config{}.redis.tls.verify);
  expect_problem("redis: {tls: {enabeld: true}}", "redis.tls.enabeld: unknown key");
  expect_problem("redis: {sentinel_tls: {ca: x}}", "redis.sentinel_tls.ca: unknown key");
  for (const auto& [yaml, start] : std::vector<std::pair<std::string, std::string>>{
           {"redis: {tls: {verify: maybe}}", "redis.tls.verify: expected a boolean"},
           {"redis: {tls: {cert_file: c.pem}}", "redis.tls.key_file: expected cert_file"},
           {"redis: {cluster: 1}", "redis.cluster: expected a boolean"}}) {
    const auto problems = problems_of(yaml);
    ASSERT_EQ(problems.size(), 1u) << yaml;
    EXPECT_EQ(problems[0].rfind(start, 0), 0u) << problems[0];
  }
}

TEST(Config, SentinelsAreReadAndValidated) {
  const Config c = load_from_string(
      "redis: {sentinels: [\"10.0.0.5:26379\", \"sentinel-b:26380\", \"[::1]:26381\"], "
      "master_name: mymaster}");
  EXPECT_EQ(c.redis.sentinels,
            (std::vector<std::string>{"10.0.0.5:26379", "sentinel-b:26380", "[::1]:26381"}));
  EXPECT_EQ(c.redis.master_name, "mymaster");
  EXPECT_TRUE(Config{}.redis.sentinels.empty());

  expect_problem("redis: {sentinels: [\"a:1\", \"nohost\"], master_name: m}",
                 "redis.sentinels[1]: expected host:port (port 1-65535), got \"nohost\"");
  expect_problem("redis: {sentinels: [\"a:1\", \":26379\"], master_name: m}",
                 "redis.sentinels[1]: expected host:port (port 1-65535), got \":26379\"");
  expect_problem("redis: {sentinels: [\"a:70000\"], master_name: m}",
                 "redis.sentinels[0]: expected host:port (port 1-65535), got \"a:70000\"");
  expect_problem("redis: {sentinels: \"a:1\", master_name: m}",
                 "redis.sentinels: expected a list of host:port (port 1-65535), got \"a:1\"");
  expect_problem(
      "redis: {sentinels: [\"a:1\"]}",
      "redis.master_name: expected a non-empty name when redis.sentinels is set, got \"\"");
}

TEST(Config, ClusterNeedsAHashTaggedPrefix) {
  EXPECT_FALSE(Config{}.redis.cluster);
  const Config c = load_from_string("redis: {cluster: true, host: 10.0.0.7, prefix: \"{wa}:\"}");
  EXPECT_TRUE(c.redis.cluster);
  EXPECT_EQ(c.redis.prefix, "{wa}:");
  EXPECT_TRUE(load_from_string("redis: {cluster: true, prefix: \"app_{wa}:\"}").redis.cluster);
  // Without cluster, any prefix is fine (braces or not).
  EXPECT_EQ(load_from_string("redis: {prefix: \"{wa\"}").redis.prefix, "{wa");

  expect_problem("redis: {cluster: true, prefix: laravel_database_}",
                 "redis.prefix: expected a prefix with a hash tag when redis.cluster is true, got "
                 "\"laravel_database_\": every key must hash to one slot; set e.g. prefix: "
                 "\"{wa}:\" (a {tag} in the prefix), and the same prefix in the Laravel app");
  for (const char* bad : {"\"\"", "\"{}wa:\"", "\"{wa:\"", "\"wa}:\""}) {
    SCOPED_TRACE(bad);
    try {
      load_from_string(std::string("redis: {cluster: true, prefix: ") + bad + "}");
      ADD_FAILURE() << "accepted";
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("hash tag"), std::string::npos) << e.what();
    }
  }
  expect_problem("redis: {cluster: true, prefix: \"{wa}:\", sentinels: [\"a:1\"], master_name: m}",
                 "redis.cluster: redis.cluster and redis.sentinels exclude each other: a cluster "
                 "fails over by itself; give one of its nodes as host and port");
  expect_problem("redis: {cluster: true, prefix: \"{wa}:\", db: 2}",
                 "redis.db: expected 0 when redis.cluster is true (a cluster has only database 0), "
                 "got 2");
  expect_problem("redis: {cluster: yes please}",
                 "redis.cluster: expected a boolean (true or false), got \"yes please\"");
}

TEST(Config, PacingKeysAreReadAndValidated) {
  const Config c = load_from_string(
      "pacing: {enabled: false, ahead: 5, jitter: 0.1, daily_cap: 300,\n"
      "         warmup: {days: 0, start_per_day: 20},\n"
      "         adaptive: {enabled: false, decrease: 0.7, increase: 0.05, min_factor: 0.2,\n"
      "                    report_grace: 120, min_reported: 30}}");
  EXPECT_FALSE(c.pacing.enabled);
  EXPECT_EQ(c.pacing.ahead, 5u);
  EXPECT_EQ(c.pacing.jitter, 0.1);
  EXPECT_EQ(c.pacing.daily_cap, 300u);
  EXPECT_EQ(c.pacing.warmup.days, 0);
  EXPECT_EQ(c.pacing.warmup.start_per_day, 20u);
  EXPECT_FALSE(c.pacing.adaptive.enabled);
  EXPECT_EQ(c.pacing.adaptive.decrease, 0.7);
  EXPECT_EQ(c.pacing.adaptive.increase, 0.05);
  EXPECT_EQ(c.pacing.adaptive.min_factor, 0.2);
  EXPECT_EQ(c.pacing.adaptive.report_grace, 120);
  EXPECT_EQ(c.pacing.adaptive.min_reported, 30);

  const Config d;
  EXPECT_TRUE(d.pacing.enabled);
  EXPECT_EQ(d.pacing.ahead, 2u);
  EXPECT_EQ(d.pacing.daily_cap, 1000u);
  EXPECT_EQ(d.pacing.warmup.days, 14);
  EXPECT_EQ(d.pacing.warmup.start_per_day, 50u);
  EXPECT_EQ(d.pacing.adaptive.decrease, 0.5);
  EXPECT_EQ(d.pacing.adaptive.increase, 0.1);
  EXPECT_EQ(d.pacing.adaptive.min_factor, 0.1);
  EXPECT_EQ(d.pacing.adaptive.report_grace, 300);
  EXPECT_EQ(d.pacing.adaptive.min_reported, 50);

  expect_problem("pacing: {ahead: 0}", "pacing.ahead: expected an integer 1-100000, got \"0\"");
  expect_problem("pacing: {jitter: 1}", "pacing.jitter: expected a number >= 0 and < 1, got \"1\"");
  expect_problem("pacing: {daily_cap: fast}",
                 "pacing.daily_cap: expected an integer 1-100000000, got \"fast\"");
  expect_problem("pacing: {warmup: {days: -1}}",
                 "pacing.warmup.days: expected an integer 0-3650, got \"-1\"");
  expect_problem("pacing: {adaptive: {decrease: 0}}",
                 "pacing.adaptive.decrease: expected a number > 0 and <= 1, got \"0\"");
  expect_problem("pacing: {adaptive: {min_reported: 101}}",
                 "pacing.adaptive.min_reported: expected a number 0-100, got \"101\"");
  expect_problem("pacing: {speed: 3}", "pacing.speed: unknown key");
}

TEST(Config, DefaultsMatchContract) {
  const Config c;
  EXPECT_EQ(c.redis.host, "127.0.0.1");
  EXPECT_EQ(c.redis.port, 6379);
  EXPECT_EQ(c.queue.name, "wa-campaigns");
  EXPECT_EQ(c.results.ttl_seconds, 604800);
  EXPECT_EQ(c.retry.jitter, 0.2);
  EXPECT_EQ(c.health.weights.uptime, 0.15);
  EXPECT_EQ(c.load_balancing.strategy, Strategy::weighted_capacity);
  EXPECT_TRUE(c.selection.sticky_sender);
  EXPECT_EQ(c.metrics.listen, "127.0.0.1:9464");
  EXPECT_EQ(c.metrics.idle_timeout, 5);
  EXPECT_EQ(c.metrics.max_connections, 64);
  EXPECT_EQ(c.logging.level, "info");
  EXPECT_EQ(c.logging.format, LogFormat::text);
}

TEST(Config, EmptyInputGivesDefaults) {
  EXPECT_EQ(load_from_string(""), Config{});
  EXPECT_EQ(load_from_string("\n\n"), Config{});
  EXPECT_EQ(load_from_string("# only a comment\n  # another\n"), Config{});
  EXPECT_EQ(load_from_string("---\n"), Config{});
}

TEST(Config, EmptySectionsGiveDefaults) {
  EXPECT_EQ(load_from_string("redis:\nhealth: {}\nqueue: ~\n"), Config{});
  EXPECT_EQ(load_from_string("health:\n  weights:\n"), Config{});
}

TEST(Config, FullOverrideReadsEveryField) {
  const Config c = load_from_string(R"(
redis: {host: redis.internal, port: 6380, unix_socket: /run/redis/redis.sock, password: s3cret,
        db: 3, prefix: laravel_database_}
queue: {name: bulk, lease_seconds: 90, batch_size: 500, max_deliveries: 7}
results: {ttl_seconds: 86400}
retry: {base_delay: 1.5, max_delay: 7200, jitter: 0, max_attempts: 4}
selection:
  enable_auto_switching: false
  switch_thresholds: {error_rate_threshold: 12.5, response_time_threshold: 2500,
                      health_score_threshold: 55}
  sticky_sender: false
health:
  check_interval: 0.5
  min_score_primary: 90
  min_score_secondary: 90
  max_sessions_per_workspace: 1000
  weights: {connection_stability: 1, message_success_rate: 2, recent_activity: 3,
            error_rate: 0, response_time: 4, uptime: 5}
load_balancing: {strategy: round_robin, base_capacity: 250.5, enable_predictive_analytics: no}
analytics:
  retention_period_days: 90
  real_time_monitoring: false
  alert_thresholds: {high_error_rate: 0, slow_delivery: 20000, low_success_rate: 100}
metrics: {listen: "[::1]:9100"}
logging: {level: debug, format: json}
)");
  EXPECT_EQ(c.redis.host, "redis.internal");
  EXPECT_EQ(c.redis.port, 6380);
  EXPECT_EQ(c.redis.unix_socket, "/run/redis/redis.sock");
  EXPECT_EQ(c.redis.password, "s3cret");
  EXPECT_EQ(c.redis.db, 3);
  EXPECT_EQ(c.redis.prefix, "laravel_database_");
  EXPECT_EQ(c.queue.name, "bulk");
  EXPECT_EQ(c.queue.lease_seconds, 90);
  EXPECT_EQ(c.queue.batch_size, 500);
  EXPECT_EQ(c.queue.max_deliveries, 7);
  EXPECT_EQ(c.results.ttl_seconds, 86400);
  EXPECT_EQ(c.retry.base_delay, 1.5);
  EXPECT_EQ(c.retry.max_delay, 7200);
  EXPECT_EQ(c.retry.jitter, 0);
  EXPECT_EQ(c.retry.max_attempts, 4);
  EXPECT_FALSE(c.selection.enable_auto_switching);
  EXPECT_FALSE(c.selection.sticky_sender);
  EXPECT_EQ(c.selection.switch_thresholds.error_rate_threshold, 12.5);
  EXPECT_EQ(c.selection.switch_thresholds.response_time_threshold, 2500);
  EXPECT_EQ(c.selection.switch_thresholds.health_score_threshold, 55);
  EXPECT_EQ(c.health.check_interval, 0.5);
  EXPECT_EQ(c.health.min_score_primary, 90);
  EXPECT_EQ(c.health.min_score_secondary, 90);
  EXPECT_EQ(c.health.max_sessions_per_workspace, 1000);
  EXPECT_EQ(c.health.weights.connection_stability, 1);
  EXPECT_EQ(c.health.weights.message_success_rate, 2);
  EXPECT_EQ(c.health.weights.recent_activity, 3);
  EXPECT_EQ(c.health.weights.error_rate, 0);
  EXPECT_EQ(c.health.weights.response_time, 4);
  EXPECT_EQ(c.health.weights.uptime, 5);
  EXPECT_EQ(c.load_balancing.strategy, Strategy::round_robin);
  EXPECT_EQ(c.load_balancing.base_capacity, 250.5);
  EXPECT_FALSE(c.load_balancing.enable_predictive_analytics);
  EXPECT_EQ(c.analytics.retention_period_days, 90);
  EXPECT_FALSE(c.analytics.real_time_monitoring);
  EXPECT_EQ(c.analytics.alert_thresholds.high_error_rate, 0);
  EXPECT_EQ(c.analytics.alert_thresholds.slow_delivery, 20000);
  EXPECT_EQ(c.analytics.alert_thresholds.low_success_rate, 100);
  EXPECT_EQ(c.metrics.listen, "[::1]:9100");
  EXPECT_EQ(c.logging.level, "debug");
  EXPECT_EQ(c.logging.format, LogFormat::json);
}

TEST(Config, PartialOverrideKeepsOtherDefaults) {
  Config expected;
  expected.retry.jitter = 0.5;
  EXPECT_EQ(load_from_string("retry: {jitter: 0.5}"), expected);
}

TEST(Config, EveryStrategyLevelAndFormat) {
  EXPECT_EQ(load_from_string("load_balancing: {strategy: health_score}").load_balancing.strategy,
            Strategy::health_score);
  EXPECT_EQ(
      load_from_string("load_balancing: {strategy: weighted_capacity}").load_balancing.strategy,
      Strategy::weighted_capacity);
  for (const char* level : {"trace", "debug", "info", "warn", "error", "critical", "off"}) {
    EXPECT_EQ(load_from_string(std::string("logging: {level: ") + level + "}").logging.level,
              level);
  }
  EXPECT_EQ(load_from_string("logging: {format: text}").logging.format, LogFormat::text);
}

TEST(Config, ToString) {
  EXPECT_STREQ(to_string(Strategy::weighted_capacity), "weighted_capacity");
  EXPECT_STREQ(to_string(Strategy::health_score), "health_score");
  EXPECT_STREQ(to_string(Strategy::round_robin), "round_robin");
  EXPECT_STREQ(to_string(LogFormat::text), "text");
  EXPECT_STREQ(to_string(LogFormat::json), "json");
}

TEST(Config, ContractExampleMessage) {
  expect_problem("health:\n  min_score_primary: high\n",
                 R"(health.min_score_primary: expected an integer 0-100, got "high")");
  try {
    load_from_string("health: {min_score_primary: high}");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), R"(health.min_score_primary: expected an integer 0-100, got "high")");
  }
}

TEST(Config, UnknownKeys) {
  expect_problem("nmae: x", "nmae: unknown key");
  expect_problem("queue: {nmae: x}", "queue.nmae: unknown key");
  expect_problem("health: {weights: {foo: 1}}", "health.weights.foo: unknown key");
  expect_problem("selection: {switch_thresholds: {bar: 1}}",
                 "selection.switch_thresholds.bar: unknown key");
  expect_problem("analytics: {alert_thresholds: {baz: 1}}",
                 "analytics.alert_thresholds.baz: unknown key");
}

TEST(Config, KeysMustBeStrings) {
  expect_problem("? [a, b]\n: 1\n", "top level: expected string keys, got a sequence");
  expect_problem("queue: {~: 1}", "queue: expected string keys, got null");
}

TEST(Config, DuplicateKeys) {
  expect_problem("queue: {name: a, name: b}", "queue.name: duplicate key");
  expect_problem("redis: {}\nredis: {}\n", "redis: duplicate key");
}

TEST(Config, TopLevelMustBeAMapping) {
  expect_problem("- a\n- b\n", "top level: expected a mapping, got a sequence");
  expect_problem("hello\n", R"(top level: expected a mapping, got "hello")");
}

TEST(Config, SectionMustBeAMapping) {
  expect_problem("queue: 5", R"(queue: expected a mapping, got "5")");
  expect_problem("health: {weights: [1, 2]}", "health.weights: expected a mapping, got a sequence");
}

TEST(Config, WrongTypes) {
  expect_problem("redis: {host: {a: 1}}", "redis.host: expected a string, got a mapping");
  expect_problem("redis: {password: [x]}", "redis.password: expected a string, got a sequence");
  expect_problem("redis: {prefix: ~}", "redis.prefix: expected a string, got null");
  expect_problem("redis: {port: \"6379\"}",
                 R"(redis.port: expected an integer 1-65535, got "6379" (a string))");
  expect_problem("redis: {port: [1]}", "redis.port: expected an integer 1-65535, got a sequence");
  expect_problem("retry: {jitter: \"0.5\"}",
                 R"(retry.jitter: expected a number >= 0 and < 1, got "0.5" (a string))");
  expect_problem("retry: {base_delay: soon}",
                 R"(retry.base_delay: expected a number > 0 and <= 315360000, got "soon")");
  expect_problem("retry: {base_delay: true}",
                 R"(retry.base_delay: expected a number > 0 and <= 315360000, got "true")");
  expect_problem("queue: {max_payload_bytes: 100}",
                 R"(queue.max_payload_bytes: expected an integer 1024-536870912, got "100")");
  expect_problem("queue: {batch_size: yes}",
                 R"(queue.batch_size: expected an integer 1-10000, got "yes")");
  expect_problem("queue: {batch_size: 0x10}",
                 R"(queue.batch_size: expected an integer 1-10000, got "0x10")");
  expect_problem("results: {ttl_seconds: }",
                 "results.ttl_seconds: expected an integer 1-315360000, got null");
}

TEST(Config, IntegerGivenAsFraction) {
  expect_problem("health: {min_score_primary: 1.5}",
                 R"(health.min_score_primary: expected an integer 0-100, got "1.5")");
  expect_problem("queue: {lease_seconds: 60.0}",
                 R"(queue.lease_seconds: expected an integer 1-315360000, got "60.0")");
  expect_problem("queue: {lease_seconds: 1e2}",
                 R"(queue.lease_seconds: expected an integer 1-315360000, got "1e2")");
}

TEST(Config, Booleans) {
  for (const char* word : {"true", "True", "TRUE", "yes", "Yes", "YES"}) {
    EXPECT_TRUE(load_from_string(std::string("selection: {enable_auto_switching: false}\n"
                                             "analytics: {real_time_monitoring: ") +
                                 word + "}")
                    .analytics.real_time_monitoring)
        << word;
  }
  for (const char* word : {"false", "False", "FALSE", "no", "No", "NO"}) {
    EXPECT_FALSE(load_from_string(std::string("analytics: {real_time_monitoring: ") + word + "}")
                     .analytics.real_time_monitoring)
        << word;
  }
  expect_problem("selection: {enable_auto_switching: 1}",
                 R"(selection.enable_auto_switching: expected a boolean (true or false), got "1")");
  expect_problem(
      "selection: {enable_auto_switching: \"true\"}",
      R"(selection.enable_auto_switching: expected a boolean (true or false), got "true" (a string))");
  expect_problem(
      "selection: {enable_auto_switching: on}",
      R"(selection.enable_auto_switching: expected a boolean (true or false), got "on")");
}

TEST(Config, IntegerRanges) {
  struct Case {
    const char* section;
    const char* key;
    long long lo;
    long long hi;  // 0: unbounded
    const char* expected;
  };
  const Case cases[] = {
      {"redis", "port", 1, 65535, "an integer 1-65535"},
      {"redis", "db", 0, 15, "an integer 0-15"},
      {"queue", "lease_seconds", 1, 315360000, "an integer 1-315360000"},
      {"queue", "batch_size", 1, 10000, "an integer 1-10000"},
      {"queue", "max_deliveries", 1, 0, "an integer >= 1"},
      {"results", "ttl_seconds", 1, 315360000, "an integer 1-315360000"},
      {"retry", "max_attempts", 1, 0, "an integer >= 1"},
      {"health", "max_sessions_per_workspace", 1, 1000, "an integer 1-1000"},
      {"analytics", "retention_period_days", 1, 3650, "an integer 1-3650"},
  };
  for (const auto& c : cases) {
    const std::string prefix = std::string(c.section) + ": {" + c.key + ": ";
    const std::string path = std::string(c.section) + "." + c.key;
    const auto yaml = [&](long long v) { return prefix + std::to_string(v) + "}"; };
    expect_valid(yaml(c.lo));
    expect_problem(yaml(c.lo - 1), path + ": expected " + c.expected + ", got \"" +
                                       std::to_string(c.lo - 1) + "\"");
    if (c.hi != 0) {
      expect_valid(yaml(c.hi));
      expect_problem(yaml(c.hi + 1), path + ": expected " + c.expected + ", got \"" +
                                         std::to_string(c.hi + 1) + "\"");
    }
  }
  // Time spans stop at ten years: more would overflow due times and Redis expiry times.
  expect_problem("queue: {lease_seconds: 99999999999}",
                 R"(queue.lease_seconds: expected an integer 1-315360000, got "99999999999")");
  expect_problem(
      "results: {ttl_seconds: 99999999999999999999}",
      R"(results.ttl_seconds: expected an integer 1-315360000, got "99999999999999999999")");
}

TEST(Config, ScoreRanges) {
  // Each score key with its neighbours set so that only the key under test can be wrong.
  const auto health = [](const std::string& primary, const std::string& secondary) {
    return "health: {min_score_primary: " + primary + ", min_score_secondary: " + secondary + "}";
  };
  expect_valid(health("0", "0"));
  expect_valid(health("100", "100"));
  expect_problem(health("-1", "0"),
                 R"(health.min_score_primary: expected an integer 0-100, got "-1")");
  expect_problem(health("101", "0"),
                 R"(health.min_score_primary: expected an integer 0-100, got "101")");
  expect_problem(health("100", "-1"),
                 R"(health.min_score_secondary: expected an integer 0-100, got "-1")");
  expect_problem(health("100", "101"),
                 R"(health.min_score_secondary: expected an integer 0-100, got "101")");

  const auto threshold = [](const std::string& v) {
    return "selection: {switch_thresholds: {health_score_threshold: " + v + "}}";
  };
  expect_valid(threshold("0"));
  expect_valid(threshold("100"));
  expect_problem(threshold("-1"),
                 "selection.switch_thresholds.health_score_threshold: expected an integer 0-100, "
                 "got \"-1\"");
  expect_problem(threshold("101"),
                 "selection.switch_thresholds.health_score_threshold: expected an integer 0-100, "
                 "got \"101\"");
}

TEST(Config, NumberRanges) {
  // Open lower bounds: 0 is out, any positive fraction is in; time spans stop at ten years.
  for (const auto& [section, key] :
       std::vector<std::pair<std::string, std::string>>{{"retry", "base_delay"},
                                                        {"retry", "max_delay"},
                                                        {"health", "check_interval"},
                                                        {"load_balancing", "base_capacity"}}) {
    const std::string range = key == "base_capacity" ? "> 0" : "> 0 and <= 315360000";
    expect_valid(section + ": {" + key + ": 0.001}");
    expect_problem(section + ": {" + key + ": 0}",
                   section + "." + key + ": expected a number " + range + ", got \"0\"");
    expect_problem(section + ": {" + key + ": -1}",
                   section + "." + key + ": expected a number " + range + ", got \"-1\"");
    if (key != "base_capacity") {
      expect_valid(section + ": {" + key + ": 315360000}");
      expect_problem(section + ": {" + key + ": 1e17}",
                     section + "." + key + ": expected a number " + range + ", got \"1e17\"");
    }
  }
  expect_valid("selection: {switch_thresholds: {response_time_threshold: 0.5}}");
  expect_problem("selection: {switch_thresholds: {response_time_threshold: 0}}",
                 "selection.switch_thresholds.response_time_threshold: expected a number > 0, "
                 "got \"0\"");
  expect_problem("analytics: {alert_thresholds: {slow_delivery: 0.0}}",
                 R"(analytics.alert_thresholds.slow_delivery: expected a number > 0, got "0.0")");

  // jitter: 0 <= j < 1.
  EXPECT_EQ(load_from_string("retry: {jitter: 0}").retry.jitter, 0);
  EXPECT_EQ(load_from_string("retry: {jitter: 0.999}").retry.jitter, 0.999);
  expect_problem("retry: {jitter: 1.0}",
                 R"(retry.jitter: expected a number >= 0 and < 1, got "1.0")");
  expect_problem("retry: {jitter: 1}", R"(retry.jitter: expected a number >= 0 and < 1, got "1")");
  expect_problem("retry: {jitter: -0.1}",
                 R"(retry.jitter: expected a number >= 0 and < 1, got "-0.1")");

  // Percentages 0-100, both ends included.
  for (const std::string path : {"selection.switch_thresholds.error_rate_threshold",
                                 "analytics.alert_thresholds.high_error_rate",
                                 "analytics.alert_thresholds.low_success_rate"}) {
    const auto dot1 = path.find('.');
    const auto dot2 = path.rfind('.');
    const auto yaml = [&](const std::string& v) {
      return path.substr(0, dot1) + ": {" + path.substr(dot1 + 1, dot2 - dot1 - 1) + ": {" +
             path.substr(dot2 + 1) + ": " + v + "}}";
    };
    expect_valid(yaml("0"));
    expect_valid(yaml("100"));
    expect_valid(yaml("99.5"));
    expect_problem(yaml("100.5"), path + ": expected a number 0-100, got \"100.5\"");
    expect_problem(yaml("-0.5"), path + ": expected a number 0-100, got \"-0.5\"");
  }

  // Fractions and exponents are numbers.
  EXPECT_EQ(load_from_string("retry: {max_delay: 1e3}").retry.max_delay, 1000);
  EXPECT_EQ(load_from_string("retry: {max_delay: +.5}").retry.max_delay, 0.5);
}

TEST(Config, NonFiniteNumbersRejected) {
  expect_problem("retry: {max_delay: .inf}",
                 R"(retry.max_delay: expected a number > 0 and <= 315360000, got ".inf")");
  expect_problem("retry: {max_delay: .nan}",
                 R"(retry.max_delay: expected a number > 0 and <= 315360000, got ".nan")");
  expect_problem("retry: {max_delay: inf}",
                 R"(retry.max_delay: expected a number > 0 and <= 315360000, got "inf")");
  expect_problem("retry: {max_delay: nan}",
                 R"(retry.max_delay: expected a number > 0 and <= 315360000, got "nan")");
  expect_problem("retry: {max_delay: 1e999}",
                 R"(retry.max_delay: expected a number > 0 and <= 315360000, got "1e999")");
  expect_problem("health: {weights: {uptime: .NaN}}",
                 R"(health.weights.uptime: expected a number >= 0, got ".NaN")");
}

TEST(Config, MaxDelayBelowBaseDelayIsAllowed) {
  const Config c = load_from_string("retry: {base_delay: 600, max_delay: 60}");
  EXPECT_EQ(c.retry.base_delay, 600);
  EXPECT_EQ(c.retry.max_delay, 60);
}

TEST(Config, Enums) {
  expect_problem(
      "load_balancing: {strategy: fastest}",
      R"(load_balancing.strategy: expected one of weighted_capacity, health_score, round_robin, got "fastest")");
  expect_problem(
      "load_balancing: {strategy: Round_Robin}",
      R"(load_balancing.strategy: expected one of weighted_capacity, health_score, round_robin, got "Round_Robin")");
  expect_problem(
      "logging: {level: verbose}",
      R"(logging.level: expected one of trace, debug, info, warn, error, critical, off, got "verbose")");
  expect_problem("logging: {format: xml}",
                 R"(logging.format: expected one of text, json, got "xml")");
  expect_problem("logging: {format: [text]}",
                 "logging.format: expected one of text, json, got a sequence");
}

TEST(Config, SecondaryScoreAbovePrimary) {
  expect_problem("health: {min_score_primary: 70, min_score_secondary: 71}",
                 "health.min_score_secondary: expected an integer <= health.min_score_primary "
                 "(70), got 71");
  // The default secondary (60) is checked against a lowered primary too.
  expect_problem("health: {min_score_primary: 50}",
                 "health.min_score_secondary: expected an integer <= health.min_score_primary "
                 "(50), got 60");
  expect_valid("health: {min_score_primary: 50, min_score_secondary: 50}");
  // An invalid primary is reported once, without a follow-up cross-field error.
  EXPECT_EQ(problems_of("health: {min_score_primary: -5}").size(), 1u);
}

TEST(Config, Weights) {
  expect_problem(
      "health: {weights: {connection_stability: 0, message_success_rate: 0, recent_activity: 0, "
      "response_time: 0, uptime: 0, error_rate: 0.5}}",
      "health.weights: expected a positive sum of connection_stability, message_success_rate, "
      "recent_activity, response_time and uptime, got 0");
  // One positive non-error weight is enough; error_rate may be zero.
  expect_valid(
      "health: {weights: {connection_stability: 0, message_success_rate: 0, recent_activity: 0, "
      "response_time: 0, uptime: 0.01, error_rate: 0}}");
  expect_problem("health: {weights: {error_rate: -0.1}}",
                 R"(health.weights.error_rate: expected a number >= 0, got "-0.1")");
  expect_problem("health: {weights: {connection_stability: -1}}",
                 R"(health.weights.connection_stability: expected a number >= 0, got "-1")");
}

TEST(Config, MetricsListen) {
  for (const char* ok : {"", "127.0.0.1:9464", "0.0.0.0:1", "localhost:65535", "[::1]:9464",
                         "[::]:80", "[2001:db8::1]:9100"}) {
    EXPECT_EQ(load_from_string(std::string("metrics: {listen: \"") + ok + "\"}").metrics.listen,
              ok);
  }
  for (const char* bad :
       {"9464", ":9464", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
        "127.0.0.1:-1", "127.0.0.1:http", "example.com:80", "::1:9464", "[::1]", "[::1]:0",
        "[127.0.0.1]:80", "256.0.0.1:80", "1.2.3:80", "localhost:80 ", " localhost:80"}) {
    expect_problem(std::string("metrics: {listen: \"") + bad + "\"}",
                   std::string("metrics.listen: expected \"\" (off) or host:port (host an IPv4 "
                               "address, localhost or [IPv6 address]; port 1-65535), got \"") +
                       bad + "\"");
  }
}

TEST(Config, MetricsConnectionLimits) {
  const Config c = load_from_string("metrics: {idle_timeout: 0.5, max_connections: 8}");
  EXPECT_EQ(c.metrics.idle_timeout, 0.5);
  EXPECT_EQ(c.metrics.max_connections, 8);
  expect_problem("metrics: {idle_timeout: 0}",
                 R"(metrics.idle_timeout: expected a number > 0 and <= 3600, got "0")");
  expect_problem("metrics: {idle_timeout: 3601}",
                 R"(metrics.idle_timeout: expected a number > 0 and <= 3600, got "3601")");
  expect_problem("metrics: {max_connections: 0}",
                 R"(metrics.max_connections: expected an integer 1-10000, got "0")");
  expect_problem("metrics: {max_connections: many}",
                 R"(metrics.max_connections: expected an integer 1-10000, got "many")");
}

TEST(Config, RequiredTexts) {
  expect_problem("queue: {name: \"\"}", R"(queue.name: expected a non-empty string, got "")");
  expect_problem(
      "redis: {host: \"\"}",
      R"(redis.host: expected a non-empty host when redis.unix_socket is empty, got "")");
  const Config c = load_from_string("redis: {host: \"\", unix_socket: /run/redis.sock}");
  EXPECT_EQ(c.redis.host, "");
  EXPECT_EQ(c.redis.unix_socket, "/run/redis.sock");
}

TEST(Config, TextKeepsScalarAsWritten) {
  const Config c = load_from_string("redis: {password: 007, prefix: 'true'}\nqueue: {name: 1.50}");
  EXPECT_EQ(c.redis.password, "007");
  EXPECT_EQ(c.redis.prefix, "true");
  EXPECT_EQ(c.queue.name, "1.50");
}

TEST(Config, OffendingValueIsEscaped) {
  expect_problem(
      "logging: {level: \"a\\\"b\\nc\"}",
      R"(logging.level: expected one of trace, debug, info, warn, error, critical, off, got "a\"b\nc")");
}

TEST(Config, SeveralErrorsAllReported) {
  const auto problems = problems_of(R"(
redis: {port: 0, db: 16}
queue: {nmae: x, batch_size: 1.5}
retry: {jitter: 1}
health:
  min_score_primary: high
  weights: {foo: 1}
logging: {level: loud}
extra: 1
)");
  const std::vector<std::string> expected = {
      R"(redis.port: expected an integer 1-65535, got "0")",
      R"(redis.db: expected an integer 0-15, got "16")",
      R"(queue.batch_size: expected an integer 1-10000, got "1.5")",
      "queue.nmae: unknown key",
      R"(retry.jitter: expected a number >= 0 and < 1, got "1")",
      R"(health.min_score_primary: expected an integer 0-100, got "high")",
      "health.weights.foo: unknown key",
      R"(logging.level: expected one of trace, debug, info, warn, error, critical, off, got "loud")",
      "extra: unknown key",
  };
  EXPECT_EQ(problems, expected);
  try {
    load_from_string("redis: {port: 0}\nextra: 1\n");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(),
                 "redis.port: expected an integer 1-65535, got \"0\"\nextra: unknown key");
  }
}

TEST(Config, SyntaxErrorNamesLineAndColumn) {
  try {
    load_from_string("redis:\n  port: 1\n  host: [a, b\n", "test.yaml");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    ASSERT_EQ(e.problems().size(), 1u);
    EXPECT_EQ(e.problems()[0].rfind("test.yaml:4:1: ", 0), 0u) << e.problems()[0];
  }
  try {
    load_from_string("a: 1\nb: : 2\n");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    ASSERT_EQ(e.problems().size(), 1u);
    EXPECT_EQ(e.problems()[0].rfind("<string>:2:", 0), 0u) << e.problems()[0];
  }
}

TEST(Config, SeveralDocumentsRejected) {
  expect_problem("queue: {name: a}\n---\nqueue: {name: b}\n",
                 "<string>: expected one YAML document, got 2");
}

class ConfigFile : public ::testing::Test {
 protected:
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    std::filesystem::create_directories(dir_);
    const auto path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }
  std::filesystem::path dir_ =
      std::filesystem::temp_directory_path() /
      ("wa_config_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
       ::testing::UnitTest::GetInstance()->current_test_info()->name());
};

TEST_F(ConfigFile, LoadsFile) {
  const auto path = write("ok.yaml", "queue: {name: from-file}\n");
  EXPECT_EQ(load_from_file(path).queue.name, "from-file");
}

TEST_F(ConfigFile, MissingFileNamesPathAndReason) {
  const auto path = (dir_ / "missing.yaml").string();
  try {
    load_from_file(path);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), (path + ": cannot open: No such file or directory").c_str());
  }
}

TEST_F(ConfigFile, DirectoryIsUnreadable) {
  std::filesystem::create_directories(dir_);
  try {
    load_from_file(dir_.string());
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), (dir_.string() + ": cannot read: Is a directory").c_str());
  }
}

TEST_F(ConfigFile, SyntaxErrorNamesFileAndLine) {
  const auto path = write("bad.yaml", "# comment\nqueue:\n  name: a: b\n");
  try {
    load_from_file(path);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind(path + ":3:", 0), 0u) << what;
  }
}

TEST_F(ConfigFile, KeyErrorsFromFile) {
  const auto path = write("keys.yaml", "health:\n  min_score_primary: high\n");
  try {
    load_from_file(path);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), R"(health.min_score_primary: expected an integer 0-100, got "high")");
  }
}

}  // namespace
