// The pacer (CONTRACT.md section 8): one loop, under the renewed lock wa:lock:pacer, that takes
// the due targets from wa:pace:due in bounded pages and calls each one's release step at its
// pace. The rules are core/pace_plan; the Redis work queue/pacer and queue/pace_targets.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "daemon/metrics.hpp"
#include "queue/keys.hpp"
#include "queue/pace_targets.hpp"
#include "queue/pacer.hpp"
#include "redis/connection.hpp"

namespace wa::daemon {

namespace asio = boost::asio;

class Pacer {
 public:
  using Warn = std::function<void(const std::string& message, double now)>;
  // `cfg`, `keys` and `metrics` are the daemon's and outlive the pacer (cfg changes on reload).
  Pacer(asio::io_context& io, redis::Connection& conn, const config::Config& cfg,
        const queue::Keys& keys, Metrics& metrics, std::string token, Warn warn);

  asio::awaitable<void> run();
  void stop();  // ends run() soon, releasing the lock

 private:
  struct Cached {
    queue::TargetRead read;
    double at = 0;
  };
  // Whether this daemon holds (or just took) the lock.
  asio::awaitable<bool> hold_lock();
  // One page of due targets; returns how long to wait before the next pass (0: more are due).
  asio::awaitable<double> pass();
  asio::awaitable<void> refresh(const std::vector<std::string>& targets, double now);
  // The release step's arguments of a target, or a hold (ZADD due at a later time).
  void plan(const std::string& target, std::int64_t due_ms, std::int64_t now_ms,
            std::vector<std::pair<std::string, queue::ReleaseArgs>>& releases,
            std::vector<std::string>& holds);
  void count(const std::vector<std::pair<std::string, queue::ReleaseArgs>>& releases,
             const queue::ReleaseBatch& batch, double now);
  // Targets whose release step failed (a key of another type, say) are looked at again a minute
  // later, not at every pass; the log names the keys of the wrong type.
  asio::awaitable<void> hold_failed(
      const std::vector<std::pair<std::string, queue::ReleaseArgs>>& releases,
      const queue::ReleaseBatch& batch, double now);
  asio::awaitable<double> idle_wait(std::int64_t now_ms);
  asio::awaitable<void> sleep(double seconds);
  double unit_random();

  redis::Connection& conn_;
  const config::Config& cfg_;
  const queue::Keys& keys_;
  Metrics& metrics_;
  std::string token_;
  Warn warn_;
  asio::steady_timer timer_;
  std::map<std::string, Cached> cache_;
  std::mt19937_64 rng_;
  bool holding_ = false;
  bool stopping_ = false;
};

}  // namespace wa::daemon
