#include "redis/deadlines.hpp"

#include <algorithm>

namespace wa::redis {

std::optional<std::size_t> Deadlines::expired(Clock::time_point now) const noexcept {
  for (std::size_t i = 0; i < d_.size(); ++i) {
    if (d_[i] <= now) return i;
  }
  return std::nullopt;
}

std::optional<Deadlines::Clock::time_point> Deadlines::next() const noexcept {
  if (d_.empty()) return std::nullopt;
  return *std::min_element(d_.begin(), d_.end());
}

}  // namespace wa::redis
