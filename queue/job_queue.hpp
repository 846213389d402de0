// The reliable campaign queue of CONTRACT.md section 1 (Laravel's Redis-queue layout).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "queue/exec.hpp"
#include "queue/keys.hpp"
#include "queue/score.hpp"

namespace wa::queue {

struct TakenJob {
  std::string payload;  // the bytes as taken: the reserved zset's member
  bool poison = false;  // its lease expired max_deliveries times
};

struct TakeResult {
  std::vector<TakenJob> jobs;
  std::uint64_t duplicates = 0;  // byte-identical copies of a job already in hand, dropped
  std::uint64_t recovered = 0;   // expired leases put back at the head of the queue
};

// One job's outputs, for JobQueue::finish_tx or (a job with a contacts_key) finish_by_script.
struct TxJob {
  std::string payload;             // the reserved zset's member
  std::string marker;              // its exactly-once marker key
  std::string contacts_key;        // prefixed; finish_by_script checks its length is still...
  std::uint64_t contacts_len = 0;  // ...this, and WA_COPY/WA_DEAL writes copy from it
  // Its own commands (dispatch lists, the campaign's decision), in order.
  std::vector<Command> writes;
  // Appended to batch-wide commands, in job order.
  std::vector<std::string> results;    // records for wa:results
  std::vector<std::string> dead;       // entries for the dead list
  std::string delayed_score, delayed;  // a retry: due (queue_score), the new payload; or empty
  std::string active_score, active;    // wa:campaigns:active member; or empty
};

class JobQueue {
 public:
  JobQueue(redis::Connection& conn, const Keys& keys) : conn_(conn), keys_(keys) {}

  asio::awaitable<TakeResult> take(std::int64_t now_ms, const config::Queue& q);
  // Pushes the leases of jobs still in hand to now + lease (only those still reserved).
  asio::awaitable<void> extend(const std::vector<std::string>& payloads, std::int64_t now_ms,
                               const config::Queue& q);
  // Puts jobs still reserved back at the head, in order. Returns how many went back.
  asio::awaitable<long long> release(const std::vector<std::string>& payloads);
  // Waits up to `seconds` for a notify entry on this (blocking) connection; true if one came.
  static asio::awaitable<bool> wait_notify(redis::Connection& blocking, const Keys& keys,
                                           int seconds);

  // Deals the first `count` elements of the list `src` round-robin into `stages` (element i to
  // stages[i mod k]) outside Lua, where Redis copies strings without converting them to Lua and
  // back: LRANGE chunks read ahead, pipelined RPUSHes, every stage expiring after `ttl_seconds`.
  // Returns each stage's length, or nothing when `src` cannot be read as a list (the stages are
  // then deleted, and WA_DEAL in the finish script does the work and reports the error).
  asio::awaitable<std::optional<std::vector<std::uint64_t>>> stage_deal(
      const std::string& src, std::uint64_t count, const std::vector<std::string>& stages,
      std::int64_t ttl_seconds) const;

  // Writes the outputs of `jobs` and acknowledges them with the finish script (jobs with a
  // contacts_key: the script copies the contacts inside Redis). One reply per job, as
  // finish_script() returns. Throws when the script was refused (nothing written).
  asio::awaitable<std::vector<Reply>> finish_by_script(const std::vector<TxJob>& jobs,
                                                       std::int64_t marker_ttl) const;

  // Writes the outputs of `jobs` and acknowledges them, as the finish script does, but without
  // Lua: WATCH on the markers (and the deliveries hash), one read (markers, leases), then
  // MULTI/EXEC of plain commands; a marker set meanwhile by another daemon (or a lease
  // recovered) aborts the EXEC and the batch is decided again. `tx`
  // must be a connection that nothing else uses meanwhile (WATCH is per connection). Returns one
  // reply per job, as finish_script(): an integer FinishOutcome (`again` for every job when
  // the EXEC was aborted), or the error of a failed write ("RPUSH key: WRONGTYPE ..."): the
  // job's other outputs were written and it was acknowledged all the same (Redis goes on with a
  // transaction after a failed command). The jobs' result and dead records are moved out (what
  // is left says only which batch-wide commands served a job); their writes and markers are
  // copied into the transaction. More than 64 jobs go in several transactions, one after the
  // other.
  asio::awaitable<std::vector<Reply>> finish_tx(redis::Connection& tx, std::vector<TxJob>& jobs,
                                                std::int64_t marker_ttl) const;
  // Test seam: runs between finish_tx's read and its transaction (to write a watched key).
  void set_before_exec(std::function<void()> f) { before_exec_ = std::move(f); }

 private:
  asio::awaitable<std::vector<Reply>> finish_chunk(redis::Connection& tx, std::vector<TxJob>& jobs,
                                                   std::int64_t marker_ttl) const;
  redis::Connection& conn_;
  const Keys& keys_;
  std::function<void()> before_exec_;
};

// Appends one op (a Redis command or a WA_ pseudo-command) to an op list of a script.
void add_op(std::vector<std::string>& ops, std::initializer_list<std::string_view> words);

// contacts_changed: a contacts_key list changed length while deciding; again: another daemon
// decided one of the batch's jobs meanwhile, a lease was recovered, or the connection was
// replaced (finish_tx). Both: nothing was written, decide the job again.
enum class FinishOutcome {
  done = 1,
  duplicate = 2,
  lease_lost = 0,
  contacts_changed = -1,
  again = -2
};

}  // namespace wa::queue
