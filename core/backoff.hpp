// Retry scheduling (CONTRACT.md section 5).
#pragma once

#include <cstdint>

#include "config/config.hpp"

namespace wa::core {

// min(max_delay, base_delay × 2^(n−1)) × (1 + u), u = (2·unit − 1) × jitter, so u is uniform in
// [−jitter, +jitter] when `unit` is uniform in [0, 1]. n < 1 counts as 1.
double backoff_delay(std::int64_t n, const config::Retry& r, double unit) noexcept;

struct RetryPlan {
  std::int64_t attempts = 0;  // the job's attempts after the increment
  bool dead = false;          // true: to the dead list instead of delayed
  double delay_seconds = 0;   // when not dead
};

// What happens to a job taken with `attempts_taken` that was decided `queue`. `permanent` is a
// reason that can never recover (a REJECTED or DISABLED template): dead at once.
RetryPlan plan_retry(std::int64_t attempts_taken, bool permanent, const config::Retry& r,
                     double unit) noexcept;

}  // namespace wa::core
