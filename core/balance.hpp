// Load balancing (CONTRACT.md section 4): how a campaign's contacts are spread over sessions.
//
// An allocation never holds contact ids: each target gets a Slice, the arithmetic progression of
// input positions it owns (a contiguous block, or every n-th contact for round robin). The writer
// walks the input once and copies each id once, straight into its target's list.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "config/config.hpp"
#include "core/types.hpp"

namespace wa::core {

// Input positions first, first + stride, ... (count of them).
struct Slice {
  std::uint64_t first = 0;
  std::uint64_t stride = 1;
  std::uint64_t count = 0;
  bool operator==(const Slice&) const = default;
  std::uint64_t position(std::uint64_t k) const noexcept { return first + k * stride; }
};

// ((0.5 + success/100) + max(0.5, 1 - (100 - response)/200)) / 2
double performance_multiplier(const HealthMetrics& m) noexcept;

// Messages per hour a session can take: base_capacity × health/100 × performance multiplier ×
// (1.2 for direct, 1.0 for template).
double session_capacity(const Session& s, TemplateMode mode,
                        const config::LoadBalancing& lb) noexcept;

// Splits n into shares proportional to weights by the largest-remainder method (ties go to the
// earlier entry). Every share is within 1 of its ideal and the shares sum to n. Weights that are
// all zero (or not finite) split evenly.
std::vector<std::uint64_t> largest_remainder(std::uint64_t n, std::span<const double> weights);

// One slice per session, in the order given (tier order), by the configured strategy.
std::vector<Slice> allocate(std::uint64_t n, std::span<const Session* const> sessions,
                            TemplateMode mode, const config::LoadBalancing& lb);

// Copies each item once into its target's list (the in-memory form of the dispatch lists).
template <typename T>
std::vector<std::vector<T>> materialize(std::span<const Slice> slices, std::span<const T> items) {
  std::vector<std::vector<T>> out(slices.size());
  for (std::size_t t = 0; t < slices.size(); ++t) {
    const Slice& s = slices[t];
    out[t].reserve(s.count);
    for (std::uint64_t k = 0; k < s.count; ++k)
      out[t].push_back(items[s.position(k)]);
  }
  return out;
}

}  // namespace wa::core
