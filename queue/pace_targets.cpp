#include "queue/pace_targets.hpp"

#include <charconv>
#include <cmath>
#include <set>
#include <stdexcept>

#include "core/balance.hpp"

namespace wa::queue {

namespace {

constexpr std::string_view kMetaPrefix = "meta_api:";

std::string field_of(const Fields& f, std::string_view name) {
  for (const auto& [k, v] : f) {
    if (k == name) return std::string(v);
  }
  return {};
}

bool is_meta(std::string_view target) {
  return target.starts_with(kMetaPrefix);
}

std::optional<std::uint64_t> to_count(std::string_view s) {
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::string bad(std::string_view field, std::string_view value, std::string_view expected) {
  return std::string(field) + " '" + std::string(value) + "': expected " + std::string(expected);
}

void read_field(WorkspacePacing& p, std::string_view k, std::string_view v) {
  if (k == "rate_per_hour") {
    const auto r = to_number(v);
    if (r && *r > 0 && std::isfinite(*r))
      p.rate_per_hour = *r;
    else if (!v.empty())
      p.problems.push_back(bad(k, v, "a number > 0"));
  } else if (k == "daily_cap") {
    p.daily_cap = to_count(v);
    if (!p.daily_cap && !v.empty()) p.problems.push_back(bad(k, v, "an integer >= 0"));
  } else if (k == "sending_hours") {
    try {
      p.hours = core::parse_sending_hours(v);
    } catch (const std::invalid_argument& e) {
      p.problems.push_back(e.what());
    }
  } else if (k == "timezone" && !v.empty()) {
    try {
      core::check_time_zone(v);
      p.timezone = std::string(v);
    } catch (const std::invalid_argument& e) {
      p.problems.push_back(std::string("timezone: ") + e.what() + "; UTC is used");
    }
  }
}

}  // namespace

WorkspacePacing parse_workspace_pacing(const Fields& f) {
  WorkspacePacing p;
  for (const auto& [k, v] : f)
    read_field(p, k, v);
  return p;
}

namespace {

// The HGETALL reply of wa:workspace:<ws>:pacing; a key of another type is a problem too.
WorkspacePacing workspace_pacing_of(const Reply& r) {
  if (!r.is_error()) return parse_workspace_pacing(pairs(r));
  WorkspacePacing p;
  p.problems.push_back("is not a hash (" + r.str + "); the config's values are used");
  return p;
}

}  // namespace

asio::awaitable<std::vector<DueTarget>> due_targets(redis::Connection& conn, const Keys& keys,
                                                    std::int64_t now_ms, std::size_t limit) {
  Command range{"ZRANGEBYSCORE", keys.pace_due(), "-inf", std::to_string(now_ms),
                "WITHSCORES",    "LIMIT",         "0",    std::to_string(limit)};
  const Reply r = co_await run1(conn, plain(std::move(range)));
  std::vector<DueTarget> out;
  for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2) {
    const double score = to_number(r.elements[i + 1].str).value_or(static_cast<double>(now_ms));
    out.push_back({r.elements[i].str, static_cast<std::int64_t>(score)});
  }
  co_return out;
}

namespace {

// Round one: each target's own hash (the session's, or the workspace's Meta settings).
std::vector<Call> own_reads(const Keys& keys, const std::vector<std::string>& targets) {
  std::vector<Call> calls;
  calls.reserve(targets.size());
  for (const auto& t : targets) {
    calls.push_back(plain({"HGETALL", is_meta(t) ? keys.workspace_meta(t.substr(kMetaPrefix.size()))
                                                 : keys.session(t)}));
    calls.push_back(plain({"HGET", keys.pace(t), "factor"}));
  }
  return calls;
}

void apply_workspace(TargetRead& out, const WorkspacePacing& wp, const core::Session* s,
                     const config::LoadBalancing& lb) {
  core::PaceTarget& t = *out.target;
  t.workspace_cap = wp.daily_cap;
  t.hours = wp.hours;
  t.timezone = wp.timezone;
  for (const auto& p : wp.problems)
    out.warnings.push_back("wa:workspace:" + t.workspace_id + ":pacing " + p);
  if (s == nullptr) return;  // Meta: its throughput, whatever the workspace's webjs rate
  t.created_at = s->created_at;
  t.offline = s->status != core::SessionStatus::connected || !s->is_active;
  t.base_rate_per_hour =
      wp.rate_per_hour.value_or(core::session_capacity(*s, core::TemplateMode::template_, lb));
}

}  // namespace

asio::awaitable<std::map<std::string, TargetRead>> read_pace_targets(
    redis::Connection& conn, const Keys& keys, const std::vector<std::string>& targets,
    const config::LoadBalancing& lb) {
  const auto own = co_await run(conn, own_reads(keys, targets));
  std::map<std::string, TargetRead> out;
  std::map<std::string, core::Session> sessions;
  std::set<std::string> workspaces;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    const std::string& id = targets[i];
    TargetRead& r = out[id];
    const Fields f = pairs(own[2 * i]);
    if (const auto factor = to_number(own[2 * i + 1].str); factor && *factor > 0 && *factor <= 1)
      r.factor = *factor;
    r.target.emplace();
    if (is_meta(id)) {
      r.target->meta = true;
      r.target->workspace_id = id.substr(kMetaPrefix.size());
      std::vector<std::string> unread;
      const core::MetaSettings m = parse_meta(f, &unread);
      for (const auto& u : unread)
        r.warnings.push_back(keys.workspace_meta(r.target->workspace_id) + " " + u);
      r.target->base_rate_per_hour = core::meta_rate_per_hour(m.throughput_mps);
      r.target->tier_limit = m.tier_limit;
      r.target->portfolio = m.portfolio_id.empty() ? r.target->workspace_id : m.portfolio_id;
    } else {
      bool health_known = false;
      core::Session s = parse_session(id, f, r.problem, health_known);
      if (!s.exists) {
        if (r.problem.empty()) r.problem = "hash " + keys.session(id) + " is missing";
        r.target.reset();
        continue;
      }
      if (!health_known) r.warnings.push_back("session " + id + " has no health score yet");
      r.target->workspace_id = field_of(f, "workspace_id");
      sessions.emplace(id, std::move(s));
    }
    workspaces.insert(r.target->workspace_id);
  }
  const std::vector<std::string> ws(workspaces.begin(), workspaces.end());
  std::vector<Call> calls;
  for (const auto& w : ws)
    calls.push_back(plain({"HGETALL", keys.workspace_pacing(w)}));
  const auto settings = co_await run(conn, std::move(calls));
  std::map<std::string, WorkspacePacing> by_ws;
  for (std::size_t i = 0; i < ws.size(); ++i)
    by_ws[ws[i]] = workspace_pacing_of(settings[i]);
  for (auto& [id, r] : out) {
    if (!r.target) continue;
    const auto s = sessions.find(id);
    apply_workspace(r, by_ws[r.target->workspace_id], s == sessions.end() ? nullptr : &s->second,
                    lb);
  }
  co_return out;
}

}  // namespace wa::queue
