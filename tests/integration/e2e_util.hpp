// Shared helpers of the functional end-to-end tests (decisions, retry/dead, health/events):
// JSON access to the records the daemon writes, and a per-test environment.
#pragma once

#include <gtest/gtest.h>
#include <time.h>

#include <boost/json.hpp>
#include <memory>
#include <optional>
#include <ostream>
#include <regex>
#include <string>
#include <vector>

#include "harness.hpp"

namespace wa::test {

namespace json = boost::json;

// Short intervals so that retries and health cycles happen within a test.
inline const std::string kFastConfig =
    "retry: {base_delay: 0.2, max_delay: 1, jitter: 0.2, max_attempts: 3}\n"
    "health: {check_interval: 0.5}\n"
    "results: {ttl_seconds: 3600}\n";

// kFastConfig with pacing on (no jitter) and the HTTP listener (status page) on `port`.
inline std::string paced_http_config(int port) {
  return kFastConfig + "metrics: {listen: \"127.0.0.1:" + std::to_string(port) +
         "\"}\npacing: {enabled: true, jitter: 0}\n";
}

inline json::value parse_json(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) throw std::runtime_error("not JSON (" + ec.message() + "): " + text.substr(0, 300));
  return v;
}

inline json::object parse_object(const std::string& text) {
  json::value v = parse_json(text);
  if (!v.is_object()) throw std::runtime_error("not a JSON object: " + text.substr(0, 300));
  return std::move(v.as_object());
}

// The string member `k`, or "" when absent or not a string.
inline std::string str_of(const json::object& o, std::string_view k) {
  const json::value* v = o.if_contains(k);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

inline bool is_iso8601(const std::string& s) {
  static const std::regex re(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$)");
  return std::regex_match(s, re);
}

// "2026-11-25T12:00:00.123Z" → Unix milliseconds.
inline long long iso_ms(const std::string& s) {
  if (!is_iso8601(s)) throw std::runtime_error("not an ISO-8601 UTC time: " + s);
  tm t{};
  t.tm_year = std::stoi(s.substr(0, 4)) - 1900;
  t.tm_mon = std::stoi(s.substr(5, 2)) - 1;
  t.tm_mday = std::stoi(s.substr(8, 2));
  t.tm_hour = std::stoi(s.substr(11, 2));
  t.tm_min = std::stoi(s.substr(14, 2));
  t.tm_sec = std::stoi(s.substr(17, 2));
  return static_cast<long long>(timegm(&t)) * 1000 + std::stoll(s.substr(20, 3));
}

inline long long now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Every record of wa:results, parsed.
inline std::vector<json::object> results(Client& c, const std::string& prefix = "") {
  std::vector<json::object> out;
  for (const auto& r : c.list(prefix + "wa:results"))
    out.push_back(parse_object(r));
  return out;
}

// Decision records (they have a "type") of one job.
inline std::vector<json::object> decisions_of(Client& c, const std::string& job_id,
                                              const std::string& prefix = "") {
  std::vector<json::object> out;
  for (auto& r : results(c, prefix)) {
    if (r.contains("type") && str_of(r, "job_id") == job_id) out.push_back(std::move(r));
  }
  return out;
}

// Records of wa:results with "event" equal to `event` ("dead", "provider_switch").
inline std::vector<json::object> events_of(Client& c, const std::string& event,
                                           const std::string& prefix = "") {
  std::vector<json::object> out;
  for (auto& r : results(c, prefix)) {
    if (str_of(r, "event") == event) out.push_back(std::move(r));
  }
  return out;
}

// Waits for the decision record of `job_id` taken with `attempts`; nullopt on timeout.
inline std::optional<json::object> wait_decision(
    Client& c, const std::string& job_id, long long attempts = 0,
    std::chrono::milliseconds timeout = std::chrono::seconds(8), const std::string& prefix = "") {
  std::optional<json::object> found;
  wait_until(
      [&] {
        for (auto& r : decisions_of(c, job_id, prefix)) {
          const json::value* a = r.if_contains("attempts");
          if (a != nullptr && a->is_int64() && a->get_int64() == attempts) {
            found = std::move(r);
            return true;
          }
        }
        return false;
      },
      timeout);
  return found;
}

struct DistEntry {
  std::string target;
  long long count = -1;
  std::string key;
  bool operator==(const DistEntry&) const = default;
};

inline std::ostream& operator<<(std::ostream& os, const DistEntry& e) {
  return os << "{" << e.target << ", " << e.count << ", " << e.key << "}";
}

// The `distribution` of a decision record, in its order.
inline std::vector<DistEntry> distribution_of(const json::object& d) {
  std::vector<DistEntry> out;
  const json::value* v = d.if_contains("distribution");
  if (v == nullptr || !v->is_array()) throw std::runtime_error("no distribution array");
  for (const json::value& e : v->get_array()) {
    const json::object& o = e.as_object();
    DistEntry x;
    x.target = str_of(o, "target");
    const json::value* n = o.if_contains("count");
    x.count = n != nullptr && n->is_int64() ? n->get_int64() : -1;
    x.key = str_of(o, "key");
    out.push_back(x);
  }
  return out;
}

// RPUSH a job and, unless told otherwise, its notify entry (what Queue::pushRaw does).
inline void push_job(Client& c, const std::string& payload, const std::string& prefix = "",
                     bool notify = true) {
  c.cmd({"RPUSH", prefix + "queues:wa-campaigns", payload});
  if (notify) c.cmd({"RPUSH", prefix + "queues:wa-campaigns:notify", "1"});
}

// Holds the health lock so that no health cycle runs: stored health scores stay as seeded.
inline void pin_health(Client& c, const std::string& prefix = "") {
  c.cmd({"SET", prefix + "wa:lock:health", "held-by-test", "PX", "600000"});
}

// `Queue::size('wa-campaigns')` as Laravel computes it (LuaScripts::size(), atomic).
inline long long laravel_queue_size(Client& c, const std::string& prefix = "") {
  const std::string q = prefix + "queues:wa-campaigns";
  return c.integer({"EVAL",
                    "return redis.call('llen', KEYS[1]) + redis.call('zcard', KEYS[2]) + "
                    "redis.call('zcard', KEYS[3])",
                    "3", q, q + ":delayed", q + ":reserved"});
}

// One test's world: a private Redis, a client, and the daemon (started on demand).
struct Env {
  TempDir dir;
  RedisServer redis{dir};
  Client c{redis.socket()};
  std::unique_ptr<Daemon> daemon;

  Daemon& start(const std::string& yaml = kFastConfig) {
    daemon = std::make_unique<Daemon>(dir, redis.socket(), yaml);
    daemon->start();
    return *daemon;
  }
  std::string log() const { return daemon ? daemon->log() : std::string(); }
  // Waits until wa:results has at least n records.
  bool wait_results(long long n, std::chrono::milliseconds timeout = std::chrono::seconds(8),
                    const std::string& prefix = "") {
    return wait_until([&] { return c.integer({"LLEN", prefix + "wa:results"}) >= n; }, timeout);
  }
  // Waits until nothing is pending or in hand (queue and reserved empty).
  bool wait_idle(const std::string& prefix = "") {
    const std::string q = prefix + "queues:wa-campaigns";
    return wait_until([&] {
      return c.integer({"LLEN", q}) == 0 && c.integer({"ZCARD", q + ":reserved"}) == 0;
    });
  }
};

}  // namespace wa::test
