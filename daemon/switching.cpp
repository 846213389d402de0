// Provider switching mid-campaign (CONTRACT.md section 6), the last part of the health cycle.
//
// A broken target's list may hold millions of contacts and Redis is shared with the app, so a
// move is planned once over the whole list and done in bounded steps (switch_step_script): each
// step pops at most kSwitchStep contacts from the head of the list and pushes them to their
// destinations, and in the same atomic step rewrites the stored decision's distribution (compare-
// and-set) and the move's progress record; the last step deletes the record and appends the
// provider_switch record. A move that was interrupted (a killed daemon, a lost lock) is found by
// its progress record at the next cycle, by whichever daemon runs it, and continued from where
// the list's head is.
//
// With pacing (CONTRACT.md section 8), the contacts of the campaign that the broken session's
// ready list holds (released, not sent) count with its list: the move's first step takes them
// back to the list's head, in order, so that they are the plan's first positions; every step adds
// the campaign to its destinations' backlogs and the destinations to wa:pace:due.
#include <spdlog/spdlog.h>

#include <map>
#include <set>
#include <stdexcept>

#include "core/records.hpp"
#include "core/stored_decision.hpp"
#include "core/switching.hpp"
#include "daemon/daemon.hpp"
#include "queue/lists.hpp"
#include "queue/outputs.hpp"
#include "queue/switch_store.hpp"

