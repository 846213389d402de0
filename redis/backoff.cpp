#include "redis/backoff.hpp"

#include <algorithm>

namespace wa::redis {

std::chrono::milliseconds Backoff::next(double unit) noexcept {
  const double factor = 0.5 + 0.5 * std::clamp(unit, 0.0, 1.0);
  const auto delay = std::chrono::milliseconds(
      static_cast<long long>(static_cast<double>(next_.count()) * factor));
  next_ = std::min(max_, next_ * 2);
  return delay;
}

}  // namespace wa::redis
