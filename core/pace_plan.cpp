#include "core/pace_plan.hpp"

#include <algorithm>
#include <cmath>

namespace wa::core {

namespace {

constexpr std::int64_t kMaxPerPass = 1000;  // the release step's own limit
constexpr std::int64_t kMetaLagMs = 1000;   // Meta never catches up more than a second
constexpr std::int64_t kNoRateRecheckMs = kOfflineRecheckMs;  // its settings are read again by then

PassPlan held(HoldReason why, std::int64_t until_ms) {
  PassPlan p;
  p.hold = why;
  p.next_at_ms = until_ms;
  return p;
}

void plan_webjs(PassPlan& p, const PaceTarget& t, std::int64_t now_ms, double unit,
                const PacingConfig& cfg) {
  const std::int64_t now_s = now_ms / 1000;
  p.n = 1;  // however late: one release and a fresh gap
  const double gap = gap_seconds(p.rate_per_hour, cfg.jitter, unit);
  p.next_at_ms = now_ms + static_cast<std::int64_t>(std::llround(gap * 1000.0));
  p.cap_today =
      static_cast<std::int64_t>(daily_cap_today(t.workspace_cap, cfg, t.created_at, now_s));
  p.cap_next_at_ms = std::min(next_local_midnight(now_s, t.timezone) * 1000, now_ms + kMaxHoldMs);
}

void plan_meta(PassPlan& p, const PaceState& st, std::int64_t now_ms) {
  const double gap_ms = 3'600'000.0 / p.rate_per_hour;
  const std::int64_t base = st.next_at_ms ? std::max(*st.next_at_ms, now_ms - kMetaLagMs) : now_ms;
  const auto due =
      static_cast<std::int64_t>(std::floor(static_cast<double>(now_ms - base) / gap_ms));
  p.n = std::clamp<std::int64_t>(due + 1, 1, kMaxPerPass);
  p.next_at_ms = base + static_cast<std::int64_t>(std::ceil(static_cast<double>(p.n) * gap_ms));
  p.cap_today = -1;
}

}  // namespace

PassPlan plan_pass(const PaceTarget& t, const PaceState& st, std::int64_t now_ms, double unit,
                   const PacingConfig& cfg) {
  const std::int64_t now_s = now_ms / 1000;
  if (t.hours && !within_sending_hours(now_s, t.hours, t.timezone)) {
    const std::int64_t opens = next_opening(now_s, t.hours, t.timezone) * 1000;
    return held(HoldReason::hours, std::min(opens, now_ms + kMaxHoldMs));
  }
  if (t.offline) return held(HoldReason::offline, now_ms + kOfflineRecheckMs);
  if (st.next_at_ms && now_ms < *st.next_at_ms) return held(HoldReason::early, *st.next_at_ms);
  PassPlan p;
  p.rate_per_hour = t.meta ? t.base_rate_per_hour : t.base_rate_per_hour * st.factor;
  if (!(p.rate_per_hour > 0) || !std::isfinite(p.rate_per_hour)) {
    return held(HoldReason::no_rate, now_ms + kNoRateRecheckMs);
  }
  p.room = static_cast<std::int64_t>(std::min<std::uint64_t>(
      ready_room(0, cfg.ahead, p.rate_per_hour), static_cast<std::uint64_t>(kMaxPerPass)));
  p.day = local_day(now_s, t.timezone);
  if (t.meta) {
    plan_meta(p, st, now_ms);
  } else {
    plan_webjs(p, t, now_ms, unit, cfg);
  }
  return p;
}

}  // namespace wa::core
