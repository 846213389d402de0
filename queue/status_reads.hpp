// The status page's reads (CONTRACT.md section 12, daemon/status.hpp). Every command is bounded:
// lengths, SSCAN with a COUNT from cursor 0 only, ranges with a limit.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/status.hpp"
#include "queue/keys.hpp"
#include "redis/connection.hpp"

namespace wa::queue {

namespace asio = boost::asio;

// The bounds of one read.
struct StatusBounds {
  long long workspaces = 0;         // SSCAN COUNT of wa:workspaces
  long long sessions = 0;           // SSCAN COUNT of a workspace's sessions
  long long backlog_campaigns = 0;  // campaigns read of a target's backlog
  long long ready_items = 0;        // items read of a ready list
  long long active_campaigns = 0;   // newest of wa:campaigns:active
  long long listed = 0;             // alerts and dead entries
};

// The queue's counts and lists, and the workspaces and campaigns to look at.
struct StatusBase {
  std::uint64_t waiting = 0, delayed = 0, in_hand = 0, dead_total = 0;
  std::vector<std::string> dead;    // the last entries of wa:dead, newest first
  std::vector<std::string> alerts;  // the first entries of wa:alerts:recent (newest first)
  std::uint64_t workspaces_total = 0;
  std::vector<std::string> workspaces;  // one SSCAN page of wa:workspaces: decoded, sorted, unique
  std::vector<std::string> active;      // the newest campaigns of wa:campaigns:active
  std::uint64_t active_total = 0;
};
asio::awaitable<StatusBase> read_status_base(redis::Connection& conn, const Keys& keys,
                                             const StatusBounds& bounds);

// One SSCAN page of a workspace's sessions (decoded, sorted, unique) and the set's size.
struct WorkspaceSessions {
  std::uint64_t total = 0;
  std::vector<std::string> sessions;
};
// One per workspace, in one pipeline.
asio::awaitable<std::vector<WorkspaceSessions>> read_workspace_sessions(
    redis::Connection& conn, const Keys& keys, const std::vector<std::string>& workspaces,
    const StatusBounds& bounds);

// A target of the page: a session, or a workspace's Meta target (row.id meta_api:<workspace>).
struct StatusTarget {
  std::string workspace;
  bool meta = false;
  core::StatusTargetRow row;
  std::vector<std::string> backlog;                   // campaign ids (the first ones)
  std::map<std::string, std::uint64_t> ready_counts;  // campaign id → items in its ready list
};
// Reads the targets' rows (score or configured, pace hash, ready list, backlog) in one pipeline.
asio::awaitable<void> read_status_targets(redis::Connection& conn, const Keys& keys,
                                          const StatusBounds& bounds,
                                          std::span<StatusTarget> targets);

// A campaign's stored decision and whether it is paused.
struct StatusCampaignRecord {
  std::optional<std::string> decision;  // nullopt: none
  bool paused = false;
};
// One per id, in one pipeline.
asio::awaitable<std::vector<StatusCampaignRecord>> read_status_campaigns(
    redis::Connection& conn, const Keys& keys, const std::vector<std::string>& ids);

}  // namespace wa::queue
