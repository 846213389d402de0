#include "queue/status_reads.hpp"

#include <algorithm>
#include <cmath>

#include "queue/codec.hpp"
#include "queue/exec.hpp"
#include "queue/php_values.hpp"

namespace wa::queue {

namespace {

std::uint64_t count_of(const Reply& r) {
  return static_cast<std::uint64_t>(std::max(0LL, int_or(r, 0)));
}

std::vector<std::string> strings_of(const Reply& r) {
  std::vector<std::string> out;
  for (const auto& e : r.elements)
    out.push_back(e.str);
  return out;
}

// The members of an SSCAN reply ([cursor, [members]]), PHP-serialized ones decoded.
std::vector<std::string> scanned(const Reply& r, const std::string& key) {
  std::vector<std::string> out;
  if (!r.is_array() || r.elements.size() != 2) return out;
  PhpValues php;
  for (const auto& e : r.elements[1].elements)
    out.emplace_back(php.member(key, e.str));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string plain_value(const Reply& r) {
  if (!r.is_string()) return "";
  const auto php = php_serialized_scalar(r.str);
  return php ? std::string(*php) : r.str;
}

template <typename T>
std::optional<T> number_at(const Reply& r, std::size_t i) {
  if (!r.is_array() || i >= r.elements.size() || !r.elements[i].is_string()) return std::nullopt;
  const auto v = to_number(plain_value(r.elements[i]));
  if (!v || !std::isfinite(*v)) return std::nullopt;
  return static_cast<T>(std::is_integral_v<T> ? std::floor(*v) : *v);
}

// The commands of read_status_base, by name.
enum BaseRead : std::size_t {
  kWaiting,
  kDelayed,
  kInHand,
  kDeadTotal,
  kDead,
  kAlerts,
  kWorkspacesTotal,
  kWorkspacesPage,
  kActive,
  kActiveTotal,
  kBaseReads
};

std::vector<Call> base_reads(const Keys& keys, const StatusBounds& b) {
  std::vector<Call> c(kBaseReads);
  c[kWaiting] = plain({"LLEN", keys.queue()});
  c[kDelayed] = plain({"ZCARD", keys.delayed()});
  c[kInHand] = plain({"ZCARD", keys.reserved()});
  c[kDeadTotal] = plain({"LLEN", keys.dead()});
  c[kDead] = plain({"LRANGE", keys.dead(), std::to_string(-b.listed), "-1"});
  c[kAlerts] = plain({"LRANGE", keys.recent_alerts(), "0", std::to_string(b.listed - 1)});
  c[kWorkspacesTotal] = plain({"SCARD", keys.workspaces()});
  c[kWorkspacesPage] =
      plain({"SSCAN", keys.workspaces(), "0", "COUNT", std::to_string(b.workspaces)});
  c[kActive] = plain({"ZREVRANGE", keys.active(), "0", std::to_string(b.active_campaigns - 1)});
  c[kActiveTotal] = plain({"ZCARD", keys.active()});
  return c;
}

}  // namespace

asio::awaitable<StatusBase> read_status_base(redis::Connection& conn, const Keys& keys,
                                             const StatusBounds& bounds) {
  const auto r = co_await run(conn, base_reads(keys, bounds));
  StatusBase s;
  s.waiting = count_of(r[kWaiting]);
  s.delayed = count_of(r[kDelayed]);
  s.in_hand = count_of(r[kInHand]);
  s.dead_total = count_of(r[kDeadTotal]);
  s.dead = strings_of(r[kDead]);
  std::reverse(s.dead.begin(), s.dead.end());  // the newest is the list's tail
  s.alerts = strings_of(r[kAlerts]);
  s.workspaces_total = count_of(r[kWorkspacesTotal]);
  s.workspaces = scanned(r[kWorkspacesPage], keys.workspaces());
  s.active = strings_of(r[kActive]);
  s.active_total = count_of(r[kActiveTotal]);
  co_return s;
}

namespace {
enum WorkspaceRead : std::size_t { kSessionsPage, kSessionsTotal, kWorkspaceReads };
}  // namespace

asio::awaitable<std::vector<WorkspaceSessions>> read_workspace_sessions(
    redis::Connection& conn, const Keys& keys, const std::vector<std::string>& workspaces,
    const StatusBounds& bounds) {
  std::vector<Call> c(kWorkspaceReads * workspaces.size());
  for (std::size_t i = 0; i < workspaces.size(); ++i) {
    const std::string key = keys.workspace_sessions(workspaces[i]);
    Call* w = &c[kWorkspaceReads * i];
    w[kSessionsPage] = plain({"SSCAN", key, "0", "COUNT", std::to_string(bounds.sessions)});
    w[kSessionsTotal] = plain({"SCARD", key});
  }
  const auto r = co_await run(conn, std::move(c));
  std::vector<WorkspaceSessions> out(workspaces.size());
  for (std::size_t i = 0; i < workspaces.size(); ++i) {
    const Reply* w = &r[kWorkspaceReads * i];
    out[i].total = count_of(w[kSessionsTotal]);
    out[i].sessions = scanned(w[kSessionsPage], keys.workspace_sessions(workspaces[i]));
  }
  co_return out;
}

namespace {

// The commands of one target, by name.
enum TargetRead : std::size_t {
  kRow,
  kPace,
  kReadyLen,
  kBacklogLen,
  kBacklog,
  kReady,
  kTargetReads
};

void add_target_reads(const Keys& k, const StatusBounds& b, const StatusTarget& t, Call* c) {
  const std::string& id = t.row.id;
  c[kRow] = t.meta ? plain({"HMGET", k.workspace_meta(t.workspace), "configured"})
                   : plain({"HMGET", k.session(id), "health_score", "status"});
  c[kPace] = plain({"HMGET", k.pace(id), "rate_per_hour", "factor", "released_today", "cap_today",
                    "budget_used", "tier_limit"});
  c[kReadyLen] = plain({"LLEN", k.ready(id)});
  c[kBacklogLen] = plain({"ZCARD", k.backlog(id)});
  c[kBacklog] = plain({"ZRANGE", k.backlog(id), "0", std::to_string(b.backlog_campaigns - 1)});
  c[kReady] = plain({"LRANGE", k.ready(id), "0", std::to_string(b.ready_items - 1)});
}

void read_target(const Reply* t, StatusTarget& target) {
  core::StatusTargetRow& row = target.row;
  if (target.meta) {
    row.status = number_at<int>(t[kRow], 0).value_or(0) == 1 ? "configured" : "";
  } else {
    row.health_score = number_at<int>(t[kRow], 0);
    row.status = t[kRow].elements.size() > 1 ? plain_value(t[kRow].elements[1]) : "";
  }
  row.rate_per_hour = number_at<double>(t[kPace], 0);
  row.factor = number_at<double>(t[kPace], 1);
  row.released_today = number_at<std::int64_t>(t[kPace], 2);
  row.cap_today = number_at<std::int64_t>(t[kPace], 3);
  row.budget_used = number_at<std::int64_t>(t[kPace], 4);
  row.tier_limit = number_at<std::int64_t>(t[kPace], 5);
  row.ready = count_of(t[kReadyLen]);
  row.backlog_campaigns = count_of(t[kBacklogLen]);
  for (const auto& e : t[kBacklog].elements)
    target.backlog.push_back(e.str);
  for (const auto& e : t[kReady].elements) {
    const std::string c = core::released_campaign(e.str);
    if (!c.empty()) ++target.ready_counts[c];
  }
}

}  // namespace

asio::awaitable<void> read_status_targets(redis::Connection& conn, const Keys& keys,
                                          const StatusBounds& bounds,
                                          std::span<StatusTarget> targets) {
  std::vector<Call> c(kTargetReads * targets.size());
  for (std::size_t i = 0; i < targets.size(); ++i)
    add_target_reads(keys, bounds, targets[i], &c[kTargetReads * i]);
  const auto r = co_await run(conn, std::move(c));
  for (std::size_t i = 0; i < targets.size(); ++i)
    read_target(&r[kTargetReads * i], targets[i]);
}

asio::awaitable<std::vector<StatusCampaignRecord>> read_status_campaigns(
    redis::Connection& conn, const Keys& keys, const std::vector<std::string>& ids) {
  std::vector<Call> c;
  for (const auto& id : ids) {
    c.push_back(plain({"GET", keys.decision(id)}));
    c.push_back(plain({"SISMEMBER", keys.paused_campaigns(), id}));
  }
  const auto r = co_await run(conn, std::move(c));
  std::vector<StatusCampaignRecord> out(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const Reply& decision = r[2 * i];
    const Reply& paused = r[2 * i + 1];
    if (decision.is_string()) out[i].decision = decision.str;
    out[i].paused = int_or(paused, 0) == 1;
  }
  co_return out;
}

}  // namespace wa::queue
