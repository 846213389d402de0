// Deciding a batch of jobs and writing every output atomically with the acknowledgement.
#include <spdlog/spdlog.h>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cmath>
#include <optional>

#include "core/backoff.hpp"
#include "core/records.hpp"
#include "core/select.hpp"
#include "daemon/daemon.hpp"
#include "daemon/logging.hpp"

namespace wa::daemon {

namespace {

// A round-robin contacts_key list at least this long is dealt by the daemon (see process()).
constexpr std::uint64_t kStageMinContacts = 10000;
// Stage lists outlive any finish; one left by a daemon that died in between expires.
constexpr std::int64_t kStageTtlSeconds = 600;

std::string ms_text(double seconds) {
  return std::to_string(static_cast<long long>(std::llround(seconds * 1000.0)));
}

// A dead job's entry for the dead list and, when its campaign_id can be read, its dead event for
// wa:results (CONTRACT.md section 5).
void add_dead(queue::TxJob& o, const std::string& payload, const core::ParsedJob& pj,
              const std::string& error, double now) {
  o.dead.push_back(core::dead_entry_json(payload, error, now));
  if (pj.campaign_id) {
    o.results.push_back(
        core::dead_event_json(pj.job_id, *pj.campaign_id, pj.workspace_id, error, now));
  }
}

}  // namespace

struct Daemon::Item {
  queue::TakenJob taken;
  core::ParsedJob parsed;
  std::string contacts_key;  // prefixed, when the job names one
  std::uint64_t contacts = 0;
  std::optional<core::DecisionType> type;  // the decision, when one was made
  core::Reason reason{};
  std::string dead_cause;  // bad_payload, poison, permanent or max_attempts: to the dead list
  std::string dead_error;
  double retry_in = -1;  // seconds, when put back for a retry
  // Made on a reused snapshot; valid only while no co_await lets the snapshot be replaced.
  std::optional<core::Decision> decision;
};

asio::awaitable<void> Daemon::refresh_snapshots(const std::vector<std::string>& ids, double now) {
  // Session state changes at human speed (a phone connects, a health cycle runs) while jobs can
  // arrive by the ten thousand per second: a workspace read within the last kSnapshotSeconds is
  // reused rather than read again for every batch. A read younger than this batch (another
  // consumer's) is fresh too; one from further ahead than that means the clock went back.
  const auto fresh = [&](const std::string& id) {
    const auto it = snapshot_at_.find(id);
    return it != snapshot_at_.end() && now - it->second < kSnapshotSeconds &&
           it->second - now < kSnapshotSeconds;
  };
  for (;;) {
    // Workspaces another consumer is reading right now are waited for, not read again.
    std::vector<std::string> mine;
    bool theirs = false;
    for (const auto& id : ids) {
      if (fresh(id)) continue;
      if (loading_.contains(id)) {
        theirs = true;
      } else {
        mine.push_back(id);
        loading_.insert(id);
      }
    }
    if (!mine.empty()) {
      struct Done {  // whatever happens, the workspaces are no longer being read
        Daemon& d;
        const std::vector<std::string>& ids;
        ~Done() {
          for (const auto& id : ids)
            d.loading_.erase(id);
          d.snapshot_loaded_.cancel();  // wakes the consumers waiting for them
        }
      } done{*this, mine};
      auto read = co_await store_.load_workspaces(mine, now, cfg_);
      if (snapshots_.size() > kSnapshotLimit) {  // bounded, whatever the number of workspaces
        snapshots_.clear();
        snapshot_at_.clear();
      }
      for (auto& [id, data] : read) {
        for (const auto& p : data.problems)
          warn_once("workspace " + id + ": " + p, now);
        snapshots_[id] = std::move(data);
        snapshot_at_[id] = now;
      }
      continue;  // theirs may be done meanwhile
    }
    if (!theirs) co_return;
    boost::system::error_code ec;  // cancelled when a read ends: check again
    co_await snapshot_loaded_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

core::Decision Daemon::decide_with_snapshot(const core::Job& job, std::uint64_t contacts) const {
  static const queue::WorkspaceData kEmpty;
  const auto it = snapshots_.find(job.workspace_id.text);
  const queue::WorkspaceData& wd = it == snapshots_.end() ? kEmpty : it->second;
  const core::WorkspaceView view{wd.sessions, wd.meta, wd.webjs_7d, wd.meta_7d};
  return core::decide(core::spec_of(job), contacts, view, cfg_);
}

asio::awaitable<std::vector<queue::TakenJob>> Daemon::process(std::vector<queue::TakenJob> batch,
                                                              redis::Connection& tx) {
  const auto started = std::chrono::steady_clock::now();
  const double now = wall_now();
  const std::string ttl = std::to_string(cfg_.results.ttl_seconds);
  std::vector<Item> items;
  items.reserve(batch.size());
  std::vector<std::string> workspaces;
  for (auto& t : batch) {
    Item it;
    it.parsed = core::parse_job(t.payload);
    it.taken = std::move(t);
    if (it.parsed.job && !it.taken.poison) {
      workspaces.push_back(it.parsed.job->workspace_id.text);
      if (it.parsed.job->contacts_key) {
        it.contacts_key = keys_.with_prefix(*it.parsed.job->contacts_key);
      } else {
        it.contacts = it.parsed.job->contacts.size();
      }
    }
    items.push_back(std::move(it));
  }
  std::sort(workspaces.begin(), workspaces.end());
  workspaces.erase(std::unique(workspaces.begin(), workspaces.end()), workspaces.end());

  // Contacts held in Redis lists are counted, not read: the finish script copies them.
  std::vector<queue::Call> llens;
  std::vector<Item*> with_key;
  for (auto& it : items) {
    if (!it.contacts_key.empty()) {
      llens.push_back(queue::plain({"LLEN", it.contacts_key}));
      with_key.push_back(&it);
    }
  }
  if (!llens.empty()) {
    const auto replies = co_await queue::run(*conn_, std::move(llens));
    for (std::size_t i = 0; i < replies.size(); ++i) {
      with_key[i]->contacts = static_cast<std::uint64_t>(std::max(0LL, queue::int_or(replies[i])));
    }
  }
  co_await refresh_snapshots(workspaces, now);
  // A reused snapshot may serve a job but never delay one: a job that would wait for lack of a
  // provider is decided again on a fresh read (a phone connected a moment ago must not cost a
  // campaign a retry delay). Waiting for a template's approval does not depend on the snapshot.
  std::vector<std::string> recheck;
  for (auto& it : items) {
    if (!it.parsed.job || it.taken.poison) continue;
    const std::string& ws = it.parsed.job->workspace_id.text;
    if (snapshot_at_[ws] >= now) continue;  // read for this batch
    it.decision = decide_with_snapshot(*it.parsed.job, it.contacts);
    if (it.decision->reason == core::Reason::no_provider_available ||
        it.decision->reason == core::Reason::preferred_provider_unavailable) {
      recheck.push_back(ws);
    }
  }
  if (!recheck.empty()) {
    std::sort(recheck.begin(), recheck.end());
    recheck.erase(std::unique(recheck.begin(), recheck.end()), recheck.end());
    for (const auto& ws : recheck)
      snapshot_at_.erase(ws);
    co_await refresh_snapshots(recheck, now);
    // While this consumer waited, any snapshot may have been replaced (by this read, or by
    // another consumer's): the decisions made so far point into them and are made again.
    for (auto& it : items)
      it.decision.reset();
  }

  // Every job's outputs. Jobs whose contacts are in a Redis list are copied inside Redis by the
  // finish script; all others go through one MULTI/EXEC of plain commands (no Lua: cheaper).
  std::vector<queue::TxJob> outs(items.size());
  // Big contacts_key lists dealt round-robin: dealt into stage lists first (below).
  struct Staging {
    std::size_t job, write;           // outs[job].writes[write] is its WA_DEAL
    std::vector<std::string> stages;  // one per target
    std::vector<std::string> dsts;    // the dispatch lists
  };
  std::vector<Staging> staging;
  for (std::size_t n = 0; n < items.size(); ++n) {
    Item& it = items[n];
    queue::TxJob& o = outs[n];
    const core::ParsedJob& pj = it.parsed;
    std::string marker_attempt;
    auto dead_out = [&](const std::string& error) {
      add_dead(o, it.taken.payload, pj, error, now);
    };
    if (it.taken.poison) {
      marker_attempt = queue::Keys::kPoisonAttempt;
      it.dead_cause = "poison";
      it.dead_error = "lease expired " + std::to_string(cfg_.queue.max_deliveries) +
                      " times without acknowledgement (poison job)";
      dead_out(it.dead_error);
    } else if (!pj.job) {
      marker_attempt = queue::Keys::kBadAttempt;
      it.dead_cause = "bad_payload";
      it.dead_error = pj.error;
      dead_out(it.dead_error);
    } else {
      const core::Job& job = *pj.job;
      marker_attempt = std::to_string(job.attempts);
      const core::Decision d =
          it.decision ? std::move(*it.decision) : decide_with_snapshot(job, it.contacts);
      it.type = d.type;
      it.reason = d.reason;
      if (d.type != core::DecisionType::queue) {
        std::string record = core::decision_json(job, d, now, std::nullopt);
        const bool dealt = d.distribution.size() > 1 && d.distribution[0].slice.stride > 1;
        std::vector<std::string> deal_targets;
        for (const core::Target& t : d.distribution) {
          std::string key = keys_.dispatch(job.campaign_id.text, t.target);
          if (it.contacts_key.empty()) {
            redis::Command push;
            push.reserve(2 + t.slice.count);
            push.emplace_back("RPUSH");
            push.push_back(std::move(key));
            for (std::size_t k = 0; k < t.slice.count; ++k)
              push.push_back(job.contacts[t.slice.first + k * t.slice.stride]);
            o.writes.push_back(std::move(push));
          } else if (dealt) {
            deal_targets.push_back(std::move(key));
          } else {
            o.writes.push_back({"WA_COPY", it.contacts_key, std::move(key),
                                std::to_string(t.slice.first), std::to_string(t.slice.count)});
          }
        }
        if (!deal_targets.empty()) {
          redis::Command deal{"WA_DEAL", it.contacts_key, std::to_string(it.contacts)};
          deal.insert(deal.end(), deal_targets.begin(), deal_targets.end());
          if (it.contacts >= kStageMinContacts) {
            Staging st{n, o.writes.size(), {}, std::move(deal_targets)};
            for (std::size_t j = 0; j < st.dsts.size(); ++j)
              st.stages.push_back(keys_.staging(token_, ++staging_seq_, j));
            staging.push_back(std::move(st));
          }
          o.writes.push_back(std::move(deal));  // replaced by WA_PLACE once staged
        }
        // (Built word by word: a braced list would copy the 1.5 KB record twice.)
        redis::Command set;
        set.reserve(5);
        set.emplace_back("SET");
        set.push_back(keys_.decision(job.campaign_id.text));
        set.push_back(record);
        set.emplace_back("EX");
        set.push_back(ttl);
        o.writes.push_back(std::move(set));
        o.results.push_back(std::move(record));
        o.active_score = ms_text(now);
        o.active = job.campaign_id.text;
      } else {
        const core::RetryPlan plan =
            core::plan_retry(job.attempts, d.permanent, cfg_.retry, unit_random());
        if (plan.dead) {
          o.results.push_back(core::decision_json(job, d, now, std::nullopt));
          it.dead_cause = d.permanent ? "permanent" : "max_attempts";
          it.dead_error =
              d.permanent
                  ? "template.status: " + std::string(core::to_string(job.tmpl->status)) +
                        " templates can never be approved"
                  : "not served after " + std::to_string(plan.attempts) +
                        " attempts (last reason: " + std::string(core::to_string(d.reason)) + ")";
          dead_out(it.dead_error);
        } else {
          const double due = now + plan.delay_seconds;
          o.results.push_back(core::decision_json(job, d, now, due));
          o.delayed_score = queue::queue_score_of_seconds(due);
          o.delayed = core::rewrite_payload(it.taken.payload, job.job_id_derived ? job.job_id : "",
                                            plan.attempts);
          it.retry_in = plan.delay_seconds;
        }
      }
    }
    o.payload = it.taken.payload;
    o.marker = keys_.decided(pj.job_id, marker_attempt);
    o.contacts_key = it.contacts_key;
    o.contacts_len = it.contacts;
  }

  // Round-robin dealing element by element in Lua converts every contact into a Lua string and
  // back (4.5x a pipelined RPUSH of the same ids over 1M contacts); the daemon deals them into
  // stage lists instead and the finish script RENAMEs those into place (WA_PLACE), or deals from
  // the source itself when a stage is not whole (WA_DEAL's work, always right).
  for (const Staging& st : staging) {
    queue::TxJob& o = outs[st.job];
    const auto lens =
        co_await queue_.stage_deal(o.contacts_key, o.contacts_len, st.stages, kStageTtlSeconds);
    if (!lens) continue;  // not readable as a list: WA_DEAL reports it
    redis::Command place{"WA_PLACE", o.contacts_key, std::to_string(o.contacts_len)};
    for (std::size_t j = 0; j < st.stages.size(); ++j) {
      place.push_back(st.stages[j]);
      place.push_back(st.dsts[j]);
      place.push_back(std::to_string((*lens)[j]));
    }
    o.writes[st.write] = std::move(place);
  }

  std::vector<redis::Reply> replies(items.size());
  std::vector<std::size_t> by_script, by_tx;
  std::vector<queue::TxJob> tx_jobs;
  for (std::size_t n = 0; n < items.size(); ++n) {
    (items[n].contacts_key.empty() ? by_tx : by_script).push_back(n);
  }
  if (!by_script.empty()) {
    std::vector<queue::TxJob> script_jobs;
    for (const std::size_t n : by_script)
      script_jobs.push_back(std::move(outs[n]));
    auto r = co_await queue_.finish_by_script(script_jobs, cfg_.results.ttl_seconds);
    for (std::size_t k = 0; k < by_script.size(); ++k)
      replies[by_script[k]] = std::move(r[k]);
  }
  if (!by_tx.empty()) {
    tx_jobs.reserve(by_tx.size());
    for (const std::size_t n : by_tx)
      tx_jobs.push_back(std::move(outs[n]));
    auto r = co_await queue_.finish_tx(tx, tx_jobs, cfg_.results.ttl_seconds);
    for (std::size_t k = 0; k < by_tx.size(); ++k)
      replies[by_tx[k]] = std::move(r[k]);
  }
  if (!staging.empty()) {
    // Stages the finish script did not move (the job was not written: duplicate, lease lost,
    // decided again) are deleted; those it moved are gone already.
    redis::Command del{"DEL"};
    for (const Staging& st : staging)
      del.insert(del.end(), st.stages.begin(), st.stages.end());
    (void)co_await queue::run1(*conn_, queue::plain(std::move(del)));
  }
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::vector<queue::TakenJob> redo;
  queue::TxJob partly;  // the dead entries of jobs whose outputs were partly written
  for (std::size_t i = 0; i < items.size(); ++i) {
    Item& it = items[i];
    const redis::Reply& r = replies[i];
    const std::string& job_id = it.parsed.job_id;
    const JobLogContext log_context(job_id,
                                    it.parsed.campaign_id ? it.parsed.campaign_id->text : "");
    if (r.is_error()) {
      // Some outputs were written, one was not (a key of the wrong type, say), and the job was
      // acknowledged: deciding it again would send its messages twice. It goes to the dead list
      // for the operator, with what failed.
      metrics_.loop_errors.Increment();
      metrics_.dead("write_failed");
      const std::string error =
          "outputs partly written: " + r.str +
          "; the job's other outputs were written and it was acknowledged (retrying it writes "
          "them again)";
      spdlog::error("job {}: {}", job_id, error);
      add_dead(partly, it.taken.payload, it.parsed, error, now);
      in_hand_.erase(it.taken.payload);
      continue;
    }
    const auto outcome = static_cast<queue::FinishOutcome>(queue::int_or(r));
    if (outcome != queue::FinishOutcome::contacts_changed &&
        outcome != queue::FinishOutcome::again) {
      in_hand_.erase(it.taken.payload);
    }
    switch (outcome) {
      case queue::FinishOutcome::done:
        metrics_.decision_seconds.Observe(elapsed);
        if (it.type) {
          metrics_.decided(*it.type, it.reason);
          spdlog::debug("job {}: campaign {}: {} ({}), {} contacts", job_id,
                        it.parsed.job->campaign_id.text, core::to_string(*it.type),
                        core::to_string(it.reason), it.contacts);
        }
        if (it.retry_in >= 0) {
          metrics_.retried.Increment();
          spdlog::debug("job {}: retried in {:.1f} s", job_id, it.retry_in);
        }
        if (!it.dead_cause.empty()) {
          metrics_.dead(it.dead_cause);
          spdlog::warn("job {}: moved to {}: {}", job_id, keys_.dead(), it.dead_error);
        }
        break;
      case queue::FinishOutcome::duplicate:
        metrics_.duplicates.Increment();
        spdlog::info("job {}: already decided (attempt {}); acknowledged without new outputs",
                     job_id, it.parsed.job ? std::to_string(it.parsed.job->attempts) : "-");
        break;
      case queue::FinishOutcome::lease_lost:
        metrics_.lease_lost.Increment();
        spdlog::warn(
            "job {}: no longer reserved (already acknowledged, or its lease expired and "
            "it is decided again from the queue); nothing written",
            job_id);
        break;
      case queue::FinishOutcome::contacts_changed:
        spdlog::info("job {}: {} changed while deciding; deciding again", job_id, it.contacts_key);
        redo.push_back(std::move(it.taken));
        break;
      case queue::FinishOutcome::again:
        spdlog::debug(
            "job {}: a marker of its batch was written, or a lease recovered, meanwhile; "
            "deciding again",
            job_id);
        redo.push_back(std::move(it.taken));
        break;
    }
  }
  if (!partly.dead.empty()) {
    std::vector<queue::Call> calls;
    redis::Command dead{"RPUSH", keys_.dead()}, events{"RPUSH", keys_.results()};
    dead.insert(dead.end(), partly.dead.begin(), partly.dead.end());
    events.insert(events.end(), partly.results.begin(), partly.results.end());
    calls.push_back(queue::plain(std::move(dead)));
    if (events.size() > 2) calls.push_back(queue::plain(std::move(events)));
    for (const auto& reply : co_await queue::run(*conn_, std::move(calls))) {
      if (reply.is_error()) spdlog::error("writing a dead entry failed: {}", reply.str);
    }
  }
  co_return redo;
}

}  // namespace wa::daemon
