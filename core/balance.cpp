#include "core/balance.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace wa::core {

double performance_multiplier(const HealthMetrics& m) noexcept {
  const double success = 0.5 + m.message_success_rate / 100.0;
  const double response = std::max(0.5, 1.0 - (100.0 - m.response_time) / 200.0);
  return (success + response) / 2.0;
}

double session_capacity(const Session& s, TemplateMode mode,
                        const config::LoadBalancing& lb) noexcept {
  const double mode_factor = mode == TemplateMode::direct ? 1.2 : 1.0;
  return lb.base_capacity * (s.health / 100.0) * performance_multiplier(s.metrics) * mode_factor;
}

namespace {

// Largest remainder in exact integer arithmetic, for integral weights (health scores): floating
// point would make remainders that are equal (e.g. two ".5") compare unequal and break the tie
// toward a later entry. Returns false when the weights are not small non-negative integers.
bool exact_largest_remainder(std::uint64_t n, std::span<const double> weights,
                             std::vector<std::uint64_t>& shares) {
  constexpr double kMaxWeight = 1 << 20;
  constexpr std::uint64_t kMaxN = std::uint64_t{1} << 40;  // n × weight < 2^60
  std::uint64_t total = 0;
  for (double w : weights) {
    if (!(w >= 0 && w <= kMaxWeight) || w != std::floor(w)) return false;
    total += static_cast<std::uint64_t>(w);
  }
  if (total == 0 || n > kMaxN) return false;
  const std::size_t k = weights.size();
  std::vector<std::uint64_t> remainder(k);
  std::uint64_t given = 0;
  for (std::size_t i = 0; i < k; ++i) {
    const std::uint64_t scaled = n * static_cast<std::uint64_t>(weights[i]);
    shares[i] = scaled / total;
    remainder[i] = scaled % total;
    given += shares[i];
  }
  std::vector<std::size_t> order(k);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return remainder[a] > remainder[b]; });
  for (std::size_t j = 0; given < n; ++j, ++given)
    ++shares[order[j]];  // fewer than k units
  return true;
}

}  // namespace

std::vector<std::uint64_t> largest_remainder(std::uint64_t n, std::span<const double> weights) {
  const std::size_t k = weights.size();
  std::vector<std::uint64_t> shares(k, 0);
  if (k == 0) return shares;
  double total = 0;
  bool usable = true;
  for (double w : weights) {
    if (!std::isfinite(w) || w < 0) usable = false;
    total += w;
  }
  if (!usable || !(total > 0) || !std::isfinite(total)) {
    for (std::size_t i = 0; i < k; ++i)
      shares[i] = n / k + (i < n % k ? 1 : 0);
    return shares;
  }
  if (exact_largest_remainder(n, weights, shares)) return shares;
  std::vector<double> fraction(k);
  std::uint64_t given = 0;
  const double dn = static_cast<double>(n);
  for (std::size_t i = 0; i < k; ++i) {
    const double ideal = dn * (weights[i] / total);
    double whole = std::floor(ideal);
    whole = std::min(whole, dn);
    shares[i] = static_cast<std::uint64_t>(whole);
    fraction[i] = ideal - whole;
    given += shares[i];
  }
  // Rounding of the ideals can, in extreme cases, over-assign by a unit or two: take it back from
  // the smallest fractions (latest first) so the sum is exactly n.
  std::vector<std::size_t> order(k);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return fraction[a] > fraction[b]; });
  for (std::size_t j = k; given > n && j-- > 0;) {
    if (shares[order[j]] > 0) {
      --shares[order[j]];
      --given;
    }
  }
  // The units left go to the largest fractions. Fractions that are equal in exact arithmetic can
  // differ in their last bits here (capacities of sessions with the same metrics are proportional
  // to health), so fractions within `tie` of the last one to get a unit count as tied with it, and
  // tied entries are served in input order: ties go to the earlier entry.
  if (const std::uint64_t left = n - std::min(n, given); left > 0 && left <= k) {
    const double tie = std::max(1e-9, dn * 1e-12);
    const double cutoff = fraction[order[left - 1]];
    std::uint64_t units = left;
    for (std::size_t i = 0; i < k; ++i) {
      if (fraction[i] > cutoff + tie) {
        ++shares[i];
        --units;
      }
    }
    for (std::size_t i = 0; i < k && units > 0; ++i) {
      if (std::abs(fraction[i] - cutoff) <= tie) {
        ++shares[i];
        --units;
      }
    }
    given = n;
  }
  for (std::size_t j = 0; given < n; j = (j + 1) % k) {
    ++shares[order[j]];
    ++given;
  }
  return shares;
}

std::vector<Slice> allocate(std::uint64_t n, std::span<const Session* const> sessions,
                            TemplateMode mode, const config::LoadBalancing& lb) {
  const std::size_t k = sessions.size();
  std::vector<Slice> slices(k);
  if (k == 0) return slices;
  if (lb.strategy == config::Strategy::round_robin) {
    for (std::size_t i = 0; i < k; ++i) {
      slices[i] = {i, k, n / k + (i < n % k ? 1 : 0)};
    }
    return slices;
  }
  std::vector<double> weights(k);
  for (std::size_t i = 0; i < k; ++i) {
    weights[i] = lb.strategy == config::Strategy::health_score
                     ? static_cast<double>(sessions[i]->health)
                     : session_capacity(*sessions[i], mode, lb);
  }
  const auto shares = largest_remainder(n, weights);
  std::uint64_t next = 0;
  for (std::size_t i = 0; i < k; ++i) {
    slices[i] = {next, 1, shares[i]};
    next += shares[i];
  }
  return slices;
}

}  // namespace wa::core
