// wa-router stats, the pacing part (CONTRACT.md section 8): every target's pace as the pacer
// keeps it in wa:pace:<target>, its backlog and ready list, its next release, and the paused
// campaigns. Bounded reads only: pipelines over the known sessions and workspaces, at most
// kPaceCampaigns campaigns of each backlog.
#pragma once

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/cli.hpp"

namespace wa::cli {

// Campaigns of one backlog whose dispatch lists are counted.
inline constexpr long long kPaceCampaigns = 100;

struct PaceRow {
  std::string target;  // a session id or "meta_api:<workspace>"
  bool meta = false;
  bool has_pace = false;  // the pacer has written wa:pace:<target>
  std::optional<double> rate_per_hour, factor;
  std::string day;
  std::optional<long long> released_today, cap_today;
  long long campaigns = 0;  // ZCARD wa:backlog:<target>
  long long counted = 0;    // campaigns whose dispatch lists were counted (≤ kPaceCampaigns)
  long long paused = 0;     // of the counted, those in wa:campaigns:paused
  long long waiting = 0;    // contacts in the counted campaigns' dispatch lists
  long long ready = 0;      // LLEN wa:ready:<target>
  std::optional<double> next_ms;  // its score in wa:pace:due: when the pacer looks next
};

struct PaceStats {
  bool enabled = true;  // pacing.enabled
  long long paused_campaigns = 0;
  long long due_targets = 0;
  std::vector<PaceRow> rows;  // the sessions in order, then Meta targets with a pace or backlog
};

// `sessions`: the session ids stats found (sorted); `workspaces`: the workspace ids.
PaceStats read_pace(Context& ctx, const std::vector<std::string>& sessions,
                    const std::vector<std::string>& workspaces);
boost::json::object pace_json(const PaceStats& p, double now);
void print_pace(const PaceStats& p, double now);

}  // namespace wa::cli
