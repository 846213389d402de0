// Meta's messaging budget (CONTRACT.md section 9): a portfolio reaches at most tier_limit unique
// recipients outside the 24 h window in any moving window. What the prediction needs to know is
// when a release can go out by the budget alone. Pure: time comes in.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace wa::core {

// The budget's live entries (released to within the window), as read from
// wa:meta:budget:<portfolio>: how many, and the release times (ms) of entries at evenly spaced
// ranks from the oldest (first) to the newest (last); times between samples are interpolated.
struct MetaBudget {
  std::uint64_t used = 0;
  std::vector<std::int64_t> samples;
  std::int64_t window_ms = 86'400'000;
};

// Release time (ms) of the entry of rank k (0 = oldest) among budget.used, from the samples.
std::int64_t entry_time(const MetaBudget& budget, std::uint64_t k, std::int64_t now_ms) noexcept;

// When the release of index j (0-based, counting every new recipient before it on the target)
// fits the budget: now when fewer than tier_limit entries are live after the j before it, else
// when enough entries have aged out; each full tier_limit of releases ahead costs one window.
// tier_limit 0: unlimited (now).
std::int64_t budget_release_ms(std::uint64_t j, std::uint64_t tier_limit, const MetaBudget& budget,
                               std::int64_t now_ms) noexcept;

}  // namespace wa::core
