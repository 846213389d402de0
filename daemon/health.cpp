// The health cycle (CONTRACT.md section 3) and provider switching (section 6).
#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <cmath>
#include <stdexcept>

#include "core/health.hpp"
#include "core/records.hpp"
#include "core/switching.hpp"
#include "core/utf8.hpp"
#include "daemon/daemon.hpp"

namespace wa::daemon {

namespace json = boost::json;

namespace {

constexpr std::size_t kChunk = 500;       // sessions per pipeline of the health cycle
constexpr std::size_t kSwitchPage = 500;  // active campaigns per ZSCAN page of switching
constexpr std::int64_t kSwitchLockMs = 30000;

std::string text_of(const json::value* v) {
  if (v == nullptr) return {};
  if (v->is_string()) return std::string(v->get_string());
  if (v->is_int64()) return std::to_string(v->get_int64());
  if (v->is_uint64()) return std::to_string(v->get_uint64());
  return {};
}

// What switching needs from a stored decision.
struct StoredCampaign {
  std::string id;
  core::Id campaign_id;
  std::string workspace_id;
  core::CampaignSpec spec;
  std::vector<core::DistributionEntry> distribution;
  std::string decision;  // the stored JSON, for compare-and-set
};

std::optional<StoredCampaign> read_decision(const std::string& id, const std::string& text) {
  boost::system::error_code ec;
  const json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const json::object& o = v.get_object();
  StoredCampaign c;
  c.id = id;
  c.decision = text;
  const json::value* cid = o.if_contains("campaign_id");
  c.campaign_id = {text_of(cid), cid != nullptr && cid->is_number()};
  c.workspace_id = text_of(o.if_contains("workspace_id"));
  if (c.workspace_id.empty()) return std::nullopt;
  const auto mode = text_of(o.if_contains("template_mode"));
  c.spec.mode = mode == "template" ? core::TemplateMode::template_ : core::TemplateMode::direct;
  const auto pref = text_of(o.if_contains("provider_preference"));
  c.spec.preference = pref == "webjs"      ? core::Preference::webjs
                      : pref == "meta_api" ? core::Preference::meta_api
                                           : core::Preference::automatic;
  if (const json::value* t = o.if_contains("template"); t && t->is_object()) {
    core::Template tmpl;
    const auto status = text_of(t->get_object().if_contains("status"));
    tmpl.status = status == "APPROVED"   ? core::TemplateStatus::approved
                  : status == "REJECTED" ? core::TemplateStatus::rejected
                  : status == "PAUSED"   ? core::TemplateStatus::paused
                  : status == "DISABLED" ? core::TemplateStatus::disabled
                                         : core::TemplateStatus::pending;
    if (const json::value* w = t->get_object().if_contains("webjs_compatible"); w && w->is_bool()) {
      tmpl.webjs_compatible = w->get_bool();
    }
    c.spec.tmpl = tmpl;
  }
  if (const json::value* d = o.if_contains("distribution"); d && d->is_array()) {
    for (const json::value& e : d->get_array()) {
      if (!e.is_object()) continue;
      const auto target = text_of(e.get_object().if_contains("target"));
      const json::value* n = e.get_object().if_contains("count");
      if (target.empty() || n == nullptr || !n->is_number()) continue;
      c.distribution.push_back({target, n->to_number<std::uint64_t>()});
    }
  }
  return c;
}

// The stored decision after a move: distribution, and type/session when they change.
std::string updated_decision(const StoredCampaign& c,
                             const std::vector<core::DistributionEntry>& dist,
                             const core::SwitchMove& move) {
  json::value v = json::parse(c.decision);
  json::object& o = v.as_object();
  json::array arr;
  bool any_session = false, any_meta = false;
  for (const auto& e : dist) {
    json::object entry;
    entry["target"] = core::to_valid_utf8(e.target);
    entry["count"] = e.count;
    entry["key"] = core::to_valid_utf8(core::dispatch_key(c.id, e.target));
    arr.push_back(std::move(entry));
    (e.target == "meta_api" ? any_meta : any_session) = true;
  }
  o["distribution"] = std::move(arr);
  if (any_session) {
    o["type"] = "webjs";
  } else if (any_meta) {
    o["type"] = "meta_api";
  }
  const json::value* session = o.if_contains("session");
  const std::string current =
      session && session->is_object() ? text_of(session->get_object().if_contains("id")) : "";
  const bool still_there = std::any_of(dist.begin(), dist.end(), [&](const auto& e) {
    return !current.empty() && e.target == current;
  });
  if (!still_there) {
    const core::Session* s = move.decision.session;
    if (s != nullptr) {
      json::object so;
      // As JsonWriter writes them: valid UTF-8 whatever the app stored (core/utf8.hpp).
      so["id"] = core::to_valid_utf8(s->id);
      so["uuid"] = core::to_valid_utf8(s->uuid);
      so["phone_number"] = core::to_valid_utf8(s->phone_number);
      so["health_score"] = s->health;
      so["is_primary"] = s->is_primary;
      o["session"] = std::move(so);
    } else {
      o["session"] = nullptr;
    }
  }
  return json::serialize(v);
}

}  // namespace

asio::awaitable<void> Daemon::health_cycle() {
  const double now = wall_now();
  redis::Command smembers{"SMEMBERS", keys_.workspaces()};
  const auto ws_reply = co_await queue::run1(*conn_, queue::plain(std::move(smembers)));
  std::vector<std::string> workspaces;
  for (const auto& e : ws_reply.elements)
    workspaces.push_back(e.str);
  std::sort(workspaces.begin(), workspaces.end());

  std::vector<queue::Call> c1;
  for (const auto& ws : workspaces)
    c1.push_back(queue::plain({"SMEMBERS", keys_.workspace_sessions(ws)}));
  const auto r1 = co_await queue::run(*conn_, std::move(c1));
  std::vector<std::pair<std::string, std::string>> all;  // (workspace, session)
  for (std::size_t i = 0; i < workspaces.size(); ++i) {
    for (const auto& e : r1[i].elements)
      all.emplace_back(workspaces[i], e.str);
  }

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
      core::Session s = queue::parse_session(sid, queue::pairs(r2[k]), problem, known);
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
  metrics_.alerts.Increment(static_cast<double>(alerts));
  metrics_.set_health_bands(bands[0], bands[1], bands[2]);
  spdlog::info("health: {} sessions in {} workspaces checked, {} new alerts", checked,
               workspaces.size(), alerts);

  // wa:campaigns:active loses entries older than 24 h whether or not switching is on (section 4).
  redis::Command prune{"ZREMRANGEBYSCORE", keys_.active(), "-inf",
                       std::to_string(static_cast<long long>((now - 86400) * 1000))};
  (void)co_await queue::run1(*conn_, queue::plain(std::move(prune)));

  if (cfg_.selection.enable_auto_switching) co_await switch_campaigns(now);
}

asio::awaitable<void> Daemon::switch_campaigns(double now) {
  // The active campaigns are walked in pages (ZSCAN), so that memory stays bounded however many
  // there are (an app that never removes finished campaigns keeps a day of them). A campaign
  // that ZSCAN returns twice is checked twice: the second check finds its targets moved.
  std::string cursor = "0";
  do {
    redis::Command zscan{"ZSCAN", keys_.active(), cursor, "COUNT", std::to_string(kSwitchPage)};
    const auto r = co_await queue::run1(*conn_, queue::plain(std::move(zscan)));
    if (!r.is_array() || r.elements.size() != 2 || !r.elements[1].is_array()) {
      throw std::runtime_error("switch: unexpected reply to ZSCAN " + keys_.active() +
                               (r.is_error() ? ": " + r.str : ""));
    }
    cursor = r.elements[0].str;
    std::vector<std::string> ids;
    const auto& page = r.elements[1].elements;
    for (std::size_t i = 0; i < page.size(); i += 2)  // member, score
      ids.push_back(page[i].str);
    if (!ids.empty()) co_await switch_page(ids, now);
  } while (cursor != "0" && !stopping_);
}

asio::awaitable<void> Daemon::switch_page(const std::vector<std::string>& ids, double now) {
  std::vector<queue::Call> gets;
  for (const auto& id : ids)
    gets.push_back(queue::plain({"GET", keys_.decision(id)}));
  const auto decisions = co_await queue::run(*conn_, std::move(gets));
  std::vector<StoredCampaign> campaigns;
  std::vector<std::string> workspaces;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (!decisions[i].is_string()) continue;
    auto c = read_decision(ids[i], decisions[i].str);
    if (!c) {
      spdlog::warn("switch: campaign {}: stored decision unreadable; skipped", ids[i]);
      continue;
    }
    workspaces.push_back(c->workspace_id);
    campaigns.push_back(std::move(*c));
  }
  std::sort(workspaces.begin(), workspaces.end());
  workspaces.erase(std::unique(workspaces.begin(), workspaces.end()), workspaces.end());
  const auto loaded = co_await store_.load_workspaces(workspaces, now, cfg_);