namespace wa::daemon {

namespace {

constexpr std::size_t kSwitchPage = 500;  // active campaigns per ZSCAN page of switching
// The per-campaign lock, renewed by every step: a killed daemon's move is continued by the next
// cycle at most this long after it died.
constexpr std::int64_t kSwitchLockMs = 10000;
// Contacts per step. A step's script costs Redis about 0.3 µs per contact (the LPOP, Lua's
// strings and tables, the RPUSHes; round robin included): 2,000 take about 0.6 ms, which leaves
// room below Redis's 10 ms slow-log threshold for a busy machine's hiccups (a 5,000-contact step
// of 1.5 ms was seen at 14 ms on a loaded host). The app's commands wait behind one step at most.
constexpr std::uint64_t kSwitchStep = 2000;
// With sticky senders every moved contact is also written to the sticky hash (an HSET field
// each, several times a list move's cost): smaller steps keep a step near a millisecond.
constexpr std::uint64_t kStickySwitchStep = 500;
constexpr int kStepRetries = 5;  // steps tried again in a row (the list or the decision changed)

using core::StoredCampaign;

std::uint64_t switch_step(const config::Config& cfg) {
  return cfg.selection.sticky_sender ? kStickySwitchStep : kSwitchStep;
}

// What the moves of one health cycle share.
struct Switcher {
  redis::Connection& conn;
  const queue::Keys& keys;
  Metrics& metrics;
  const config::Config& cfg;
  const std::string& token;
  const bool& stopping;
  double now;
};

// Reads the campaign's stored decision again (it changed under a move); false when it is gone.
asio::awaitable<bool> reload_decision(Switcher& sw, StoredCampaign& c) {
  const auto text = co_await queue::read_decision(sw.conn, sw.keys, c.id);
  if (!text) co_return false;
  auto fresh = core::parse_stored_decision(c.id, *text);
  if (!fresh) co_return false;
  c = std::move(*fresh);
  co_return true;
}

// Runs one step of `plan` (switch_step_script); on success the plan, the campaign and
// `progress` follow it. Returns the script's answer.
asio::awaitable<queue::SwitchStepOutcome> run_step(Switcher& sw, StoredCampaign& c,
                                                   core::MovePlan& plan, std::string& progress) {
  const core::MoveStep step = core::next_step(plan, switch_step(sw.cfg));
  auto dist = c.distribution;
  core::apply_step(dist, plan.from, step);
  core::MovePlan after = plan;
  core::advance(after, step);
  queue::SwitchStep s;
  s.campaign = c.id;
  s.workspace = c.workspace_id;
  s.from = plan.from;
  s.token = sw.token;
  s.lock_ms = kSwitchLockMs;
  s.count = step.count;
  s.old_decision = c.decision;
  s.new_decision = core::updated_decision(c, dist, plan.session);
  s.old_progress = progress;
  s.new_progress = step.last ? "" : core::progress_json(after);
  s.progress_ttl_s = sw.cfg.results.ttl_seconds;
  if (step.last && after.total > 0) {
    s.record = core::switch_json(c.campaign_id, core::record_of(after), sw.now);
  }
  s.now_ms = sw.cfg.pacing.enabled ? queue::ms_score(sw.now) : "";
  s.sticky = sw.cfg.selection.sticky_sender;
  s.shares = step.shares;
  auto r = co_await queue::run_switch_step(sw.conn, sw.keys, s);
  if (r.code == queue::SwitchStepOutcome::done) {
    plan = std::move(after);
    progress = std::move(s.new_progress);
    c.decision = std::move(s.new_decision);
    c.distribution = std::move(dist);
  }
  co_return r;
}

// Moves what `plan` has left to move, step by step, under the campaign's lock; `plan` follows
// (cut where the list ended). `progress` is the stored progress record ("" for a move not
// begun). True when the move is complete; else it stays where it got to, its progress record
// telling the next cycle how to go on.
asio::awaitable<bool> run_move(Switcher& sw, StoredCampaign& c, core::MovePlan& plan,
                               std::string progress) {
  if (plan.total - plan.done > switch_step(sw.cfg)) {
    spdlog::info("switch: campaign {}: moving {} contacts from {} in steps of {}", c.id,
                 plan.total - plan.done, plan.from, switch_step(sw.cfg));
  }
  for (int refused = 0; !sw.stopping;) {
    const auto r = co_await run_step(sw, c, plan, progress);
    const long long outcome = r.code;
    if (outcome == queue::SwitchStepOutcome::done) {
      refused = 0;
      if (progress.empty()) co_return true;  // the last step deletes the record
      continue;
    }
    bool again = ++refused <= kStepRetries;
    if (again && outcome == queue::SwitchStepOutcome::list_short) {
      // The target's sender popped some of the list meanwhile: the plan ends where the list does.
      core::cut_plan(plan, plan.done + r.list_len);
    } else if (again && outcome == queue::SwitchStepOutcome::decision_changed) {
      again = co_await reload_decision(sw, c);  // a job of the campaign was decided meanwhile
    } else {
      again = false;
    }
    if (!again) {
      spdlog::warn("switch: campaign {}: move from {} stopped after {} of {} contacts ({})", c.id,
                   plan.from, plan.done, plan.total, queue::step_refusal(r));
      co_return false;
    }
  }
  co_return false;
}

// The first cycle that finds a target broken with nowhere to go appends one record.
asio::awaitable<void> report_nowhere(Switcher& sw, const StoredCampaign& c,
                                     const core::SwitchMove& move) {
  const std::string record = core::switch_json(c.campaign_id, move, sw.now);
  const bool first = co_await queue::report_nowhere(sw.conn, sw.keys, c.id, move.from, record,
                                                    sw.cfg.results.ttl_seconds);
  if (!first) co_return;
  spdlog::warn("switch: campaign {}: target {} breaks ({}) but nowhere to move its contacts", c.id,
               move.from, core::to_string(move.reason));
}

// A move is complete: counted, logged, and its target may be reported again. (A move whose list
// its sender emptied before the first step moved nothing and has no record.)
asio::awaitable<void> moved(Switcher& sw, const StoredCampaign& c, const core::MovePlan& plan) {
  if (plan.total == 0) co_return;
  sw.metrics.switches.Increment();
  co_await queue::clear_nowhere(sw.conn, sw.keys, c.id, plan.from);
  spdlog::warn("switch: campaign {}: {} contacts moved from {} ({}) to {} target(s)", c.id,
               plan.total, plan.from, core::to_string(plan.reason),
               core::record_of(plan).decision.distribution.size());
}

// A campaign of the page and what the cycle read of it.
struct PageCampaign {
  StoredCampaign c;
  std::string progress;  // its progress record ("" when no move is under way)
};

// Continues the move under way (under the campaign's lock, taken by the caller).
asio::awaitable<void> resume(Switcher& sw, PageCampaign& pc) {
  auto plan = core::parse_progress(pc.progress);
  if (!plan) {
    spdlog::error("switch: campaign {}: progress record {} unreadable; no move until it is gone",
                  pc.c.id, sw.keys.switch_progress(pc.c.id));
    co_return;
  }
  spdlog::info("switch: campaign {}: continuing the move from {} at {} of {} contacts", pc.c.id,
               plan->from, plan->done, plan->total);
  if (co_await run_move(sw, pc.c, *plan, pc.progress)) co_await moved(sw, pc.c, *plan);
}

// Ready items a move looks at in a session's ready list (backpressure keeps a ready list to a
// few items; the bound holds whatever the app did to it).
constexpr int kReadyScan = 1000;

// campaign id → its items in the head of a session's ready list, by session.
using ReadyCounts = std::map<std::string, std::map<std::string, std::uint64_t>>;

// With pacing: the items of the page's campaigns in their sessions' ready lists.
asio::awaitable<ReadyCounts> read_ready(Switcher& sw, const std::vector<PageCampaign>& page) {
  std::set<std::string> sessions;
  for (const auto& pc : page) {
    for (const auto& e : pc.c.distribution) {
      if (e.target != "meta_api") sessions.insert(e.target);
    }
  }
  ReadyCounts out;
  if (sessions.empty()) co_return out;
  std::vector<std::string> lists;
  for (const auto& s : sessions)
    lists.push_back(sw.keys.ready(s));
  const auto heads = co_await queue::list_heads(sw.conn, lists, kReadyScan);
  std::size_t at = 0;
  for (const auto& s : sessions) {
    const auto& items = heads[at++];
    if (items.empty()) continue;  // empty, or not a list: nothing to take
    out.emplace(s, core::ready_counts(items));
  }
  co_return out;
}

// The contacts each campaign's targets still have, by campaign: what waits in the dispatch list,
// plus (with pacing) the campaign's items in the session's ready list, which a move takes back.
asio::awaitable<std::vector<std::vector<core::TargetState>>> waiting_contacts(
    Switcher& sw, const std::vector<PageCampaign>& page) {
  std::vector<std::string> lists;
  for (const auto& pc : page) {
    for (const auto& e : pc.c.distribution)
      lists.push_back(sw.keys.dispatch(pc.c.id, e.target));
  }
  const auto lens = co_await queue::list_lengths(sw.conn, std::move(lists));
  ReadyCounts ready;
  if (sw.cfg.pacing.enabled) ready = co_await read_ready(sw, page);
  std::vector<std::vector<core::TargetState>> out;
  std::size_t at = 0;
  for (const auto& pc : page) {
    auto& targets = out.emplace_back();
    for (const auto& e : pc.c.distribution) {
      std::uint64_t n = lens[at++];
      if (const auto r = ready.find(e.target); r != ready.end()) {
        if (const auto k = r->second.find(pc.c.id); k != r->second.end()) n += k->second;
      }
      targets.push_back({e.target, n});
    }
  }
  co_return out;
}

}  // namespace

asio::awaitable<void> Daemon::switch_campaigns(double now) {
  // The active campaigns are walked in pages (ZSCAN), so that memory stays bounded however many
  // there are (an app that never removes finished campaigns keeps a day of them). A campaign
  // that ZSCAN returns twice is checked twice: the second check finds its targets moved.
  std::string cursor = "0";
  do {
    queue::ActivePage page = co_await queue::scan_active(*conn_, keys_, cursor, kSwitchPage);
    cursor = std::move(page.cursor);
    if (!page.ids.empty()) co_await switch_page(page.ids, now);
  } while (cursor != "0" && !stopping_);
}

asio::awaitable<void> Daemon::switch_page(const std::vector<std::string>& ids, double now) {
  auto got = co_await queue::read_switch_records(*conn_, keys_, ids);
  std::vector<PageCampaign> campaigns;
  std::vector<std::string> workspaces;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (!got[i].decision) continue;
    auto c = core::parse_stored_decision(ids[i], *got[i].decision);
    if (!c) {
      spdlog::warn("switch: campaign {}: stored decision unreadable; skipped", ids[i]);
      continue;
    }
    workspaces.push_back(c->workspace_id);
    campaigns.push_back({std::move(*c), std::move(got[i].progress)});
  }
  std::sort(workspaces.begin(), workspaces.end());
  workspaces.erase(std::unique(workspaces.begin(), workspaces.end()), workspaces.end());
  const auto loaded = co_await store_.load_workspaces(workspaces, now, cfg_);

