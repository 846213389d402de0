// The health cycle (CONTRACT.md section 3); provider switching (section 6) is in switching.cpp.
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <cmath>
#include <stdexcept>

#include "core/health.hpp"
#include "core/records.hpp"
#include "core/switching.hpp"
#include "daemon/daemon.hpp"
#include "queue/php_values.hpp"

namespace wa::daemon {

namespace json = boost::json;

namespace {

constexpr std::size_t kChunk = 500;     // sessions per pipeline of the health cycle
constexpr long long kPruneStep = 4000;  // old wa:campaigns:active entries per script

}  // namespace

asio::awaitable<std::vector<std::pair<std::string, std::string>>> Daemon::sessions_to_check(
    queue::PhpValues& php, std::size_t& workspace_count) {
  redis::Command smembers{"SMEMBERS", keys_.workspaces()};
  const auto ws_reply = co_await queue::run1(*conn_, queue::plain(std::move(smembers)));
  std::vector<std::string> workspaces;
  for (const auto& e : ws_reply.elements)
    workspaces.emplace_back(php.member(keys_.workspaces(), e.str));
  std::sort(workspaces.begin(), workspaces.end());
  workspace_count = workspaces.size();
  std::vector<queue::Call> c1;
  for (const auto& ws : workspaces)
    c1.push_back(queue::plain({"SMEMBERS", keys_.workspace_sessions(ws)}));
  const auto r1 = co_await queue::run(*conn_, std::move(c1));
  std::vector<std::pair<std::string, std::string>> all;  // (workspace, session)
  for (std::size_t i = 0; i < workspaces.size(); ++i) {
    for (const auto& e : r1[i].elements)
      all.emplace_back(workspaces[i], php.member(keys_.workspace_sessions(workspaces[i]), e.str));
  }
  co_return all;
}

asio::awaitable<void> Daemon::prune_active(double now) {
  // wa:campaigns:active loses entries older than 24 h whether or not switching is on (section 4),
  // 4,000 per script (about 2 ms): a busy app's interval adds hundreds of thousands, and one
  // ZREMRANGEBYSCORE over them would block Redis for a tenth of a second or more.
  const std::vector<std::string> active{keys_.active()};
  const std::string day_ago = std::to_string(static_cast<long long>((now - 86400) * 1000));
  while (!stopping_) {
    std::vector<std::string> args{day_ago, std::to_string(kPruneStep)};
    queue::Call call = queue::script_call(queue::prune_active_script(), active, std::move(args));
    const auto pruned = co_await queue::run1(*conn_, std::move(call));
    if (pruned.is_error()) spdlog::warn("health: pruning {}: {}", keys_.active(), pruned.str);
    if (pruned.is_error() || queue::int_or(pruned) < kPruneStep) break;
  }
}

asio::awaitable<void> Daemon::health_cycle() {
  const double now = wall_now();
  queue::PhpValues php;  // values the app's phpredis serialized: decoded, and reported below
  std::size_t workspaces = 0;
  const std::vector<std::pair<std::string, std::string>> all =
      co_await sessions_to_check(php, workspaces);
  std::size_t checked = 0, alerts = 0;
  int bands[3] = {0, 0, 0};  // healthy (primary tier), degraded (secondary), unhealthy
  // Chunks of sessions: the reads of the next chunk are on the wire while this one is computed,
  // and its writes go out while the next one is read and computed.
  auto reads_of = [&](std::size_t base) {
    const std::size_t end = std::min(all.size(), base + kChunk);
    std::vector<queue::Call> reads;
    reads.reserve(3 * (end - base));
    for (std::size_t i = base; i < end; ++i) {
      const std::string& sid = all[i].second;
      reads.push_back(queue::plain({"HGETALL", keys_.session(sid)}));
      reads.push_back(store_.stats_read_call(sid));
      reads.push_back(queue::plain({"HGET", keys_.session_health(sid), "alerts"}));
    }
    return queue::Pending(*conn_, std::move(reads));
  };
  std::optional<queue::Pending> reading, writing;
  if (!all.empty()) reading.emplace(reads_of(0));
  for (std::size_t base = 0; base < all.size(); base += kChunk) {
    const std::size_t end = std::min(all.size(), base + kChunk);
    const auto r2 = co_await reading->get();
    reading.reset();
    if (end < all.size()) {
      reading.emplace(reads_of(end));
      conn_->flush();
    }
    std::vector<queue::Call> writes;
    writes.reserve(3 * (end - base));
    std::vector<std::string> stale;
    for (std::size_t i = base; i < end; ++i) {
      const auto& [ws, sid] = all[i];
      const std::size_t k = 3 * (i - base);
      std::string problem;
      bool known = false;
      queue::Fields fields = queue::pairs(r2[k]);
      php.fields(keys_.session(sid), fields);
      core::Session s = queue::parse_session(sid, fields, problem, known);
      if (!s.exists) {
        spdlog::warn("health: session {} of workspace {} skipped: {}", sid, ws,
                     problem.empty() ? "hash " + keys_.session(sid) + " is missing" : problem);
        continue;
      }
      stale.clear();
      s.last_hour = co_await store_.last_hour_of(r2[k + 1], sid, now, &stale);
      s.metrics = core::compute_metrics(s, s.last_hour, now);
      s.health = core::health_score(s.metrics, cfg_.health.weights);
      ++bands[s.health >= cfg_.health.min_score_primary     ? 0
              : s.health >= cfg_.health.min_score_secondary ? 1
                                                            : 2];
      const auto broken = core::broken_limits(s.last_hour, cfg_.analytics.alert_thresholds);
      const core::AlertMask mask = core::mask_of(broken);
      const auto before = static_cast<core::AlertMask>(queue::int_or(r2[k + 2], 0));
      if (core::alert_is_new(before, mask)) {
        ++alerts;
        spdlog::warn("health: session {} (workspace {}) breaks {} alert limit(s), health {}", sid,
                     ws, broken.size(), s.health);
        if (cfg_.analytics.real_time_monitoring) {
          writes.push_back(queue::plain(
              {"PUBLISH", keys_.alerts(), core::alert_json(sid, ws, broken, s.health, now)}));
        }
      }
      store_.add_health_writes(writes, s, s.last_hour, mask, now, cfg_);
      if (!stale.empty()) {
        redis::Command hdel{"HDEL", keys_.session_stats(sid)};
        hdel.insert(hdel.end(), stale.begin(), stale.end());
        writes.push_back(queue::plain(std::move(hdel)));
      }
      ++checked;
    }
    if (writing) (void)co_await writing->get();
    writing.emplace(*conn_, std::move(writes));
  }
  if (writing) (void)co_await writing->get();
  for (const auto& w : php.warnings)
    warn_once("health: " + w, now);
  metrics_.alerts.Increment(static_cast<double>(alerts));
  metrics_.set_health_bands(bands[0], bands[1], bands[2]);
  spdlog::info("health: {} sessions in {} workspaces checked, {} new alerts", checked, workspaces,
               alerts);

  co_await prune_active(now);
  if (cfg_.selection.enable_auto_switching) co_await switch_campaigns(now);
}

}  // namespace wa::daemon