  std::vector<queue::Call> llens;
  for (const auto& c : campaigns) {
    for (const auto& e : c.distribution)
      llens.push_back(queue::plain({"LLEN", keys_.dispatch(c.id, e.target)}));
  }
  const auto lens = co_await queue::run(*conn_, std::move(llens));
  std::size_t at = 0;
  const std::string ttl = std::to_string(cfg_.results.ttl_seconds);
  for (auto& c : campaigns) {
    std::vector<core::TargetState> targets;
    for (const auto& e : c.distribution) {
      targets.push_back(
          {e.target, static_cast<std::uint64_t>(std::max(0LL, queue::int_or(lens[at++])))});
    }
    const auto& wd = loaded.at(c.workspace_id);
    const core::WorkspaceView view{wd.sessions, wd.meta, wd.webjs_7d, wd.meta_7d};
    const auto moves = core::plan_switches(c.spec, targets, view, cfg_);
    if (moves.empty()) continue;
    if (!co_await store_.hold_lock(keys_.campaign_lock(c.id), token_, kSwitchLockMs)) continue;
    for (const auto& move : moves) {
      const std::string reported = keys_.switch_reported(c.id);
      if (move.moved == 0) {
        redis::Command sadd{"SADD", reported, move.from};
        const auto first = co_await queue::run1(*conn_, queue::plain(std::move(sadd)));
        if (queue::int_or(first) == 1) {
          std::vector<queue::Call> rec;
          rec.push_back(queue::plain(
              {"RPUSH", keys_.results(), core::switch_json(c.campaign_id, move, now)}));
          rec.push_back(queue::plain({"EXPIRE", reported, ttl}));
          (void)co_await queue::run(*conn_, std::move(rec));
          spdlog::warn(
              "switch: campaign {}: target {} breaks ({}) but nowhere to move its contacts", c.id,
              move.from, core::to_string(move.reason));
        }
        continue;
      }
      auto dist = c.distribution;
      core::apply_move(dist, move);
      const std::string next = updated_decision(c, dist, move);
      const std::string src = keys_.dispatch(c.id, move.from);
      std::vector<std::string> args{token_, std::to_string(move.moved), c.decision, next,
                                    core::switch_json(c.campaign_id, move, now)};
      const auto& to = move.decision.distribution;
      const bool dealt = to.size() > 1 && to[0].slice.stride > 1;
      std::vector<std::string> ops;
      if (dealt) {
        std::vector<std::string> words{"WA_DEAL", src, std::to_string(move.moved)};
        for (const auto& t : to)
          words.push_back(keys_.dispatch(c.id, t.target));
        ops.push_back(std::to_string(words.size()));
        ops.insert(ops.end(), words.begin(), words.end());
      } else {
        for (const auto& t : to) {
          queue::add_op(ops, {"WA_COPY", src, keys_.dispatch(c.id, t.target),
                              std::to_string(t.slice.first), std::to_string(t.slice.count)});
        }
      }
      args.insert(args.end(), ops.begin(), ops.end());
      const std::vector<std::string> keys{src, keys_.decision(c.id), keys_.results(),
                                          keys_.campaign_lock(c.id)};
      queue::Call call = queue::script_call(queue::switch_script(), keys, std::move(args));
      const auto r = co_await queue::run1(*conn_, std::move(call));
      const long long outcome = queue::int_or(r, -9);
      if (outcome == 1) {
        metrics_.switches.Increment();
        c.decision = next;
        c.distribution = std::move(dist);
        redis::Command srem{"SREM", reported, move.from};
        (void)co_await queue::run1(*conn_, queue::plain(std::move(srem)));
        spdlog::warn("switch: campaign {}: {} contacts moved from {} ({}) to {} target(s)", c.id,
                     move.moved, move.from, core::to_string(move.reason), to.size());
      } else {
        spdlog::info("switch: campaign {}: move from {} postponed ({})", c.id, move.from,
                     outcome == -1   ? "its list changed"
                     : outcome == -2 ? "decision changed"
                     : r.is_error()  ? r.str
                                     : "lock lost");
        break;
      }
    }
    co_await store_.release_lock(keys_.campaign_lock(c.id), token_);
  }
}

}  // namespace wa::daemon
