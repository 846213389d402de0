// The reliable campaign queue of CONTRACT.md section 1 (Laravel's Redis-queue layout).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/balance.hpp"
#include "queue/exec.hpp"
#include "queue/finish.hpp"
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
  std::uint64_t oversized = 0;   // payloads over queue.max_payload_bytes, sent to dead
};

// Section 10: where each contact of a staged job goes, and the sticky writes of its chunks.
struct StageOwners {
  std::vector<std::uint16_t> owner;   // per input position: its stage (core::kNotSticky: none)
  std::string sticky_key;             // wa:sticky:<workspace>; empty: no sticky writes
  std::vector<std::string> sessions;  // per stage: the session id to write ("" for Meta)
  std::vector<bool> unchanged;        // per position: the hash names its session already
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

  // Copies the first `count` elements of the list `src` into `stages` outside Lua, where Redis
  // copies strings without converting them to Lua and back: stage j gets the elements at
  // slices[j]'s positions, in order. LRANGE chunks of at most 10,000 are read ahead and each
  // chunk's RPUSHes pipelined (no command holds Redis long, whatever the list's length); every
  // stage expires after `ttl_seconds`. Returns each stage's length, or nothing when `src` is not
  // a list of at least `count` elements (the stages are then deleted).
  // With `owners` (section 10; kept alive by the caller until this returns), stage j gets the
  // positions whose owner is j instead, and each chunk also HSETs its contacts' sessions into the
  // sticky hash (at most 500 fields per command; a failed HSET does not stop the staging).
  asio::awaitable<std::optional<std::vector<std::uint64_t>>> stage_slices(
      const std::string& src, std::uint64_t count, const std::vector<core::Slice>& slices,
      const std::vector<std::string>& stages, std::int64_t ttl_seconds,
      const StageOwners* owners = nullptr) const;
  // The same from contacts in memory (a big inline `contacts` array).
  asio::awaitable<std::optional<std::vector<std::uint64_t>>> stage_inline(
      const std::vector<std::string>& contacts, const std::vector<core::Slice>& slices,
      const std::vector<std::string>& stages, std::int64_t ttl_seconds,
      const StageOwners* owners = nullptr) const;

  // Writes the outputs of `jobs` and acknowledges them with the finish script (jobs whose
  // contacts are in stage lists: the script places them). One typed result per job; each job is
  // finished on its own inside the script, so one job's failure never holds another. A script
  // refused as a whole is tried again job by job; a job refused alone is `failed`.
  asio::awaitable<std::vector<FinishResult>> finish_by_script(const std::vector<TxJob>& jobs,
                                                              std::int64_t marker_ttl,
                                                              std::int64_t now_ms) const;

  // Writes the outputs of `jobs` and acknowledges them, as the finish script does, but without
  // Lua: WATCH on the markers (and the deliveries hash), one read (markers, leases), then
  // MULTI/EXEC of plain commands; a marker set meanwhile by another daemon (or a lease
  // recovered) aborts the EXEC and the batch is `again`. `tx` must be a connection that nothing
  // else uses meanwhile (WATCH is per connection). A failed write ("RPUSH key: WRONGTYPE ...")
  // is `write_failed`: the job's other outputs were written and it was acknowledged all the same
  // (Redis goes on with a transaction after a failed command). A transaction refused as a whole
  // (EXECABORT: OOM, say) makes every job of it `failed`. The jobs' result and dead records are
  // moved out; their writes and markers are copied into the transaction. Transactions hold at
  // most 64 jobs and 20,000 contacts each (Redis runs a transaction in one go).
  asio::awaitable<std::vector<FinishResult>> finish_tx(redis::Connection& tx,
                                                       std::vector<TxJob>& jobs,
                                                       std::int64_t marker_ttl) const;
  // Test seam: runs between finish_tx's read and its transaction (to write a watched key).
  void set_before_exec(std::function<void()> f) { before_exec_ = std::move(f); }

 private:
  asio::awaitable<std::vector<FinishResult>> finish_chunk(redis::Connection& tx,
                                                          std::vector<TxJob>& jobs,
                                                          std::int64_t marker_ttl) const;
  asio::awaitable<std::vector<FinishResult>> finish_script_call(const std::vector<TxJob>& jobs,
                                                                std::int64_t marker_ttl,
                                                                std::int64_t now_ms) const;
  redis::Connection& conn_;
  const Keys& keys_;
  std::function<void()> before_exec_;
};

// Appends one op (a Redis command or a WA_ pseudo-command) to an op list of a script.
void add_op(std::vector<std::string>& ops, std::initializer_list<std::string_view> words);

}  // namespace wa::queue
