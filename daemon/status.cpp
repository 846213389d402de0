// The status page's data (see status.hpp), read with queue/status_reads.hpp's bounded reads; the
// per-target reads go in pipelines of kTargetsPerPipeline targets.
#include "daemon/status.hpp"

#include <algorithm>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <set>

#include "daemon/daemon.hpp"
#include "queue/lists.hpp"
#include "queue/status_reads.hpp"

namespace wa::daemon {

namespace json = boost::json;

namespace {

constexpr std::size_t kTargetsPerPipeline = 200;
constexpr std::size_t kMaxTargets = 2000;

constexpr queue::StatusBounds kBounds{StatusBoard::kWorkspaces,       StatusBoard::kSessions,
                                      StatusBoard::kBacklogCampaigns, StatusBoard::kReadyItems,
                                      StatusBoard::kActiveCampaigns,  StatusBoard::kListed};

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
  queue::StatusBase b = co_await queue::read_status_base(conn_, keys_, kBounds);
  s.waiting = b.waiting;
  s.delayed = b.delayed;
  s.in_hand = b.in_hand;
  s.dead_total = b.dead_total;
  for (const auto& d : b.dead)
    s.dead.push_back(core::status_dead_entry(d));
  for (const auto& a : b.alerts) {
    boost::system::error_code ec;
    json::value v = json::parse(a, ec);
    s.alerts.push_back(ec ? json::value(a) : std::move(v));
  }
  s.workspaces_total = b.workspaces_total;
  active = std::move(b.active);
  s.active_total = b.active_total;
  co_return std::move(b.workspaces);
}

asio::awaitable<std::vector<std::string>> StatusBoard::session_ids(
    const std::vector<std::string>& workspaces, core::StatusSnapshot& s) {
  auto got = co_await queue::read_workspace_sessions(conn_, keys_, workspaces, kBounds);
  std::vector<std::string> pairs;  // workspace, session, workspace, session...
  for (std::size_t i = 0; i < workspaces.size(); ++i) {
    auto& w = s.workspaces.emplace_back();
    w.id = workspaces[i];
    w.sessions_total = got[i].total;
    for (auto& sid : got[i].sessions) {
      pairs.push_back(w.id);
      pairs.push_back(std::move(sid));
    }
  }
  co_return pairs;
}

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
    const std::span<Target> chunk(targets.data() + from, to - from);
    co_await queue::read_status_targets(conn_, keys_, kBounds, chunk);
  }
  co_return targets;
}

asio::awaitable<void> StatusBoard::read_campaigns(std::vector<std::string> ids,
                                                  std::vector<Target>& targets,
                                                  core::StatusSnapshot& s) {
  const auto got = co_await queue::read_status_campaigns(conn_, keys_, ids);
  std::vector<core::StatusCampaignRow> rows;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (!got[i].decision) continue;
    auto d = core::parse_status_campaign(*got[i].decision);
    if (!d || d->targets.empty()) continue;  // a queue decision: nothing dispatched
    auto& row = rows.emplace_back();
    row.decision = std::move(*d);
    row.paused = got[i].paused;
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
  std::vector<std::string> lists;
  for (const auto& row : rows) {
    for (const auto& t : row.decision.targets)
      lists.push_back(keys_.with_prefix(t.key));
  }
  const auto lens = co_await queue::list_lengths(conn_, std::move(lists));
  std::map<std::string, std::uint64_t> per_target;  // pacing target → contacts waiting
  std::size_t i = 0;
  for (auto& row : rows) {
    for (const auto& t : row.decision.targets) {
      const std::uint64_t n = lens[i++];
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
