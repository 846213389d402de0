// The status page's pure parts (CONTRACT.md section 12): the count of jobs finished per second
// over the last half hour, and what the page shows of a decision record, a dead entry and a
// released item. Times are passed in; nothing here reads the clock or Redis.
#pragma once

#include <array>
#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/types.hpp"

namespace wa::core {

// Jobs finished per second over the last kSeconds, in a ring (constant memory).
class Throughput {
 public:
  static constexpr std::size_t kSeconds = 1800;
  void add(Seconds now, std::uint64_t n = 1);
  // Jobs finished in the `seconds` before `now` (at most kSeconds).
  std::uint64_t within(Seconds now, std::size_t seconds) const;
  // Per whole minute, the oldest first, the last one ending at `now`: `minutes` values.
  std::vector<std::uint64_t> per_minute(Seconds now, std::size_t minutes) const;

 private:
  std::array<std::uint64_t, kSeconds> counts_{};
  std::array<std::int64_t, kSeconds> stamps_{};  // the Unix second each slot counts (0: none)
};

// A distribution entry of a decision record.
struct StatusTarget {
  std::string target;  // a session id or "meta_api"
  std::string key;     // the dispatch list, without the Redis prefix
  std::uint64_t count = 0;
};

// What the status page reads of a decision record (wa:campaign:<id>:decision).
struct StatusCampaign {
  boost::json::value campaign_id, workspace_id;  // as they came
  std::string id_text, workspace_text;           // as used in key names
  std::string type;                              // webjs, meta_api, queue
  std::vector<StatusTarget> targets;
  std::uint64_t total = 0;                  // the sum of the distribution's counts
  std::optional<double> predicted_minutes;  // prediction.<type>.estimated_minutes
  std::optional<Seconds> selected_at;
};

// nullopt when the text is not a decision record with a campaign id.
std::optional<StatusCampaign> parse_status_campaign(std::string_view json);

// The pacing target of a distribution entry: a session id, or "meta_api:<workspace>".
std::string status_pacing_target(const StatusCampaign& c, const StatusTarget& t);

// A dead list entry as the page shows it: {job_id?, campaign_id?, error, failed_at}; the ids are
// read from the payload when it is a JSON object (an unreadable entry keeps its text as error).
boost::json::object status_dead_entry(std::string_view entry);

// The campaign id of a released item ({"campaign_id", "contact", "released_at"}) as used in key
// names; "" when there is none.
std::string released_campaign(std::string_view item);

// The text an id has in key names: a string as it is, a number as its digits.
std::string id_text(const boost::json::value& v);

// "2026-11-25T12:00:00.000Z" → Unix seconds; nullopt when it is not that shape.
std::optional<Seconds> parse_iso8601_utc(std::string_view s);

}  // namespace wa::core

namespace wa::core {

// One pacing target (a webjs session, or a workspace's Meta number) as the page shows it.
struct StatusTargetRow {
  std::string id;
  std::optional<int> health_score;
  std::optional<int> previous_score;  // the score before its last change seen by this process
  std::string status;                 // the session hash's; for Meta "configured" or ""
  std::optional<double> rate_per_hour, factor;
  std::optional<std::int64_t> released_today, cap_today;
  // Meta: its portfolio's budget as the last release step saw it (section 9).
  std::optional<std::int64_t> budget_used, tier_limit;
  std::uint64_t backlog = 0;            // contacts in its dispatch lists (of the campaigns read)
  std::uint64_t backlog_campaigns = 0;  // ZCARD of its backlog
  std::uint64_t ready = 0;              // LLEN of its ready list
};

struct StatusWorkspace {
  std::string id;
  std::vector<StatusTargetRow> sessions;
  std::uint64_t sessions_total = 0;     // SCARD of its session set (more may exist than read)
  std::optional<StatusTargetRow> meta;  // its Meta target, when it has a pace or contacts waiting
};

struct StatusCampaignRow {
  StatusCampaign decision;
  std::uint64_t waiting = 0;  // still in its dispatch lists
  std::uint64_t ready = 0;    // released, still in ready lists (of the items read)
  bool paused = false;
};

// Everything the page shows, read from Redis (daemon/status.cpp) and assembled here.
struct StatusSnapshot {
  std::uint64_t waiting = 0, delayed = 0, in_hand = 0, dead_total = 0;
  std::uint64_t jobs_per_minute = 0;
  std::vector<std::uint64_t> jobs_per_minute_history;  // oldest first
  std::uint64_t workspaces_total = 0;
  std::vector<StatusWorkspace> workspaces;
  std::uint64_t active_total = 0;  // ZCARD wa:campaigns:active
  std::vector<StatusCampaignRow> campaigns;
  std::vector<boost::json::value> alerts;  // newest first
  std::vector<boost::json::object> dead;   // newest first
  bool pacing = true;
  int min_score_primary = 80, min_score_secondary = 60;  // health.* (the page's bar colours)
};

// The /status.json document of section 12. Campaigns with nothing waiting and nothing ready are
// left out (finished); the rest come newest first.
std::string status_json(const StatusSnapshot& s, Seconds now);

}  // namespace wa::core
