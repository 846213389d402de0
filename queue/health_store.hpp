// What the health cycle (CONTRACT.md section 3, daemon/health.cpp) reads and writes in Redis
// besides the Store's session statistics: the sessions to check, each session's reads (pipelined
// in chunks, their replies named by HealthReads), the alert writes, and the pruning of
// wa:campaigns:active.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/health.hpp"
#include "core/types.hpp"
#include "queue/exec.hpp"
#include "queue/keys.hpp"
#include "queue/php_values.hpp"
#include "queue/store.hpp"

namespace wa::queue {

// Every (workspace, session) pair the health cycle covers, by workspace id, and how many
// workspaces wa:workspaces holds. PHP-serialized members are decoded (and noted in `php`).
struct HealthSessions {
  std::vector<std::pair<std::string, std::string>> pairs;  // (workspace, session)
  std::size_t workspaces = 0;
};
asio::awaitable<HealthSessions> sessions_to_check(redis::Connection& conn, const Keys& keys,
                                                  PhpValues& php);

// The length of wa:events (0 when it cannot be read).
asio::awaitable<std::uint64_t> events_waiting(redis::Connection& conn, const Keys& keys);

// One step of pruning wa:campaigns:active (prune_active_script): at most `max` entries scored at
// most `until_ms`.
struct PruneStep {
  long long removed = 0;
  std::optional<std::string> error;  // the error reply, if any
};
asio::awaitable<PruneStep> prune_active_step(redis::Connection& conn, const Keys& keys,
                                             const std::string& until_ms, long long max);

// What one session's reads returned.
struct SessionReplies {
  const Reply& hash;       // HGETALL wa:session:<sid>
  const Reply& stats;      // Store::stats_read_call's, for Store::last_hour_of
  core::AlertMask alerts;  // the alert mask the last check stored (0: none)
  const Reply* pace;       // with pacing, parse_pace_state's replies; else nullptr
};

// The reads of a chunk of sessions, added to one pipeline, and their replies by session.
class HealthReads {
 public:
  HealthReads(const Keys& keys, const Store& store, bool pacing)
      : keys_(keys), store_(store), pacing_(pacing) {}
  // Commands per session.
  std::size_t stride() const;
  // Appends the reads of session `sid`.
  void add(const std::string& sid, std::vector<Call>& reads) const;
  // The replies of the i-th session added to the pipeline whose replies are `replies`.
  SessionReplies at(const std::vector<Reply>& replies, std::size_t i) const;

 private:
  const Keys& keys_;
  const Store& store_;
  bool pacing_;
};

// The session of a HGETALL reply, PHP-serialized values decoded (and noted in `php`); not
// `exists` when the hash is missing or unreadable (`problem` then says why, or is empty).
core::Session session_of(const Keys& keys, const std::string& sid, const Reply& hash,
                         PhpValues& php, std::string& problem);

// An alert's writes: PUBLISH on wa:alerts when `publish`, and the status page's copy in
// wa:alerts:recent (newest first, capped).
void add_alert_writes(const Keys& keys, const std::string& alert, bool publish,
                      std::vector<Call>& writes);

// HDEL of a session stats hash's stale fields (`stale` not empty).
Call stale_stats_delete(const Keys& keys, const std::string& sid,
                        const std::vector<std::string>& stale);

}  // namespace wa::queue
