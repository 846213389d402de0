#include "core/meta_budget.hpp"

#include <algorithm>

namespace wa::core {

std::int64_t entry_time(const MetaBudget& b, std::uint64_t k, std::int64_t now_ms) noexcept {
  const auto& s = b.samples;
  if (s.empty()) return now_ms;  // nothing known about them: as if released now
  if (s.size() == 1 || b.used <= 1) return s.front();
  // Sample i stands at rank i × (used − 1) ÷ (n − 1).
  const double pos = static_cast<double>(std::min(k, b.used - 1)) *
                     static_cast<double>(s.size() - 1) / static_cast<double>(b.used - 1);
  const auto i = std::min(static_cast<std::size_t>(pos), s.size() - 2);
  const double f = pos - static_cast<double>(i);
  return s[i] + static_cast<std::int64_t>(f * static_cast<double>(s[i + 1] - s[i]));
}

std::int64_t budget_release_ms(std::uint64_t j, std::uint64_t tier_limit, const MetaBudget& b,
                               std::int64_t now_ms) noexcept {
  if (tier_limit == 0) return now_ms;
  // Release j waits for entry j + used − tier_limit to age out. That entry is a live one while
  // j < tier_limit; beyond, it is release j − tier_limit's own, one window after it.
  const std::uint64_t windows = j / tier_limit;
  const std::uint64_t r = j % tier_limit;
  std::int64_t at = now_ms;
  if (r + b.used >= tier_limit) {
    at = std::max(now_ms, entry_time(b, r + b.used - tier_limit, now_ms) + b.window_ms);
  }
  return at + static_cast<std::int64_t>(windows) * b.window_ms;
}

}  // namespace wa::core
