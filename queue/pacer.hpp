// The pacer's release step (CONTRACT.md section 8): one atomic, bounded call of
// pace_release_script (queue/scripts.hpp) for one target. The caller computes from core/pacing
// how many releases are allowed now, the ready list's room, the next release time and the
// day's cap; this moves the contacts, keeps the pace hash and wa:pace:due, and counts the
// releases per target and minute in wa:stats:released:<target> (field <Unix ms ÷ 60000> →
// releases, TTL 2 h), beside the session's outcome counters.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "queue/exec.hpp"
#include "queue/keys.hpp"

namespace wa::queue {

struct ReleaseArgs {
  std::int64_t now_ms = 0;
  std::string now_iso;          // released_at of the items
  std::int64_t n = 1;           // releases allowed now (1 for webjs, possibly more for Meta)
  std::int64_t room = 2;        // the ready list's limit
  std::int64_t next_at = 0;     // ms: when the target is looked at next
  std::string day;              // YYYY-MM-DD in the workspace's time zone
  std::int64_t cap_today = -1;  // -1: no daily cap (Meta)
  double rate_per_hour = 0;     // stored in the pace hash for the operator
  double factor = 1;            // stored only when the pace hash has none
  std::int64_t stats_ttl_s = 7200;
  std::string list_target;  // the dispatch lists' suffix: "" = the target ("meta_api" for Meta)
  std::int64_t cap_next_at = 0;  // ms: when to look again after "cap" (the next local day)
  std::string lock_token;  // "": no lock check; else nothing happens unless wa:lock:pacer holds it
  // Meta (section 9): new recipients go out only while wa:meta:budget:<budget_portfolio> holds
  // fewer than tier_limit entries younger than budget_window_ms. "" or tier_limit 0: no budget.
  std::string budget_portfolio;
  std::uint64_t tier_limit = 0;
  std::int64_t budget_window_ms = 86'400'000;
};

// budget: Meta's budget is full (released may be > 0: those before it); the target is looked at
// again when its oldest entry ages out.
enum class ReleaseReason {
  none,
  empty,
  paused,
  cap,
  backpressure,
  stale,
  lock_lost,
  early,
  budget
};

struct ReleaseResult {
  std::int64_t released = 0;
  ReleaseReason reason = ReleaseReason::none;  // none when released > 0
  std::int64_t released_today = 0;
  // wa:campaigns:paused holds another type than a set: nothing was taken as paused.
  bool paused_unreadable = false;
};

std::string_view to_string(ReleaseReason r) noexcept;

// Throws std::invalid_argument when n or room is below 1, std::runtime_error on an error reply (a
// key of another type, say: nothing released), and boost::system::system_error when the outcome is
// unknown (the release may have happened once; it never happens twice).
asio::awaitable<ReleaseResult> release(redis::Connection& conn, const Keys& keys,
                                       std::string_view target, const ReleaseArgs& args);

// The same for many targets in one pipeline (each release its own atomic script). A target
// whose script failed gets its error in `errors` (same index) and released 0.
struct ReleaseBatch {
  std::vector<ReleaseResult> results;
  std::vector<std::string> errors;  // "" when the release step ran
};
// Why a release step may fail: the keys of the target's step that hold another type than the
// step needs, each as "wa:ready:s1 is a hash, not a list" (empty: none; the error is another).
asio::awaitable<std::vector<std::string>> wrong_type_keys(redis::Connection& conn, const Keys& keys,
                                                          std::string_view target,
                                                          const ReleaseArgs& args);

asio::awaitable<ReleaseBatch> release_many(
    redis::Connection& conn, const Keys& keys,
    const std::vector<std::pair<std::string, ReleaseArgs>>& releases);

}  // namespace wa::queue
