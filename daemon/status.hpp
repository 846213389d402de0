// The status page's data (CONTRACT.md section 12): GET /status.json, read from Redis with bounded,
// pipelined commands (no scan of an unbounded keyspace) and cached, so that any number of
// browsers cost Redis one read per kCacheSeconds at most.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "core/status.hpp"
#include "queue/keys.hpp"
#include "queue/status_reads.hpp"
#include "redis/connection.hpp"

namespace wa::daemon {

namespace asio = boost::asio;

class StatusBoard {
 public:
  static constexpr double kCacheSeconds = 1.0;
  // Bounds of one read.
  static constexpr long long kWorkspaces = 200;        // SSCAN COUNT of wa:workspaces
  static constexpr long long kSessions = 100;          // SSCAN COUNT of a workspace's sessions
  static constexpr long long kBacklogCampaigns = 50;   // campaigns read of a target's backlog
  static constexpr long long kReadyItems = 100;        // items read of a ready list
  static constexpr long long kActiveCampaigns = 100;   // newest of wa:campaigns:active
  static constexpr std::size_t kMaxCampaigns = 300;    // decision records read at most
  static constexpr long long kListed = 50;             // alerts and dead entries shown
  static constexpr long long kRecentAlertsKept = 100;  // length of wa:alerts:recent

  // `cfg` and `throughput` are the daemon's (they outlive the board).
  StatusBoard(redis::Connection& conn, const queue::Keys& keys, const config::Config& cfg,
              const core::Throughput& throughput);
  // The JSON document; the cached one when it is younger than kCacheSeconds (a request that comes
  // while a read is under way waits for it). Throws when Redis cannot be read.
  asio::awaitable<std::string> json();

 private:
  using Target = queue::StatusTarget;  // a target being read
  asio::awaitable<std::string> read();
  asio::awaitable<std::vector<std::string>> read_base(core::StatusSnapshot& s,
                                                      std::vector<std::string>& active);
  asio::awaitable<std::vector<Target>> read_targets(const std::vector<std::string>& workspaces,
                                                    core::StatusSnapshot& s);
  asio::awaitable<std::vector<std::string>> session_ids(const std::vector<std::string>& workspaces,
                                                        core::StatusSnapshot& s);
  asio::awaitable<void> read_campaigns(std::vector<std::string> ids, std::vector<Target>& targets,
                                       core::StatusSnapshot& s);
  asio::awaitable<void> count_waiting(std::vector<core::StatusCampaignRow>& rows,
                                      std::vector<Target>& targets);
  void place_targets(std::vector<Target>& targets, core::StatusSnapshot& s);
  void remember_score(core::StatusTargetRow& row);

  redis::Connection& conn_;
  const queue::Keys& keys_;
  const config::Config& cfg_;
  const core::Throughput& throughput_;
  std::string cached_;
  std::chrono::steady_clock::time_point cached_at_{};
  bool reading_ = false;
  asio::steady_timer read_done_;  // never expires; cancelled when a read ends
  // Per session: its last score and the one before it (the trend), as seen by this process.
  std::map<std::string, std::pair<int, std::optional<int>>> scores_;
};

}  // namespace wa::daemon
