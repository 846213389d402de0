// Finishing a batch (queue/finish.hpp): the finish script for jobs with stage lists, and
// WATCH + MULTI/EXEC of plain commands for the others.
#include "queue/finish.hpp"

#include <algorithm>
#include <iterator>
#include <unordered_set>

#include "queue/job_queue.hpp"
#include "queue/sha1.hpp"

namespace wa::queue {

namespace {

// Limits of one transaction: Redis checks each WATCHed key against every key the connection
// already watches (O(n^2) in the jobs), and runs the whole EXEC before serving anyone else.
constexpr std::size_t kTxJobs = 64;
constexpr std::uint64_t kTxContacts = 20000;
// Jobs per finish script call (each job's work in the script is bounded: no contact is copied
// there, stages are renamed or registered).
constexpr std::size_t kScriptJobs = 64;

FinishResult result_of_script(const Reply& r) {
  if (!r.is_array() || r.elements.empty()) return {FinishOutcome::failed, "bad finish reply"};
  std::string why = r.elements.size() > 1 ? r.elements[1].str : std::string();
  switch (int_or(r.elements[0], 7)) {
    case 0:
      return {FinishOutcome::lease_lost, {}};
    case 1:
      return {FinishOutcome::done, {}};
    case 2:
      return {FinishOutcome::duplicate, {}};
    case -1:
      return {FinishOutcome::contacts_changed, std::move(why)};
    case 5:
      return {FinishOutcome::rejected, std::move(why)};
    case 6:
      return {FinishOutcome::write_failed, std::move(why)};
    default:
      return {FinishOutcome::failed, std::move(why)};
  }
}

void add_ops(std::vector<std::string>& args, const TxJob& j, const Keys& keys) {
  std::vector<std::string> ops;
  const auto op = [&](std::initializer_list<std::string_view> w) {
    ops.push_back(std::to_string(w.size()));
    ops.insert(ops.end(), w.begin(), w.end());
  };
  for (const Command& c : j.writes) {
    ops.push_back(std::to_string(c.size()));
    ops.insert(ops.end(), c.begin(), c.end());
  }
  for (const auto& rec : j.results)
    op({"RPUSH", keys.results(), rec});
  for (const auto& d : j.dead)
    op({"RPUSH", keys.dead(), d});
  if (!j.delayed.empty()) op({"ZADD", keys.delayed(), j.delayed_score, j.delayed});
  if (!j.active.empty()) op({"ZADD", keys.active(), j.active_score, j.active});
  args.push_back(j.payload);
  args.push_back(j.marker);
  args.push_back(j.contacts_key);
  args.push_back(std::to_string(j.contacts_len));
  args.push_back(std::to_string(ops.size()));
  std::move(ops.begin(), ops.end(), std::back_inserter(args));
}

}  // namespace

asio::awaitable<std::vector<FinishResult>> JobQueue::finish_script_call(
    const std::vector<TxJob>& jobs, std::int64_t marker_ttl, std::int64_t now_ms) const {
  std::vector<std::string> args{std::to_string(marker_ttl), std::to_string(now_ms)};
  for (const TxJob& j : jobs)
    add_ops(args, j, keys_);
  const std::vector<std::string> keys{keys_.reserved(), keys_.deliveries(), keys_.appending()};
  Call call = script_call(finish_script(), keys, std::move(args));
  const Reply reply = co_await run1(conn_, std::move(call));
  std::vector<FinishResult> out;
  if (reply.is_array() && reply.elements.size() == jobs.size()) {
    for (const Reply& r : reply.elements)
      out.push_back(result_of_script(r));
    co_return out;
  }
  // Sent to a node that is not the slot's master (a cluster failing over): nothing ran. Thrown
  // like a lost connection, so the batch is decided again once the master is known, instead of
  // waiting for its leases to expire (each expiry counts towards queue.max_deliveries).
  if (reply.is_error() && redis::is_cluster_retry(reply.str)) {
    throw std::runtime_error("finish script: " + reply.str + " (nothing written)");
  }
  // Refused as a whole (OOM, say): nothing was written, the jobs are still reserved.
  const std::string why = reply.is_error() ? reply.str : "unexpected reply to the finish script";
  out.assign(jobs.size(), FinishResult{FinishOutcome::failed, why});
  co_return out;
}

asio::awaitable<std::vector<FinishResult>> JobQueue::finish_by_script(
    const std::vector<TxJob>& jobs, std::int64_t marker_ttl, std::int64_t now_ms) const {
  std::vector<FinishResult> out;
  out.reserve(jobs.size());
  for (std::size_t from = 0; from < jobs.size(); from += kScriptJobs) {
    const std::size_t to = std::min(jobs.size(), from + kScriptJobs);
    const std::vector<TxJob> chunk(jobs.begin() + static_cast<long>(from),
                                   jobs.begin() + static_cast<long>(to));
    auto r = co_await finish_script_call(chunk, marker_ttl, now_ms);
    const bool refused = std::all_of(r.begin(), r.end(), [](const FinishResult& x) {
      return x.outcome == FinishOutcome::failed;
    });
    if (refused && chunk.size() > 1) {  // one job may be the cause: each on its own
      r.clear();
      for (const TxJob& j : chunk) {
        const std::vector<TxJob> single(1, j);  // (GCC 12: no braced list inside co_await)
        auto one = co_await finish_script_call(single, marker_ttl, now_ms);
        r.push_back(std::move(one.front()));
      }
    }
    std::move(r.begin(), r.end(), std::back_inserter(out));
  }
  co_return out;
}

asio::awaitable<std::vector<FinishResult>> JobQueue::finish_tx(redis::Connection& tx,
                                                               std::vector<TxJob>& jobs,
                                                               std::int64_t marker_ttl) const {
  std::vector<FinishResult> out;
  out.reserve(jobs.size());
  std::size_t from = 0;
  while (from < jobs.size()) {
    std::size_t to = from;
    std::uint64_t contacts = 0;
    while (to < jobs.size() && to - from < kTxJobs &&
           (to == from || contacts + jobs[to].contacts <= kTxContacts)) {
      contacts += jobs[to++].contacts;
    }
    std::vector<TxJob> chunk(std::make_move_iterator(jobs.begin() + static_cast<long>(from)),
                             std::make_move_iterator(jobs.begin() + static_cast<long>(to)));
    auto r = co_await finish_chunk(tx, chunk, marker_ttl);
    std::move(r.begin(), r.end(), std::back_inserter(out));
    std::move(chunk.begin(), chunk.end(), jobs.begin() + static_cast<long>(from));
    from = to;
  }
  co_return out;
}

}  // namespace wa::queue
