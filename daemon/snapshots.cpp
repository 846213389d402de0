// Workspace snapshots shared by the consumers: sessions, Meta settings and daily counters, read
// at most every kSnapshotSeconds per workspace.
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "daemon/daemon.hpp"

namespace wa::daemon {

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

}  // namespace wa::daemon
