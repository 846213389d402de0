// The health cycle (CONTRACT.md section 3); provider switching (section 6) is in switching.cpp.
#include <spdlog/spdlog.h>

#include <array>
#include <boost/json.hpp>
#include <cmath>
#include <stdexcept>

#include "core/health.hpp"
#include "core/pacing.hpp"
#include "core/records.hpp"
#include "core/switching.hpp"
#include "daemon/daemon.hpp"
#include "queue/health_store.hpp"
#include "queue/pace_state.hpp"
#include "queue/php_values.hpp"

namespace wa::daemon {

namespace json = boost::json;

namespace {

// What the checks of one health cycle share.
struct HealthContext {
  const queue::Keys& keys;
  const config::Config& cfg;
  const queue::Store& store;
  double now;
  bool judge_pace = false;  // pacing on, and the outcome counters can be trusted (see below)
};

// One health cycle's counts, for the log and the metrics.
struct HealthTally {
  std::size_t checked = 0, alerts = 0, silent = 0;
  std::array<int, 3> bands{};    // healthy (primary tier), degraded (secondary), unhealthy
  std::array<int, 3> factors{};  // webjs sessions at full pace, at half or more, below half
};

constexpr std::size_t kChunk = 500;     // sessions per pipeline of the health cycle
constexpr long long kPruneStep = 4000;  // old wa:campaigns:active entries per script

// Section 8's adaptive pace of a webjs session at this check: the silent check, the factor's
// write when it changed (adaptive pace on), and the tally of factors. `pace` are the pace state's
// replies. Returns the silent alert entry when the session is silent.
std::optional<core::Alert> adapt_pace(const HealthContext& c, const core::Session& s,
                                      bool breaks_alert, const queue::Reply* pace,
                                      std::vector<queue::Call>& writes, HealthTally& t) {
  const auto& cfg = c.cfg.pacing.adaptive;
  const queue::PaceState st = queue::parse_pace_state(pace, c.now, cfg.report_grace);
  // Every event of the last hour reports one message's outcome (sent, delivered, read, failed).
  const core::AdaptiveStep step =
      core::adaptive_step(st.factor, breaks_alert, st.releases, s.last_hour.total, cfg);
  if (step.write) {
    writes.push_back(queue::factor_write(c.keys, s.id, *step.write));
    const bool down = step.factor < st.factor.value_or(1.0);
    spdlog::log(down ? spdlog::level::info : spdlog::level::debug,
                "health: session {} pace factor {} -> {}{}", s.id, st.factor.value_or(1.0),
                step.factor, down ? (breaks_alert ? " (alert limit broken)" : " (silent)") : "");
  }
  if (cfg.enabled) ++t.factors[step.factor >= 1.0 ? 0 : step.factor >= 0.5 ? 1 : 2];
  if (!step.silent.silent) return std::nullopt;
  ++t.silent;
  return core::Alert{core::AlertType::silent, step.silent.reported_percent, cfg.min_reported};
}

// A session read and with its last hour: its score, alerts (silent included, edge-triggered
// against the mask the last check stored) and pace, and their writes.
void conclude_session(const HealthContext& c, const std::string& ws, core::Session& s,
                      const queue::SessionReplies& r, std::vector<queue::Call>& writes,
                      HealthTally& t) {
  s.metrics = core::compute_metrics(s, s.last_hour, c.now);
  s.health = core::health_score(s.metrics, c.cfg.health.weights);
  ++t.bands[s.health >= c.cfg.health.min_score_primary     ? 0
            : s.health >= c.cfg.health.min_score_secondary ? 1
                                                           : 2];
  auto alerts = core::broken_limits(s.last_hour, c.cfg.analytics.alert_thresholds);
  const core::AlertMask before = r.alerts;
  const core::AlertMask silent_bit = core::mask_of({core::Alert{core::AlertType::silent, 0, 0}});
  core::AlertMask kept = 0;  // a silent state not judged at this check stays as it was
  if (c.judge_pace && s.provider == core::ProviderType::webjs) {
    if (auto silent = adapt_pace(c, s, !alerts.empty(), r.pace, writes, t))
      alerts.push_back(*silent);
  } else if (c.cfg.pacing.enabled) {
    kept = before & silent_bit;
  }
  const bool silent = !alerts.empty() && alerts.back().type == core::AlertType::silent;
  const core::AlertMask mask = core::mask_of(alerts) | kept;
  if (core::alert_is_new(before, mask)) {
    ++t.alerts;
    spdlog::warn("health: session {} (workspace {}) breaks {} alert limit(s), health {}", s.id, ws,
                 alerts.size(), s.health);
    if (silent && core::alert_is_new(before, silent_bit)) {
      spdlog::warn(
          "health: session {} (workspace {}) is silent: {:.1f} % of its releases reported "
          "(threshold {} %)",
          s.id, ws, alerts.back().value, alerts.back().threshold);
    }
    const std::string alert = core::alert_json(s.id, ws, alerts, s.health, c.now);
    queue::add_alert_writes(c.keys, alert, c.cfg.analytics.real_time_monitoring, writes);
  }
  c.store.add_health_writes(writes, s, s.last_hour, mask, c.now, c.cfg);
  ++t.checked;
}

void report_tally(Metrics& m, const HealthTally& t, bool pace_judged, std::size_t workspaces) {
  m.alerts.Increment(static_cast<double>(t.alerts));
  m.set_health_bands(t.bands[0], t.bands[1], t.bands[2]);
  if (pace_judged) m.set_pace(static_cast<int>(t.silent), t.factors[0], t.factors[1], t.factors[2]);
  spdlog::info("health: {} sessions in {} workspaces checked, {} new alerts", t.checked, workspaces,
               t.alerts);
}

}  // namespace

asio::awaitable<void> Daemon::prune_active(double now) {
  // wa:campaigns:active loses entries older than 24 h whether or not switching is on (section 4),
  // 4,000 per script (about 2 ms): a busy app's interval adds hundreds of thousands, and one
  // ZREMRANGEBYSCORE over them would block Redis for a tenth of a second or more.
  const std::string day_ago = std::to_string(static_cast<long long>((now - 86400) * 1000));
  while (!stopping_) {
    const auto pruned = co_await queue::prune_active_step(*conn_, keys_, day_ago, kPruneStep);
    if (pruned.error) spdlog::warn("health: pruning {}: {}", keys_.active(), *pruned.error);
    if (pruned.error || pruned.removed < kPruneStep) break;
  }
}

asio::awaitable<void> Daemon::health_cycle() {
  const double now = wall_now();
  queue::PhpValues php;  // values the app's phpredis serialized: decoded, and reported below
  const queue::HealthSessions checked = co_await queue::sessions_to_check(*conn_, keys_, php);
  const std::vector<std::pair<std::string, std::string>>& all = checked.pairs;
  HealthContext ctx{keys_, cfg_, store_, now};
  if (cfg_.pacing.enabled) {
    const std::uint64_t waiting = co_await queue::events_waiting(*conn_, keys_);
    ctx.judge_pace = core::reports_settled(health_cycles_run_ == 0, waiting, kEventBatch);
    if (!ctx.judge_pace) {
      spdlog::info("health: pace factors and silence not judged at this check ({})",
                   health_cycles_run_ == 0 ? "the daemon's first"
                                           : "message events wait in " + keys_.events());
    }
  }
  ++health_cycles_run_;
  const queue::HealthReads session_reads(keys_, store_, cfg_.pacing.enabled);
  HealthTally tally;
  // Chunks of sessions: the reads of the next chunk are on the wire while this one is computed,
  // and its writes go out while the next one is read and computed.
  auto reads_of = [&](std::size_t base) {
    const std::size_t end = std::min(all.size(), base + kChunk);
    std::vector<queue::Call> reads;
    reads.reserve(session_reads.stride() * (end - base));
    for (std::size_t i = base; i < end; ++i)
      session_reads.add(all[i].second, reads);
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
    writes.reserve(4 * (end - base));
    std::vector<std::string> stale;
    for (std::size_t i = base; i < end; ++i) {
      const auto& [ws, sid] = all[i];
      const queue::SessionReplies r = session_reads.at(r2, i - base);
      std::string problem;
      core::Session s = queue::session_of(keys_, sid, r.hash, php, problem);
      if (!s.exists) {
        spdlog::warn("health: session {} of workspace {} skipped: {}", sid, ws,
                     problem.empty() ? "hash " + keys_.session(sid) + " is missing" : problem);
        continue;
      }
      stale.clear();
      s.last_hour = co_await store_.last_hour_of(r.stats, sid, now, &stale);
      conclude_session(ctx, ws, s, r, writes, tally);
      if (!stale.empty()) writes.push_back(queue::stale_stats_delete(keys_, sid, stale));
    }
    if (writing) (void)co_await writing->get();
    writing.emplace(*conn_, std::move(writes));
  }
  if (writing) (void)co_await writing->get();
  for (const auto& w : php.warnings)
    warn_once("health: " + w, now);
  report_tally(metrics_, tally, ctx.judge_pace, checked.workspaces);

  co_await prune_active(now);
  if (cfg_.selection.enable_auto_switching) co_await switch_campaigns(now);
}

}  // namespace wa::daemon
