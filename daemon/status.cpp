// The status page's reads (see status.hpp). Every command is bounded: lengths, SSCAN with a
// COUNT from cursor 0 only, ranges with a limit; the per-target reads go in pipelines of
// kTargetsPerPipeline targets.
#include "daemon/status.hpp"

#include <algorithm>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cmath>
#include <set>

#include "daemon/daemon.hpp"
#include "queue/codec.hpp"
#include "queue/php_values.hpp"

namespace wa::daemon {

namespace json = boost::json;

namespace {

constexpr std::size_t kTargetsPerPipeline = 200;
constexpr std::size_t kMaxTargets = 2000;
constexpr std::size_t kTargetReads = 6;

std::uint64_t count_of(const queue::Reply& r) {
  return static_cast<std::uint64_t>(std::max(0LL, queue::int_or(r, 0)));
}

// The members of an SSCAN reply ([cursor, [members]]), PHP-serialized ones decoded.
std::vector<std::string> scanned(const queue::Reply& r, const std::string& key) {
  std::vector<std::string> out;
  if (!r.is_array() || r.elements.size() != 2) return out;
  queue::PhpValues php;
  for (const auto& e : r.elements[1].elements)
    out.emplace_back(php.member(key, e.str));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string plain_value(const queue::Reply& r) {
  if (!r.is_string()) return "";
  const auto php = queue::php_serialized_scalar(r.str);
  return php ? std::string(*php) : r.str;
}

template <typename T>
std::optional<T> number_at(const queue::Reply& r, std::size_t i) {
  if (!r.is_array() || i >= r.elements.size() || !r.elements[i].is_string()) return std::nullopt;
  const auto v = queue::to_number(plain_value(r.elements[i]));
  if (!v || !std::isfinite(*v)) return std::nullopt;
  return static_cast<T>(std::is_integral_v<T> ? std::floor(*v) : *v);
}

}  // namespace

StatusBoard::StatusBoard(redis::Connection& conn, const queue::Keys& keys,
                         const config::Config& cfg, const core::Throughput& throughput)
    : conn_(conn),
      keys_(keys),
      cfg_(cfg),
      throughput_(throughput),
      read_done_(conn.executor(), asio::steady_timer::time_point::max()) {}

asio::awaitable<std::string> StatusBoard::json() {
  const auto cache = std::chrono::duration<double>(kCacheSeconds);
  for (;;) {
    if (!cached_.empty() && std::chrono::steady_clock::now() - cached_at_ < cache) {
      co_return cached_;
    }
    if (!reading_) break;
    boost::system::error_code ec;  // cancelled when the read ends: look again
    co_await read_done_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  reading_ = true;
  struct Done {
    StatusBoard& b;
    ~Done() {
      b.reading_ = false;
      b.read_done_.cancel();
    }
  } done{*this};
  std::string doc = co_await read();
  cached_ = doc;
  cached_at_ = std::chrono::steady_clock::now();
  co_return doc;
}

asio::awaitable<std::string> StatusBoard::read() {
  core::StatusSnapshot s;
  s.pacing = cfg_.pacing.enabled;
  s.min_score_primary = cfg_.health.min_score_primary;
  s.min_score_secondary = cfg_.health.min_score_secondary;
  std::vector<std::string> ids;  // campaigns to look at: the newest active ones first
  const std::vector<std::string> workspaces = co_await read_base(s, ids);
  std::vector<Target> targets = co_await read_targets(workspaces, s);
  std::set<std::string> seen(ids.begin(), ids.end());
  for (const Target& t : targets) {
    for (const auto& c : t.backlog) {
      if (seen.insert(c).second) ids.push_back(c);
    }
    for (const auto& [c, n] : t.ready_counts) {
      if (seen.insert(c).second) ids.push_back(c);
    }
  }
  if (ids.size() > kMaxCampaigns) ids.resize(kMaxCampaigns);
  co_await read_campaigns(std::move(ids), targets, s);
  place_targets(targets, s);
  const double now = wall_now();
  s.jobs_per_minute = throughput_.within(now, 60);
  s.jobs_per_minute_history = throughput_.per_minute(now, 30);
  co_return core::status_json(s, now);
}

asio::awaitable<std::vector<std::string>> StatusBoard::read_base(core::StatusSnapshot& s,
                                                                 std::vector<std::string>& active) {
  std::vector<queue::Call> c;
  c.push_back(queue::plain({"LLEN", keys_.queue()}));
  c.push_back(queue::plain({"ZCARD", keys_.delayed()}));
  c.push_back(queue::plain({"ZCARD", keys_.reserved()}));
  c.push_back(queue::plain({"LLEN", keys_.dead()}));
  c.push_back(queue::plain({"LRANGE", keys_.dead(), std::to_string(-kListed), "-1"}));
  c.push_back(queue::plain({"LRANGE", keys_.recent_alerts(), "0", std::to_string(kListed - 1)}));
  c.push_back(queue::plain({"SCARD", keys_.workspaces()}));
  c.push_back(
      queue::plain({"SSCAN", keys_.workspaces(), "0", "COUNT", std::to_string(kWorkspaces)}));
  c.push_back(
      queue::plain({"ZREVRANGE", keys_.active(), "0", std::to_string(kActiveCampaigns - 1)}));
  c.push_back(queue::plain({"ZCARD", keys_.active()}));
  const auto r = co_await queue::run(conn_, std::move(c));
  s.waiting = count_of(r[0]);
  s.delayed = count_of(r[1]);
  s.in_hand = count_of(r[2]);
  s.dead_total = count_of(r[3]);
  for (auto it = r[4].elements.rbegin(); it != r[4].elements.rend(); ++it)
    s.dead.push_back(core::status_dead_entry(it->str));  // the newest is the list's tail
  for (const auto& a : r[5].elements) {
    boost::system::error_code ec;
    json::value v = json::parse(a.str, ec);
    s.alerts.push_back(ec ? json::value(a.str) : std::move(v));
  }
  s.workspaces_total = count_of(r[6]);
  for (const auto& e : r[8].elements)
    active.push_back(e.str);
  s.active_total = count_of(r[9]);
  co_return scanned(r[7], keys_.workspaces());
}

asio::awaitable<std::vector<std::string>> StatusBoard::session_ids(
    const std::vector<std::string>& workspaces, core::StatusSnapshot& s) {
  std::vector<queue::Call> c;
  for (const auto& ws : workspaces) {
    const std::string key = keys_.workspace_sessions(ws);
    c.push_back(queue::plain({"SSCAN", key, "0", "COUNT", std::to_string(kSessions)}));
    c.push_back(queue::plain({"SCARD", key}));
  }
  const auto r = co_await queue::run(conn_, std::move(c));
  std::vector<std::string> pairs;  // workspace, session, workspace, session...
  for (std::size_t i = 0; i < workspaces.size(); ++i) {
    auto& w = s.workspaces.emplace_back();
    w.id = workspaces[i];
    w.sessions_total = count_of(r[2 * i + 1]);
    for (auto& sid : scanned(r[2 * i], keys_.workspace_sessions(w.id))) {
      pairs.push_back(w.id);
      pairs.push_back(std::move(sid));
    }
  }
  co_return pairs;
}

namespace {

void add_target_reads(const queue::Keys& k, const std::string& ws, bool meta, const std::string& id,
                      std::vector<queue::Call>& c) {
  if (meta) {
    c.push_back(queue::plain({"HMGET", k.workspace_meta(ws), "configured"}));
  } else {
    c.push_back(queue::plain({"HMGET", k.session(id), "health_score", "status"}));
  }
  c.push_back(queue::plain({"HMGET", k.pace(id), "rate_per_hour", "factor", "released_today",
                            "cap_today", "budget_used", "tier_limit"}));
  c.push_back(queue::plain({"LLEN", k.ready(id)}));
  c.push_back(queue::plain({"ZCARD", k.backlog(id)}));
  c.push_back(queue::plain(
      {"ZRANGE", k.backlog(id), "0", std::to_string(StatusBoard::kBacklogCampaigns - 1)}));
  c.push_back(
      queue::plain({"LRANGE", k.ready(id), "0", std::to_string(StatusBoard::kReadyItems - 1)}));
}

}  // namespace

asio::awaitable<std::vector<StatusBoard::Target>> StatusBoard::read_targets(
    const std::vector<std::string>& workspaces, core::StatusSnapshot& s) {
  const std::vector<std::string> pairs = co_await session_ids(workspaces, s);
  std::vector<Target> targets;
  const auto add = [&targets](const std::string& ws, bool meta, std::string id) {
    if (targets.size() >= kMaxTargets) return;
    Target& t = targets.emplace_back();
    t.workspace = ws;
    t.meta = meta;
    t.row.id = std::move(id);
  };
  for (std::size_t i = 0; i + 1 < pairs.size(); i += 2)
    add(pairs[i], false, pairs[i + 1]);
  for (const auto& ws : workspaces)
    add(ws, true, "meta_api:" + ws);
  for (std::size_t from = 0; from < targets.size(); from += kTargetsPerPipeline) {
    const std::size_t to = std::min(targets.size(), from + kTargetsPerPipeline);
    std::vector<queue::Call> c;
    for (std::size_t i = from; i < to; ++i)
      add_target_reads(keys_, targets[i].workspace, targets[i].meta, targets[i].row.id, c);
    const auto r = co_await queue::run(conn_, std::move(c));
    for (std::size_t i = from; i < to; ++i) {
      const queue::Reply* t = &r[(i - from) * kTargetReads];
      core::StatusTargetRow& row = targets[i].row;
      if (targets[i].meta) {
        row.status = number_at<int>(t[0], 0).value_or(0) == 1 ? "configured" : "";
      } else {
        row.health_score = number_at<int>(t[0], 0);
        row.status = t[0].elements.size() > 1 ? plain_value(t[0].elements[1]) : "";
      }
      row.rate_per_hour = number_at<double>(t[1], 0);
      row.factor = number_at<double>(t[1], 1);
      row.released_today = number_at<std::int64_t>(t[1], 2);
      row.cap_today = number_at<std::int64_t>(t[1], 3);
      row.budget_used = number_at<std::int64_t>(t[1], 4);
      row.tier_limit = number_at<std::int64_t>(t[1], 5);
      row.ready = count_of(t[2]);
      row.backlog_campaigns = count_of(t[3]);
      for (const auto& e : t[4].elements)
        targets[i].backlog.push_back(e.str);
      for (const auto& e : t[5].elements) {
        const std::string c = core::released_campaign(e.str);
        if (!c.empty()) ++targets[i].ready_counts[c];
      }
    }
  }
  co_return targets;
}

asio::awaitable<void> StatusBoard::read_campaigns(std::vector<std::string> ids,
                                                  std::vector<Target>& targets,
                                                  core::StatusSnapshot& s) {
  std::vector<queue::Call> c;
  for (const auto& id : ids) {
    c.push_back(queue::plain({"GET", keys_.decision(id)}));
    c.push_back(queue::plain({"SISMEMBER", keys_.paused_campaigns(), id}));
  }
  const auto r = co_await queue::run(conn_, std::move(c));
  std::vector<core::StatusCampaignRow> rows;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (!r[2 * i].is_string()) continue;
    auto d = core::parse_status_campaign(r[2 * i].str);
    if (!d || d->targets.empty()) continue;  // a queue decision: nothing dispatched
    auto& row = rows.emplace_back();
    row.decision = std::move(*d);
    row.paused = queue::int_or(r[2 * i + 1], 0) == 1;
    for (const Target& t : targets) {
      const auto it = t.ready_counts.find(row.decision.id_text);
      if (it != t.ready_counts.end()) row.ready += it->second;
    }
  }
  co_await count_waiting(rows, targets);
  s.campaigns = std::move(rows);
}

asio::awaitable<void> StatusBoard::count_waiting(std::vector<core::StatusCampaignRow>& rows,
                                                 std::vector<Target>& targets) {
  std::vector<queue::Call> c;
  for (const auto& row : rows) {
    for (const auto& t : row.decision.targets)
      c.push_back(queue::plain({"LLEN", keys_.with_prefix(t.key)}));
  }
  const auto r = co_await queue::run(conn_, std::move(c));
  std::map<std::string, std::uint64_t> per_target;  // pacing target → contacts waiting
  std::size_t i = 0;
  for (auto& row : rows) {
    for (const auto& t : row.decision.targets) {
      const std::uint64_t n = count_of(r[i++]);
      row.waiting += n;
      per_target[core::status_pacing_target(row.decision, t)] += n;
    }
  }
  for (Target& t : targets) {
    const auto it = per_target.find(t.row.id);
    if (it != per_target.end()) t.row.backlog = it->second;
  }
}

void StatusBoard::remember_score(core::StatusTargetRow& row) {
  if (!row.health_score) return;
  if (scores_.size() > 100000) scores_.clear();  // bounded, whatever the data
  auto [it, fresh] = scores_.try_emplace(row.id, *row.health_score, std::nullopt);
  if (!fresh && it->second.first != *row.health_score) {
    it->second = {*row.health_score, it->second.first};
  }
  row.previous_score = it->second.second;
}

void StatusBoard::place_targets(std::vector<Target>& targets, core::StatusSnapshot& s) {
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < s.workspaces.size(); ++i)
    index[s.workspaces[i].id] = i;
  for (Target& t : targets) {
    core::StatusWorkspace& w = s.workspaces[index.at(t.workspace)];
    if (!t.meta) {
      remember_score(t.row);
      w.sessions.push_back(std::move(t.row));
    } else if (t.row.rate_per_hour || t.row.backlog > 0 || t.row.ready > 0 ||
               t.row.backlog_campaigns > 0) {
      w.meta = std::move(t.row);
    }
  }
}

}  // namespace wa::daemon
