// What provider switching (CONTRACT.md section 6, daemon/switching.cpp) reads and writes in
// Redis: the pages of wa:campaigns:active, the stored decisions and move progress records, the
// steps of a move (switch_step_script) and the "nowhere to go" reports.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/switching.hpp"
#include "queue/keys.hpp"
#include "redis/connection.hpp"

namespace wa::queue {

namespace asio = boost::asio;

// One ZSCAN page of wa:campaigns:active: the next cursor ("0" at the end) and the campaign ids.
struct ActivePage {
  std::string cursor;
  std::vector<std::string> ids;
};
// Throws std::runtime_error on a reply that is not a ZSCAN page.
asio::awaitable<ActivePage> scan_active(redis::Connection& conn, const Keys& keys,
                                        const std::string& cursor, std::size_t count);

// What a cycle reads of a campaign: its stored decision and its move's progress record.
struct SwitchRecords {
  std::optional<std::string> decision;  // nullopt: none (or not a string)
  std::string progress;                 // "" when no move is under way
};
// One per id, in one pipeline.
asio::awaitable<std::vector<SwitchRecords>> read_switch_records(
    redis::Connection& conn, const Keys& keys, const std::vector<std::string>& ids);
// The stored decision of one campaign.
asio::awaitable<std::optional<std::string>> read_decision(redis::Connection& conn, const Keys& keys,
                                                          const std::string& id);

// The arguments of one step of a move (switch_step_script in queue/scripts.hpp).
struct SwitchStep {
  std::string campaign;   // campaign id
  std::string workspace;  // its workspace
  std::string from;       // the broken target
  std::string token;      // the campaign lock's
  std::int64_t lock_ms = 0;
  std::uint64_t count = 0;  // contacts the step takes
  std::string old_decision, new_decision;
  std::string old_progress;  // "" for a move not begun
  std::string new_progress;  // "" deletes the record (the last step)
  std::int64_t progress_ttl_s = 0;
  std::string record;   // the provider_switch record ("" none)
  std::string now_ms;   // "" with pacing off
  bool sticky = false;  // sticky senders on
  std::vector<core::StepShare> shares;
};

// The script's answer.
struct SwitchStepOutcome {
  enum Code : long long {
    done = 1,
    lock_lost = 0,
    list_short = -1,
    decision_changed = -2,
    progress_changed = -3,
    wrong_share = -4,
    unexpected = -9,
  };
  long long code = unexpected;
  std::uint64_t list_len = 0;        // list_short: what the list (with its ready items) holds
  std::optional<std::string> error;  // the error reply, if any
  std::string detail;                // wrong_share: the script's reason
};
asio::awaitable<SwitchStepOutcome> run_switch_step(redis::Connection& conn, const Keys& keys,
                                                   const SwitchStep& step);
// Why a step was not done, for the log.
std::string step_refusal(const SwitchStepOutcome& o);

// A target that breaks with nowhere to go: true (and the record appended to wa:results) only for
// the first cycle that reports it; the report is kept for `ttl_s`.
asio::awaitable<bool> report_nowhere(redis::Connection& conn, const Keys& keys,
                                     const std::string& campaign, const std::string& from,
                                     const std::string& record, std::int64_t ttl_s);
// A move from `from` is complete: the target may be reported again.
asio::awaitable<void> clear_nowhere(redis::Connection& conn, const Keys& keys,
                                    const std::string& campaign, const std::string& from);

}  // namespace wa::queue
