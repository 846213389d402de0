// What the pacer does with one due target in one pass (CONTRACT.md section 8): hold it until a
// later time (sending hours closed, its gap not over yet, a rate of zero) or call the release
// step with these limits. Pure: time and randomness come in.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/pacing.hpp"

namespace wa::core {

// A target's settings, as the pacer last read them.
struct PaceTarget {
  bool meta = false;
  std::string workspace_id;
  double base_rate_per_hour = 0;  // before the factor: webjs capacity or workspace rate; Meta
  std::optional<std::uint64_t> workspace_cap;  // the workspace's daily_cap
  std::optional<SendingHours> hours;           // nullopt: all day
  std::string timezone = "UTC";
  Seconds created_at = 0;  // webjs: the warm-up counts from it
  // webjs: the session is not connected and active. Nothing is released to a phone that cannot
  // send (the contacts wait in the backlog, for the phone or for switching).
  bool offline = false;
  // Meta: the portfolio whose budget its new recipients use, and its size (0: unlimited).
  std::string portfolio;
  std::uint64_t tier_limit = 0;
};

// What the pace hash said before this pass.
struct PaceState {
  std::optional<std::int64_t> next_at_ms;  // absent: never released
  double factor = 1;
};

enum class HoldReason { none, hours, early, no_rate, offline };

struct PassPlan {
  HoldReason hold = HoldReason::none;
  std::int64_t next_at_ms = 0;  // held: look again then; released: the next release time
  // The release step's limits (meaningful when hold == none).
  std::int64_t n = 1;
  std::int64_t room = 1;
  std::int64_t cap_today = -1;  // -1: no cap (Meta)
  std::int64_t cap_next_at_ms = 0;
  double rate_per_hour = 0;  // factor included
  std::string day;
};

// Longest a held target waits before it is looked at again: settings the app changes (a cap
// raised, sending hours widened) apply within this.
inline constexpr std::int64_t kMaxHoldMs = 60'000;
// An offline session is looked at again after this (its settings are read again by then).
inline constexpr std::int64_t kOfflineRecheckMs = 5'000;

// `unit` is uniform in [0, 1] (the gap's jitter). A webjs target gets one release and a fresh gap
// from now, however late it is; Meta gets what the time since its last release allows, its next
// time advanced by whole gaps (no fraction lost), never more than a second behind now.
PassPlan plan_pass(const PaceTarget& t, const PaceState& st, std::int64_t now_ms, double unit,
                   const PacingConfig& cfg);

}  // namespace wa::core
