// What a finished batch tells the operator: metrics and logs per job outcome, the dead entries of
// jobs whose outputs were partly written, and the jobs to decide again.
#include <spdlog/spdlog.h>

#include "core/records.hpp"
#include "daemon/daemon.hpp"
#include "daemon/logging.hpp"

namespace wa::daemon {

void Daemon::record_done(const Item& it, double elapsed) {
  const std::string& job_id = it.parsed.job_id;
  const core::JobPlan& p = it.plan;
  metrics_.decision_seconds.Observe(elapsed);
  if (p.type) {
    metrics_.decided(*p.type, p.reason);
    spdlog::debug("job {}: campaign {}: {} ({}), {} contacts", job_id,
                  it.parsed.job->campaign_id.text, core::to_string(*p.type),
                  core::to_string(p.reason), it.contacts);
  }
  for (const std::string_view w : it.warnings) {
    spdlog::warn("job {}: {}: {} does not exist; decided with 0 contacts", job_id, w,
                 it.contacts_key);
  }
  if (p.retry_due) {
    metrics_.retried.Increment();
    if (!it.unstable.empty()) {
      spdlog::warn("job {}: {}; the list is still changing: the job waits {:.1f} s", job_id,
                   it.unstable, p.retry_in);
    } else {
      spdlog::debug("job {}: retried in {:.1f} s", job_id, p.retry_in);
    }
  }
  if (p.dead) {
    metrics_.dead(std::string(core::to_string(*p.dead)));
    spdlog::warn("job {}: moved to {}: {}", job_id, keys_.dead(), p.dead_error);
  }
}

void Daemon::record_write_failed(const Item& it, queue::TxJob& partly, double now) {
  // Some outputs were written, one was not (a key of the wrong type, say), and the job was
  // acknowledged: deciding it again would send its messages twice. It goes to the dead list for
  // the operator, with what failed.
  metrics_.loop_errors.Increment();
  metrics_.dead("write_failed");
  const std::string error =
      "outputs partly written: " + it.result->error +
      "; the job's other outputs were written and it was acknowledged (retrying it writes them "
      "again)";
  spdlog::error("job {}: {}", it.parsed.job_id, error);
  partly.dead.push_back(core::dead_entry_json(it.taken.payload, error, now));
  if (it.parsed.campaign_id) {
    partly.results.push_back(core::dead_event_json(it.parsed.job_id, *it.parsed.campaign_id,
                                                   it.parsed.workspace_id, error, now));
  }
}

asio::awaitable<std::vector<queue::TakenJob>> Daemon::record_batch(std::vector<Item>& items,
                                                                   double elapsed, double now) {
  std::vector<queue::TakenJob> redo;
  queue::TxJob partly;  // the dead entries of jobs whose outputs were partly written
  for (Item& it : items) {
    const std::string& job_id = it.parsed.job_id;
    const JobLogContext log_context(job_id,
                                    it.parsed.campaign_id ? it.parsed.campaign_id->text : "");
    const queue::FinishResult& r = *it.result;
    if (r.outcome != queue::FinishOutcome::again) in_hand_.erase(it.taken.payload);
    switch (r.outcome) {
      case queue::FinishOutcome::done:
        record_done(it, elapsed);
        throughput_.add(wall_now());
        break;
      case queue::FinishOutcome::duplicate:
        metrics_.duplicates.Increment();
        spdlog::info("job {}: already decided (attempt {}); acknowledged without new outputs",
                     job_id, it.plan.marker_attempt);
        break;
      case queue::FinishOutcome::lease_lost:
        metrics_.lease_lost.Increment();
        spdlog::warn(
            "job {}: no longer reserved (already acknowledged, or its lease expired and it is "
            "decided again from the queue); nothing written",
            job_id);
        break;
      case queue::FinishOutcome::write_failed:
        record_write_failed(it, partly, now);
        break;
      case queue::FinishOutcome::again:
        spdlog::debug(
            "job {}: a marker of its batch was written, or a lease recovered, "
            "meanwhile; deciding again",
            job_id);
        redo.push_back(std::move(it.taken));
        break;
      default:  // failed (or, after the second pass, nothing else): not pinned to a cause
        metrics_.loop_errors.Increment();
        spdlog::error(
            "job {}: writing its outputs failed ({}); nothing written: its lease is no longer "
            "extended, so it comes back when the lease expires (after queue.max_deliveries "
            "expiries it goes to dead as poison)",
            job_id, r.error);
        break;
    }
  }
  co_await write_partly_dead(partly);
  co_return redo;
}

asio::awaitable<void> Daemon::write_partly_dead(queue::TxJob& partly) {
  if (partly.dead.empty()) co_return;
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

}  // namespace wa::daemon
