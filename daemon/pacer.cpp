#include "daemon/pacer.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>

#include "core/records.hpp"
#include "daemon/daemon.hpp"
#include "queue/store.hpp"

namespace wa::daemon {

namespace {

constexpr std::int64_t kLockMs = 5000;  // another daemon takes over within this
constexpr auto kRenewEvery = std::chrono::seconds(1);
constexpr std::size_t kPage = 1000;     // due targets per pass
constexpr double kSettingsSeconds = 5;  // a target's settings are read again after this
constexpr std::size_t kCacheLimit = 200000;
constexpr std::int64_t kUnreadableRetryMs = 60'000;
constexpr double kMaxIdleSeconds = 0.2;  // new backlogs are noticed within this

const char* class_of(const std::string& target) {
  return target.starts_with("meta_api:") ? "meta" : "webjs";
}

}  // namespace

Pacer::Pacer(asio::io_context& io, redis::Connection& conn, const config::Config& cfg,
             const queue::Keys& keys, Metrics& metrics, std::string token, Warn warn)
    : conn_(conn),
      cfg_(cfg),
      keys_(keys),
      metrics_(metrics),
      token_(std::move(token)),
      warn_(std::move(warn)),
      timer_(io),
      rng_(std::random_device{}()) {}

void Pacer::stop() {
  stopping_ = true;
  timer_.cancel();
}

double Pacer::unit_random() {
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
}

asio::awaitable<void> Pacer::sleep(double seconds) {
  if (stopping_) co_return;
  timer_.expires_after(std::chrono::microseconds(static_cast<long long>(seconds * 1e6)));
  boost::system::error_code ec;
  co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

asio::awaitable<bool> Pacer::hold_lock() {
  queue::Store store(conn_, keys_);
  const bool held = co_await store.hold_lock(keys_.pacer_lock(), token_, kLockMs);
  if (held && !holding_) spdlog::info("pacer: this daemon paces (lock {})", keys_.pacer_lock());
  if (!held && holding_) spdlog::warn("pacer: lock {} lost to another daemon", keys_.pacer_lock());
  holding_ = held;
  co_return held;
}

asio::awaitable<void> Pacer::run() {
  while (!stopping_) {
    try {
      if (cfg_.pacing.enabled && conn_.ready() && co_await hold_lock()) {
        const auto until = std::chrono::steady_clock::now() + kRenewEvery;
        while (!stopping_ && holding_ && cfg_.pacing.enabled &&
               std::chrono::steady_clock::now() < until) {
          const double wait = co_await pass();
          if (wait > 0) co_await sleep(wait);
        }
        continue;
      }
    } catch (const std::exception& e) {
      metrics_.loop_errors.Increment();
      spdlog::warn("pacer: pass interrupted: {}", e.what());
    }
    co_await sleep(1.0);
  }
  if (!holding_) co_return;
  try {
    queue::Store store(conn_, keys_);
    co_await store.release_lock(keys_.pacer_lock(), token_);  // the next daemon takes over now
  } catch (const std::exception&) {
    // The lock expires by itself.
  }
}

asio::awaitable<double> Pacer::idle_wait(std::int64_t now_ms) {
  redis::Command first{"ZRANGE", keys_.pace_due(), "0", "0", "WITHSCORES"};
  const auto r = co_await queue::run1(conn_, queue::plain(std::move(first)));
  if (r.elements.size() < 2) co_return kMaxIdleSeconds;
  const auto next = queue::to_number(r.elements[1].str).value_or(0);
  co_return std::clamp((next - static_cast<double>(now_ms)) / 1000.0, 0.002, kMaxIdleSeconds);
}

asio::awaitable<void> Pacer::refresh(const std::vector<std::string>& targets, double now) {
  std::vector<std::string> stale;
  for (const auto& t : targets) {
    const auto it = cache_.find(t);
    if (it == cache_.end() || now - it->second.at > kSettingsSeconds || it->second.at > now) {
      stale.push_back(t);
    }
  }
  if (stale.empty()) co_return;
  auto read = co_await queue::read_pace_targets(conn_, keys_, stale, cfg_.load_balancing);
  if (cache_.size() + read.size() > kCacheLimit) cache_.clear();  // bounded, whatever the data
  for (auto& [t, r] : read)
    cache_[t] = Cached{std::move(r), now};
}

asio::awaitable<double> Pacer::pass() {
  const double now = wall_now();
  const std::int64_t now_ms = to_ms(now);
  const auto due = co_await queue::due_targets(conn_, keys_, now_ms, kPage);
  if (due.empty()) co_return co_await idle_wait(now_ms);
  std::vector<std::string> targets;
  for (const auto& d : due)
    targets.push_back(d.name);
  co_await refresh(targets, now);
  std::vector<std::pair<std::string, queue::ReleaseArgs>> releases;
  std::vector<std::string> holds;  // ZADD XX arguments: score, target, ...
  for (const auto& d : due)
    plan(d.name, d.due_ms, now_ms, releases, holds);
  if (!holds.empty()) {
    redis::Command zadd{"ZADD", keys_.pace_due(), "XX"};
    zadd.insert(zadd.end(), holds.begin(), holds.end());
    (void)co_await queue::run1(conn_, queue::plain(std::move(zadd)));
  }
  if (!releases.empty()) {
    const auto batch = co_await queue::release_many(conn_, keys_, releases);
    count(releases, batch, now);
    co_await hold_failed(releases, batch, now);
  }
  if (targets.size() >= kPage) co_return 0.0;  // more are due
  const double wait = co_await idle_wait(to_ms(wall_now()));
  co_return wait;
}

void Pacer::plan(const std::string& target, std::int64_t due_ms, std::int64_t now_ms,
                 std::vector<std::pair<std::string, queue::ReleaseArgs>>& releases,
                 std::vector<std::string>& holds) {
  const double now = static_cast<double>(now_ms) / 1000.0;
  const queue::TargetRead& r = cache_[target].read;
  for (const auto& w : r.warnings)
    warn_("pacer: " + w, now);
  const auto hold = [&](std::int64_t until_ms) {
    holds.push_back(std::to_string(until_ms));
    holds.push_back(target);
  };
  if (!r.target) {
    warn_("pacer: target " + target + " is not paced for now: " + r.problem, now);
    metrics_.held(class_of(target), "no_rate");
    hold(now_ms + kUnreadableRetryMs);
    return;
  }
  // The due score is the time the pacer set for the target (its gap's end for a Meta target's
  // whole gaps); a finish step adds a target at its decision time, and the release step itself
  // holds back a target whose gap is not over ("early").
  core::PaceState state{due_ms, r.factor};
  if (!cfg_.pacing.adaptive.enabled) state.factor = 1;  // a factor left from before is not used
  const core::PassPlan p = core::plan_pass(*r.target, state, now_ms, unit_random(), cfg_.pacing);
  if (p.hold != core::HoldReason::none) {
    if (p.hold == core::HoldReason::hours) metrics_.held(class_of(target), "hours");
    if (p.hold == core::HoldReason::no_rate) metrics_.held(class_of(target), "no_rate");
    if (p.hold == core::HoldReason::offline) metrics_.held(class_of(target), "offline");
    hold(p.next_at_ms);
    return;
  }
  queue::ReleaseArgs a;
  a.now_ms = now_ms;
  a.now_iso = core::iso8601(now);
  a.n = p.n;
  a.room = p.room;
  a.next_at = p.next_at_ms;
  a.day = p.day;
  a.cap_today = p.cap_today;
  a.rate_per_hour = p.rate_per_hour;
  a.factor = state.factor;
  a.list_target = r.target->meta ? "meta_api" : "";
  a.cap_next_at = p.cap_next_at_ms;
  a.lock_token = token_;
  if (r.target->meta) {
    a.budget_portfolio = r.target->portfolio;
    a.tier_limit = r.target->tier_limit;
    a.budget_window_ms = cfg_.pacing.meta_budget_window * 1000;
  }
  releases.emplace_back(target, std::move(a));
}

void Pacer::count(const std::vector<std::pair<std::string, queue::ReleaseArgs>>& releases,
                  const queue::ReleaseBatch& batch, double now) {
  for (std::size_t i = 0; i < releases.size(); ++i) {
    const std::string& target = releases[i].first;
    if (!batch.errors[i].empty()) continue;  // hold_failed says why
    const queue::ReleaseResult& r = batch.results[i];
    if (r.paused_unreadable) {
      warn_("pacer: " + keys_.paused_campaigns() +
                " is not a set (the app SADDs paused campaign ids): no campaign is paused",
            now);
    }
    if (r.released > 0) metrics_.released(class_of(target), static_cast<double>(r.released));
    switch (r.reason) {
      case queue::ReleaseReason::cap:
      case queue::ReleaseReason::backpressure:
      case queue::ReleaseReason::paused:
      case queue::ReleaseReason::budget:
        metrics_.held(class_of(target), queue::to_string(r.reason));
        break;
      case queue::ReleaseReason::lock_lost:
        holding_ = false;
        break;
      default:
        break;
    }
  }
  if (!holding_) spdlog::warn("pacer: lock {} lost to another daemon", keys_.pacer_lock());
}

asio::awaitable<void> Pacer::hold_failed(
    const std::vector<std::pair<std::string, queue::ReleaseArgs>>& releases,
    const queue::ReleaseBatch& batch, double now) {
  const std::string until = std::to_string(to_ms(now) + kUnreadableRetryMs);
  redis::Command zadd{"ZADD", keys_.pace_due(), "XX"};
  for (std::size_t i = 0; i < releases.size(); ++i) {
    if (batch.errors[i].empty()) continue;
    const auto& [target, args] = releases[i];
    const auto wrong = co_await queue::wrong_type_keys(conn_, keys_, target, args);
    std::string why = wrong.empty() ? batch.errors[i] : std::string();
    for (const auto& w : wrong)
      why += (why.empty() ? "" : "; ") + w;
    warn_("pacer: target " + target + " is held for a minute, its release failed: " + why, now);
    zadd.insert(zadd.end(), {until, target});
  }
  if (zadd.size() > 3) (void)co_await queue::run1(conn_, queue::plain(std::move(zadd)));
}

}  // namespace wa::daemon
