#include "core/paced_estimate.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/balance.hpp"

namespace wa::core {

namespace {

constexpr std::uint64_t kNoCap = std::numeric_limits<std::uint64_t>::max() / 4;

// Day 0's window and the next day's start, from now; the wait until the window opens when it
// is closed now (added to the estimate).
struct Window {
  std::int64_t wait_minutes = 0;
  PacedEstimateInput in;
};

Window window_of(const WorkspacePace& ws, Seconds now) {
  Window w;
  std::int64_t from = static_cast<std::int64_t>(now);
  if (!within_sending_hours(from, ws.hours, ws.timezone)) {
    const std::int64_t opens = next_opening(from, ws.hours, ws.timezone);
    w.wait_minutes = (opens - from + 59) / 60;
    from = opens;
  }
  w.in.window_minutes_per_day = ws.hours ? ws.hours->minutes_per_day() : 1440;
  w.in.window_minutes_today = window_minutes_left(from, ws.hours, ws.timezone);
  w.in.minutes_to_next_day = minutes_to_next_day(from, ws.hours, ws.timezone);
  return w;
}

std::optional<std::uint64_t> plus(std::int64_t wait, std::optional<std::uint64_t> m) {
  if (!m) return std::nullopt;
  return *m + static_cast<std::uint64_t>(wait);
}

}  // namespace

std::uint64_t contacts_ahead(const TargetPace& t, std::uint64_t contacts) noexcept {
  std::uint64_t ahead = t.ready;
  for (const std::uint64_t b : t.campaign_backlogs)
    ahead += std::min(b, contacts);
  return ahead;
}

std::optional<std::uint64_t> paced_session_minutes(const Session& s, std::uint64_t contacts,
                                                   const WorkspacePace& ws,
                                                   const config::Config& cfg, Seconds now) {
  if (contacts == 0) return 0;
  const auto it = ws.targets.find(s.id);
  const TargetPace none;
  const TargetPace& t = it == ws.targets.end() ? none : it->second;
  const double factor = cfg.pacing.adaptive.enabled ? t.factor : 1.0;
  Window w = window_of(ws, now);
  const auto now_s = static_cast<std::int64_t>(now);
  PacedEstimateInput& in = w.in;
  in.backlog_ahead = contacts_ahead(t, contacts);
  in.contacts = contacts;
  in.rate_per_hour = webjs_rate_per_hour(ws.rate_per_hour, s, cfg.load_balancing, factor);
  in.cap_today =
      daily_cap_today(ws.daily_cap, cfg.pacing, static_cast<std::int64_t>(s.created_at), now_s);
  in.released_today = t.day == local_day(now_s, ws.timezone) ? t.released_today : 0;
  // The days after: tomorrow's cap (a young session's ramp goes on growing after that).
  in.cap = daily_cap_today(ws.daily_cap, cfg.pacing, static_cast<std::int64_t>(s.created_at),
                           now_s + 86400);
  return plus(w.wait_minutes, estimated_minutes_paced(in));
}

std::optional<std::uint64_t> paced_meta_minutes(std::uint64_t contacts, double capacity_per_hour,
                                                std::uint64_t tier_limit, const TargetPace* t,
                                                const WorkspacePace& ws, Seconds now) {
  if (contacts == 0) return 0;
  Window w = window_of(ws, now);
  PacedEstimateInput& in = w.in;
  in.backlog_ahead = t != nullptr ? contacts_ahead(*t, contacts) : 0;
  in.contacts = contacts;
  in.rate_per_hour = capacity_per_hour;
  in.cap_today = in.cap = kNoCap;
  const auto paced = plus(w.wait_minutes, estimated_minutes_paced(in));
  if (!paced || tier_limit == 0) return paced;
  const auto now_ms = static_cast<std::int64_t>(now * 1000);
  const MetaBudget none;
  const MetaBudget& b = t != nullptr && t->budget ? *t->budget : none;
  const std::int64_t at = budget_release_ms(in.backlog_ahead + contacts - 1, tier_limit, b, now_ms);
  const auto budget_minutes = static_cast<std::uint64_t>((at - now_ms + 59'999) / 60'000);
  return std::max(*paced, budget_minutes);
}

}  // namespace wa::core
