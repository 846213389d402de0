// Deciding a batch of jobs and writing every output atomically with the acknowledgement:
// parse, measure contacts_key lists, plan each job (core/plan), stage big contact sets, finish
// (queue/finish), then a second pass for jobs that could not be written as decided.
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>

#include "core/records.hpp"
#include "daemon/daemon.hpp"
#include "queue/appends.hpp"
#include "queue/outputs.hpp"

namespace wa::daemon {

namespace {

// A job with more contacts than this, or any contacts_key job, has its contacts copied into
// stage lists in bounded commands before its finish step (which then only renames them).
constexpr std::uint64_t kStageMinContacts = 10000;
// With sticky senders each contact is also an HSET field: the transaction would hold Redis about
// three times as long per contact, so jobs are staged (their HSETs pipelined in commands of 500
// fields outside the transaction) from this many contacts.
constexpr std::uint64_t kStickyStageMinContacts = 2000;
// Stage lists outlive any finish; one left by a daemon that died in between expires.
constexpr std::int64_t kStageTtlSeconds = 600;

}  // namespace

bool Daemon::decidable(const Item& it) {
  return it.parsed.job && !it.taken.poison && it.rejected.empty();
}

std::vector<Daemon::Item> Daemon::parse_batch(std::vector<queue::TakenJob>& batch) const {
  std::vector<Item> items(batch.size());
  for (std::size_t n = 0; n < batch.size(); ++n) {
    Item& it = items[n];
    it.parsed = core::parse_job(batch[n].payload);
    it.taken = std::move(batch[n]);
    if (!it.parsed.job || it.taken.poison) continue;
    if (it.parsed.job->contacts_key) {
      it.contacts_key = keys_.with_prefix(*it.parsed.job->contacts_key);
    } else {
      it.contacts = it.parsed.job->contacts.size();
    }
  }
  return items;
}

asio::awaitable<void> Daemon::measure_contacts(std::vector<Item>& items) {
  // Contacts held in Redis lists are counted, not read: their type says whether they can be.
  std::vector<queue::Call> calls;
  std::vector<Item*> with_key;
  for (auto& it : items) {
    if (it.contacts_key.empty()) continue;
    calls.push_back(queue::plain({"TYPE", it.contacts_key}));
    calls.push_back(queue::plain({"LLEN", it.contacts_key}));
    with_key.push_back(&it);
  }
  if (calls.empty()) co_return;
  const auto replies = co_await queue::run(*conn_, std::move(calls));
  for (std::size_t i = 0; i < with_key.size(); ++i) {
    Item& it = *with_key[i];
    const std::string type = replies[2 * i].str;
    if (type == "none") {
      it.warnings.push_back(core::kContactsKeyMissing);
    } else if (type != "list") {
      it.rejected = "contacts_key " + *it.parsed.job->contacts_key + " holds a " + type +
                    ", not a list of contact ids";
    } else {
      it.contacts = static_cast<std::uint64_t>(std::max(0LL, queue::int_or(replies[2 * i + 1])));
    }
  }
}

core::JobPlan Daemon::plan_item(const Item& it, double now, bool count_backlog) {
  const core::ParsedJob& pj = it.parsed;
  if (it.taken.poison)
    return core::plan_poison(it.taken.payload, pj, cfg_.queue.max_deliveries, now);
  if (!pj.job) return core::plan_bad(it.taken.payload, pj, now);
  if (!it.rejected.empty()) {
    return core::plan_rejected(it.taken.payload, pj, core::DeadCause::bad_contacts_key, it.rejected,
                               now);
  }
  static queue::WorkspaceData empty;
  const auto snap = snapshots_.find(pj.job->workspace_id.text);
  queue::WorkspaceData& wd = snap == snapshots_.end() ? empty : snap->second;
  core::WorkspaceView view{wd.sessions, wd.meta, wd.webjs_7d, wd.meta_7d};
  view.pace = wd.pace ? &*wd.pace : nullptr;
  const core::Decision d = core::decide(core::spec_of(*pj.job), it.contacts, view, cfg_, now,
                                        it.sticky ? &*it.sticky : nullptr);
  if (wd.pace && count_backlog)
    core::add_to_backlogs(*wd.pace, d);  // the next job of the batch waits behind
  // The decision points into the snapshot: it is turned into plain data before any co_await.
  return core::plan_decided(it.taken.payload, *pj.job, d, it.warnings, now, cfg_.retry,
                            unit_random());
}

asio::awaitable<void> Daemon::plan_batch(std::vector<Item>& items, double now) {
  std::vector<std::string> workspaces;
  for (const auto& it : items) {
    if (decidable(it)) workspaces.push_back(it.parsed.job->workspace_id.text);
  }
  std::sort(workspaces.begin(), workspaces.end());
  workspaces.erase(std::unique(workspaces.begin(), workspaces.end()), workspaces.end());
  co_await refresh_snapshots(workspaces, now);
  // A reused snapshot may serve a job but never delay one: a job that would wait for lack of a
  // provider is planned again on a fresh read (a phone connected a moment ago must not cost a
  // campaign a retry delay). Waiting for a template's approval does not depend on the snapshot.
  std::vector<std::string> recheck;
  for (auto& it : items) {
    it.plan = plan_item(it, now);
    if (!decidable(it) || snapshot_at_[it.parsed.job->workspace_id.text] >= now) continue;
    if (it.plan.reason == core::Reason::no_provider_available ||
        it.plan.reason == core::Reason::preferred_provider_unavailable) {
      recheck.push_back(it.parsed.job->workspace_id.text);
    }
  }
  if (recheck.empty()) co_return;
  std::sort(recheck.begin(), recheck.end());
  recheck.erase(std::unique(recheck.begin(), recheck.end()), recheck.end());
  for (const auto& ws : recheck)
    snapshot_at_.erase(ws);
  co_await refresh_snapshots(recheck, now);
  for (auto& it : items) {
    if (decidable(it) &&
        std::binary_search(recheck.begin(), recheck.end(), it.parsed.job->workspace_id.text)) {
      it.plan = plan_item(it, now);
    }
  }
}

bool Daemon::staged(const Item& it) const {
  const std::uint64_t min = sticky_writes(it) ? kStickyStageMinContacts : kStageMinContacts;
  return !it.plan.dispatch.empty() && (!it.contacts_key.empty() || it.contacts > min);
}

asio::awaitable<void> Daemon::stage(Item& it, queue::TxJob& o) {
  std::vector<core::Slice> slices;
  std::vector<std::string> dsts;
  for (const core::Dispatch& d : it.plan.dispatch) {
    slices.push_back(d.slice);
    dsts.push_back(keys_.dispatch(it.parsed.job->campaign_id.text, d.target));
  }
  const std::uint64_t seq = ++staging_seq_;
  for (std::size_t j = 0; j < dsts.size(); ++j)
    it.stages.push_back(keys_.staging(token_, seq, j));
  // Section 10: contacts placed by owner, and their sessions written to the sticky hash.
  std::unique_ptr<queue::StageOwners> owners;
  if (sticky_writes(it) || !it.plan.owner.empty()) {
    owners = std::make_unique<queue::StageOwners>();
    owners->owner = queue::owners_of(it.plan, it.contacts);
    if (sticky_writes(it)) owners->sticky_key = keys_.sticky(it.parsed.job->workspace_id.text);
    owners->unchanged =
        queue::unchanged_sticky(it.plan, owners->owner, it.sticky ? &*it.sticky : nullptr);
    for (const core::Dispatch& d : it.plan.dispatch)
      owners->sessions.push_back(d.target == "meta_api" ? std::string() : d.target);
  }
  // (Each awaited result initialises its own variable: GCC 12 miscompiles co_await inside a
  // conditional expression.)
  if (it.contacts_key.empty()) {
    const auto lens = co_await queue_.stage_inline(it.parsed.job->contacts, slices, it.stages,
                                                   kStageTtlSeconds, owners.get());
    place_stages(it, o, lens, dsts);
  } else {
    const auto lens = co_await queue_.stage_slices(it.contacts_key, it.contacts, slices, it.stages,
                                                   kStageTtlSeconds, owners.get());
    place_stages(it, o, lens, dsts);
  }
}

void Daemon::place_stages(Item& it, queue::TxJob& o,
                          const std::optional<std::vector<std::uint64_t>>& lens,
                          const std::vector<std::string>& dsts) {
  if (!lens) {  // the list changed (or is no longer a list): the job is written again later
    const std::string what = it.contacts_key.empty()
                                 ? std::string("a stage list")
                                 : "contacts_key " + *it.parsed.job->contacts_key;
    it.result = {queue::FinishOutcome::contacts_changed, what + " changed while it was read"};
    return;
  }
  std::vector<redis::Command> places;
  for (std::size_t j = 0; j < dsts.size(); ++j)
    places.push_back({"WA_PLACE", it.stages[j], dsts[j], std::to_string((*lens)[j])});
  o.writes.insert(o.writes.begin(), places.begin(), places.end());
}

asio::awaitable<void> Daemon::finish_batch(std::vector<Item>& items,
                                           std::vector<queue::TxJob>& outs, redis::Connection& tx) {
  // Jobs with stage lists are finished by the script (it renames them into place); all others
  // by one MULTI/EXEC of plain commands (no Lua: cheaper).
  std::vector<std::size_t> by_script, by_tx;
  for (std::size_t n = 0; n < items.size(); ++n) {
    if (items[n].result) continue;  // settled before the finish (staging found a change)
    (items[n].stages.empty() ? by_tx : by_script).push_back(n);
  }
  // (No co_await inside a conditional expression or a lambda: GCC 12 miscompiles both.)
  std::vector<queue::TxJob> jobs;
  for (const std::size_t n : by_script)
    jobs.push_back(std::move(outs[n]));
  if (!jobs.empty()) {
    auto r = co_await queue_.finish_by_script(jobs, cfg_.results.ttl_seconds, to_ms(wall_now()));
    for (std::size_t k = 0; k < by_script.size(); ++k)
      items[by_script[k]].result = std::move(r[k]);
  }
  jobs.clear();
  for (const std::size_t n : by_tx)
    jobs.push_back(std::move(outs[n]));
  if (!jobs.empty()) {
    auto r = co_await queue_.finish_tx(tx, jobs, cfg_.results.ttl_seconds);
    for (std::size_t k = 0; k < by_tx.size(); ++k)
      items[by_tx[k]].result = std::move(r[k]);
  }
  // Stages of jobs that wrote nothing are deleted; those of written jobs were renamed, or are
  // registered for appending (a stage whose write failed expires by itself).
  redis::Command del{"DEL"};
  bool appends = false;
  for (const Item& it : items) {
    const bool written = it.result->outcome == queue::FinishOutcome::done ||
                         it.result->outcome == queue::FinishOutcome::write_failed;
    if (!written) del.insert(del.end(), it.stages.begin(), it.stages.end());
    appends = appends || (written && !it.stages.empty());
  }
  if (del.size() > 1) (void)co_await queue::run1(*conn_, queue::plain(std::move(del)));
  // Appends to dispatch lists that existed start at once (the appender loop finishes any left).
  if (appends) (void)co_await queue::run_appends(*conn_, keys_, 16);
}

asio::awaitable<void> Daemon::second_pass(std::vector<Item>& items, redis::Connection& tx,
                                          double now) {
  // Jobs that could not be written as decided (their contacts_key list is not a list, or kept
  // changing) are still reserved: they go to dead, or wait with backoff like any retry.
  std::vector<std::size_t> which;
  std::vector<queue::TxJob> jobs;
  for (std::size_t n = 0; n < items.size(); ++n) {
    Item& it = items[n];
    const auto o = it.result->outcome;
    if (o != queue::FinishOutcome::rejected && o != queue::FinishOutcome::contacts_changed) {
      continue;
    }
    it.stages.clear();
    it.plan = o == queue::FinishOutcome::rejected
                  ? core::plan_rejected(it.taken.payload, it.parsed,
                                        core::DeadCause::bad_contacts_key, it.result->error, now)
                  : core::plan_unstable(it.taken.payload, *it.parsed.job, it.result->error, now,
                                        cfg_.retry, unit_random());
    if (o == queue::FinishOutcome::contacts_changed) it.unstable = it.result->error;
    jobs.push_back(queue::outputs_of(it.plan, it.taken.payload, {}, nullptr, false, keys_,
                                     cfg_.results.ttl_seconds, now));
    jobs.back().marker = keys_.decided(it.parsed.job_id, it.plan.marker_attempt);
    which.push_back(n);
  }
  if (which.empty()) co_return;
  auto r = co_await queue_.finish_tx(tx, jobs, cfg_.results.ttl_seconds);
  for (std::size_t k = 0; k < which.size(); ++k)
    items[which[k]].result = std::move(r[k]);
}

asio::awaitable<std::vector<queue::TakenJob>> Daemon::process(std::vector<queue::TakenJob> batch,
                                                              redis::Connection& tx) {
  const auto started = std::chrono::steady_clock::now();
  const double now = wall_now();
  std::vector<Item> items = parse_batch(batch);
  co_await measure_contacts(items);
  co_await plan_batch(items, now);
  co_await apply_sticky(items, now);
  std::vector<queue::TxJob> outs;
  outs.reserve(items.size());
  for (Item& it : items) {
    const bool big = staged(it);
    const std::string_view campaign =
        it.parsed.job ? std::string_view(it.parsed.job->campaign_id.text) : std::string_view();
    const auto* contacts =
        it.parsed.job && it.contacts_key.empty() ? &it.parsed.job->contacts : nullptr;
    outs.push_back(queue::outputs_of(it.plan, it.taken.payload, campaign, contacts, big, keys_,
                                     cfg_.results.ttl_seconds, now));
    queue::TxJob& o = outs.back();
    o.marker = keys_.decided(it.parsed.job_id, it.plan.marker_attempt);
    o.contacts_key = it.contacts_key;
    o.contacts_len = it.contacts;
    if (cfg_.pacing.enabled && it.parsed.job) {
      queue::add_backlogs(o, it.plan, campaign, it.parsed.job->workspace_id.text, keys_, now);
    }
    if (contacts != nullptr && !big && sticky_writes(it)) {
      queue::add_sticky(o, it.plan, *contacts, keys_.sticky(it.parsed.job->workspace_id.text),
                        it.sticky ? &*it.sticky : nullptr);
    }
    if (big) co_await stage(it, o);
  }
  co_await finish_batch(items, outs, tx);
  co_await second_pass(items, tx, now);
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  co_return co_await record_batch(items, elapsed, now);
}

}  // namespace wa::daemon
