// Reads and writes of the app's data and the daemon's statistics (CONTRACT.md sections 2 and 3).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <map>
#include <string>
#include <vector>

#include "config/config.hpp"
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
};

struct IngestReport {
  std::size_t consumed = 0;         // events removed from wa:events
  std::size_t malformed = 0;        // of which dropped as malformed
  std::vector<std::string> errors;  // the first few malformed events' errors
  bool lock_lost = false;
};

class Store {
 public:
  Store(redis::Connection& conn, const Keys& keys) : conn_(conn), keys_(keys) {}

  // Loads the workspaces in pipelined rounds. Sessions that have no readable stored health yet
  // get it computed from their last hour of events, and stored.
  asio::awaitable<std::map<std::string, WorkspaceData>> load_workspaces(
      const std::vector<std::string>& ids, core::Seconds now, const config::Config& cfg);

  // Consumes up to `max` events from wa:events into the statistics, exactly once, while the
  // events lock (token) is ours.
  asio::awaitable<IngestReport> ingest_events(const std::string& token, std::size_t max,
                                              core::Seconds now, const config::Config& cfg);

  // Takes (or keeps) a lock for ttl_ms: true when we hold it afterwards.
  asio::awaitable<bool> hold_lock(const std::string& key, const std::string& token,
                                  std::int64_t ttl_ms);
  asio::awaitable<void> release_lock(const std::string& key, const std::string& token);

  // The calls that store a session's fresh health.
  void add_health_writes(std::vector<Call>& calls, const core::Session& s,
                         const core::WindowStats& last_hour, unsigned alert_mask, core::Seconds now,
                         const config::Config& cfg) const;

 private:
  redis::Connection& conn_;
  const Keys& keys_;
};

}  // namespace wa::queue