  Switcher sw{*conn_, keys_, metrics_, cfg_, token_, stopping_, now};
  const auto waiting = co_await waiting_contacts(sw, campaigns);
  for (std::size_t i = 0; i < campaigns.size() && !stopping_; ++i) {
    auto& pc = campaigns[i];
    const auto& targets = waiting[i];
    const auto& wd = loaded.at(pc.c.workspace_id);
    const core::WorkspaceView view{wd.sessions, wd.meta, wd.webjs_7d, wd.meta_7d};
    // A move under way is finished first; the campaign's other targets wait for the next cycle
    // (the lengths read above may be stale by then).
    const auto moves = pc.progress.empty() ? core::plan_switches(pc.c.spec, targets, view, cfg_)
                                           : std::vector<core::SwitchMove>{};
    if (moves.empty() && pc.progress.empty()) continue;
    const std::string lock = keys_.campaign_lock(pc.c.id);
    if (!co_await store_.hold_lock(lock, token_, kSwitchLockMs)) continue;
    if (!pc.progress.empty()) co_await resume(sw, pc);
    for (const auto& move : moves) {
      if (move.moved == 0) {
        co_await report_nowhere(sw, pc.c, move);
        continue;
      }
      auto plan = core::plan_of(move, core::session_json(move.decision.session));
      if (!co_await run_move(sw, pc.c, plan, "")) break;
      co_await moved(sw, pc.c, plan);
    }
    co_await store_.release_lock(lock, token_);
  }
}

}  // namespace wa::daemon
