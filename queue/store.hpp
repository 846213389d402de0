// Reads and writes of the app's data and the daemon's statistics (CONTRACT.md sections 2 and 3).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <map>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "config/config.hpp"
#include "core/paced_estimate.hpp"
#include "core/types.hpp"
#include "queue/codec.hpp"
#include "queue/exec.hpp"
#include "queue/keys.hpp"

namespace wa::queue {

struct WorkspaceData {
  std::vector<core::Session> sessions;  // every id of the workspace set, sorted by id
  core::MetaSettings meta;
  core::WindowStats webjs_7d;
  core::WindowStats meta_7d;
  std::vector<std::string> problems;  // unreadable session hashes, for the log
  std::size_t computed = 0;           // sessions whose health was computed on the spot
  // Pacing on: the workspace's settings and what waits on its targets (queue/store_pacing).
  std::optional<core::WorkspacePace> pace;
};

// Events read from the head of wa:events, parsed and aggregated: the arguments of one
// apply_events call (scripts.hpp), ready to apply, and the number of apply_staged_events calls
// that follow it (a batch whose statistics touch many keys is applied in parts).
struct EventBatch {
  std::size_t count = 0;            // events read (removed from wa:events when applied)
  std::size_t malformed = 0;        // of which malformed (counted and dropped when applied)
  std::vector<std::string> errors;  // the first few malformed events' errors
  std::vector<std::string> args;    // apply_events ARGV after the token
  std::size_t staged = 0;           // parts after the first
};

struct IngestReport {
  std::size_t consumed = 0;         // events removed from wa:events
  std::size_t malformed = 0;        // of which dropped as malformed
  std::vector<std::string> errors;  // the first few malformed events' errors
  std::size_t failed_writes = 0;    // statistics writes skipped (a key of another type...)
  bool lock_lost = false;           // nothing applied: the lock is not ours, or the list's
                                    // head is not the batch read (read it again)
};

// One step of event ingestion: the batch applied, and the batch read after it.
struct IngestStep {
  IngestReport report;
  std::optional<EventBatch> next;  // only when the batch was applied; may be empty (count 0)
};

enum class LockState { not_held, taken, kept };  // taken: it was free; kept: it was ours already

class Store {
 public:
  Store(redis::Connection& conn, const Keys& keys) : conn_(conn), keys_(keys) {}

  // Loads the workspaces in pipelined rounds. Sessions that have no readable stored health yet
  // get it computed from their last hour of events, and stored.
  asio::awaitable<std::map<std::string, WorkspaceData>> load_workspaces(
      const std::vector<std::string>& ids, core::Seconds now, const config::Config& cfg);

  // Fills each workspace's `pace` (settings, backlogs, pace hashes, the Meta budget of its
  // portfolio when it has a tier_limit) in one pipelined round.
  asio::awaitable<void> load_pacing(std::map<std::string, WorkspaceData>& out, core::Seconds now,
                                    std::int64_t budget_window_ms);

  // Reads up to `max` events from the head of wa:events and aggregates them.
  asio::awaitable<EventBatch> read_events(std::size_t max, core::Seconds now,
                                          const config::Config& cfg);
  // Applies `batch` (read from the head of wa:events) into the statistics and removes it from the
  // list, exactly once, while the events lock (token) is ours. Just before it, in the same
  // connection's order, the next `max` events after the batch are read; they are aggregated while
  // Redis applies the batch. The next batch is only valid while the lock stays ours without a
  // break: after LockState::taken, a lost lock or an exception, read from the head again.
  asio::awaitable<IngestStep> apply_events(const std::string& token, EventBatch batch,
                                           std::size_t max, core::Seconds now,
                                           const config::Config& cfg);
  // Applies what is staged of a batch whose apply was cut short (a crash, a lost connection or
  // lock): to run before reading from the head of wa:events.
  asio::awaitable<IngestReport> drain_staged_events(const std::string& token);
  // Aggregates an LRANGE reply of events (pure; public for tests and benchmarks).
  EventBatch prepare_events(const Reply& events, core::Seconds now,
                            const config::Config& cfg) const;

  // Takes (or keeps) a lock for ttl_ms: true when we hold it afterwards.
  asio::awaitable<bool> hold_lock(const std::string& key, const std::string& token,
                                  std::int64_t ttl_ms);
  // The same, telling whether the lock was free (taken) or ours already (kept).
  asio::awaitable<LockState> hold_lock_state(const std::string& key, const std::string& token,
                                             std::int64_t ttl_ms);
  asio::awaitable<void> release_lock(const std::string& key, const std::string& token);

  // Reads a session stats hash (wa:stats:session:<id>): the call to pipeline, then the last
  // hour of its reply. A hash too big for one command is read with HSCAN in bounded steps,
  // its stale fields deleted on the way (in bounded HDELs); else `stale` (when given) receives
  // the fields for the caller to delete.
  Call stats_read_call(const std::string& id) const;
  asio::awaitable<core::WindowStats> last_hour_of(const Reply& read, const std::string& id,
                                                  core::Seconds now,
                                                  std::vector<std::string>* stale);

  // The calls that store a session's fresh health.
  void add_health_writes(std::vector<Call>& calls, const core::Session& s,
                         const core::WindowStats& last_hour, unsigned alert_mask, core::Seconds now,
                         const config::Config& cfg) const;

 private:
  // Adds a problem, once per session id, when the session's id, uuid or phone_number is not
  // well-formed UTF-8 (the JSON records carry U+FFFD in place of the bad bytes).
  void note_ill_formed_utf8(const core::Session& s, std::vector<std::string>& problems);
  Call apply_staged_call(const std::string& token) const;
  asio::awaitable<core::WindowStats> scan_session_stats(const std::string& id, core::Seconds now);

  redis::Connection& conn_;
  const Keys& keys_;
  std::unordered_set<std::string> utf8_reported_;  // sessions note_ill_formed_utf8 reported
};

}  // namespace wa::queue
