// Prediction with pacing on (CONTRACT.md section 8, "Prediction"): when the last contact of a
// job would be released, counting what each target already has waiting, its current rate, its
// daily cap and the workspace's sending hours. Pure: `now` comes in.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/meta_budget.hpp"
#include "core/pacing.hpp"
#include "core/types.hpp"

namespace wa::core {

// What a target already has waiting, and its pace state.
struct TargetPace {
  std::vector<std::uint64_t> campaign_backlogs;  // contacts per waiting (not paused) campaign
  std::uint64_t ready = 0;                       // items in its ready list
  double factor = 1;
  std::string day;  // the pace hash's day (released_today counts only on that day)
  std::uint64_t released_today = 0;
  // Meta: its portfolio's budget (section 9), when read; nullopt counts as an empty one.
  std::optional<MetaBudget> budget;
};

// A workspace's pacing settings and its targets' state.
struct WorkspacePace {
  std::optional<double> rate_per_hour;
  std::optional<std::uint64_t> daily_cap;
  std::optional<SendingHours> hours;
  std::string timezone = "UTC";
  std::map<std::string, TargetPace> targets;  // session id, or "meta_api:<workspace>"
};

// Contacts released before the last of `contacts` new ones: the ready list, then, campaigns
// taking turns one contact each, min(backlog, contacts) of every other waiting campaign.
std::uint64_t contacts_ahead(const TargetPace& t, std::uint64_t contacts) noexcept;

// Minutes until the last of `contacts` goes out through session `s` (a wait for the window to
// open included); nullopt when it never would (a zero rate or cap).
std::optional<std::uint64_t> paced_session_minutes(const Session& s, std::uint64_t contacts,
                                                   const WorkspacePace& ws,
                                                   const config::Config& cfg, Seconds now);

// The same for Meta (no cap; the window and what waits on meta_api:<workspace> count), and no
// sooner than its portfolio's budget lets the last one out: every contact is counted as a new
// recipient (section 9; tier_limit 0: unlimited).
std::optional<std::uint64_t> paced_meta_minutes(std::uint64_t contacts, double capacity_per_hour,
                                                std::uint64_t tier_limit, const TargetPace* t,
                                                const WorkspacePace& ws, Seconds now);

}  // namespace wa::core
