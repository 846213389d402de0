#include "core/backoff.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace wa::core {

double backoff_delay(std::int64_t n, const config::Retry& r, double unit) noexcept {
  const std::int64_t exponent = std::clamp<std::int64_t>(n - 1, 0, 1023);
  const double grown = std::ldexp(r.base_delay, static_cast<int>(exponent));
  const double capped = std::min(r.max_delay, grown);
  const double u = (2.0 * std::clamp(unit, 0.0, 1.0) - 1.0) * r.jitter;
  return capped * (1.0 + u);
}

RetryPlan plan_retry(std::int64_t attempts_taken, bool permanent, const config::Retry& r,
                     double unit) noexcept {
  RetryPlan p;
  p.attempts = attempts_taken < std::numeric_limits<std::int64_t>::max() ? attempts_taken + 1
                                                                         : attempts_taken;
  p.dead = permanent || p.attempts >= r.max_attempts;
  if (!p.dead) p.delay_seconds = backoff_delay(p.attempts, r, unit);
  return p;
}

}  // namespace wa::core
