// What the prediction reads with pacing on (CONTRACT.md section 8): each workspace's
// wa:workspace:<ws>:pacing, and for each of its sessions and its Meta target what already waits
// (backlog_lengths_script: bounded) and the pace hash (factor, day, released_today); for Meta,
// its portfolio's budget (meta_budget_sample_script: bounded).
#include "queue/pace_targets.hpp"
#include "queue/scripts.hpp"
#include "queue/store.hpp"

namespace wa::queue {

namespace {

constexpr int kBacklogCampaigns = 100;  // campaigns looked at per target

void add_target_reads(std::vector<Call>& calls, const Keys& keys, const std::string& target,
                      const std::string& list_target) {
  const std::vector<std::string> k{keys.ready(target), keys.backlog(target),
                                   keys.paused_campaigns()};
  calls.push_back(
      script_call(backlog_lengths_script(), k,
                  {keys.dispatch_prefix(), list_target, std::to_string(kBacklogCampaigns)}));
  calls.push_back(plain({"HMGET", keys.pace(target), "factor", "day", "released_today"}));
}

core::TargetPace target_of(const Reply& lengths, const Reply& pace) {
  core::TargetPace t;
  for (std::size_t i = 0; i < lengths.elements.size(); ++i) {
    const auto n = static_cast<std::uint64_t>(std::max(0LL, int_or(lengths.elements[i])));
    if (i == 0) {
      t.ready = n;
    } else {
      t.campaign_backlogs.push_back(n);
    }
  }
  if (pace.elements.size() == 3) {
    const auto f = to_number(pace.elements[0].str);
    if (f && *f > 0 && *f <= 1) t.factor = *f;
    t.day = pace.elements[1].str;
    t.released_today =
        static_cast<std::uint64_t>(std::max(0.0, to_number(pace.elements[2].str).value_or(0)));
  }
  return t;
}

constexpr int kBudgetSamples = 33;  // entry times read per budget (section 9's prediction)

Call budget_read(const Keys& keys, const WorkspaceData& d, const std::string& ws, core::Seconds now,
                 std::int64_t window_ms) {
  const std::string& portfolio = d.meta.portfolio_id.empty() ? ws : d.meta.portfolio_id;
  const auto now_ms = static_cast<std::int64_t>(now * 1000);
  return script_call(meta_budget_sample_script(), {keys.meta_budget(portfolio)},
                     {std::to_string(now_ms - window_ms), std::to_string(kBudgetSamples)});
}

core::MetaBudget budget_of(const Reply& r, std::int64_t window_ms) {
  core::MetaBudget b;
  b.window_ms = window_ms;
  for (std::size_t i = 0; i < r.elements.size(); ++i) {
    const auto v = static_cast<std::int64_t>(r.elements[i].is_integer()
                                                 ? static_cast<double>(r.elements[i].integer)
                                                 : to_number(r.elements[i].str).value_or(0));
    if (i == 0) {
      b.used = static_cast<std::uint64_t>(std::max<std::int64_t>(0, v));
    } else {
      b.samples.push_back(v);
    }
  }
  return b;
}

core::WorkspacePace settings_of(const Reply& r) {
  WorkspacePacing wp = parse_workspace_pacing(pairs(r));
  core::WorkspacePace p;
  p.rate_per_hour = wp.rate_per_hour;
  p.daily_cap = wp.daily_cap;
  p.hours = wp.hours;
  p.timezone = wp.timezone;
  return p;
}

}  // namespace

asio::awaitable<void> Store::load_pacing(std::map<std::string, WorkspaceData>& out,
                                         core::Seconds now, std::int64_t budget_window_ms) {
  std::vector<Call> calls;
  std::vector<std::pair<std::string, std::string>> targets;  // (workspace, target name)
  for (auto& [ws, d] : out) {
    calls.push_back(plain({"HGETALL", keys_.workspace_pacing(ws)}));
    calls.push_back(budget_read(keys_, d, ws, now, budget_window_ms));
    for (const auto& s : d.sessions) {
      if (!s.exists) continue;
      add_target_reads(calls, keys_, s.id, s.id);
      targets.emplace_back(ws, s.id);
    }
    add_target_reads(calls, keys_, "meta_api:" + ws, "meta_api");
    targets.emplace_back(ws, "meta_api");
  }
  const auto r = co_await run(conn_, std::move(calls));
  std::size_t at = 0, t = 0;
  for (auto& [ws, d] : out) {
    d.pace = settings_of(r[at++]);
    const core::MetaBudget budget = budget_of(r[at++], budget_window_ms);
    while (t < targets.size() && targets[t].first == ws) {
      core::TargetPace& tp = d.pace->targets[targets[t].second] = target_of(r[at], r[at + 1]);
      if (targets[t].second == "meta_api") tp.budget = budget;
      at += 2;
      ++t;
    }
  }
}

}  // namespace wa::queue
