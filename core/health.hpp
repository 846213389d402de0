// Session health (CONTRACT.md section 3): six metrics, the normalised score, and alerts.
#pragma once

#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "core/types.hpp"

namespace wa::core {

// The six metrics of a session at time `now`, from its hash and its last hour of messages.
HealthMetrics compute_metrics(const Session& s, const WindowStats& last_hour, Seconds now) noexcept;

// health = clamp(round((Σ w·metric over the five positive metrics) / Σ w − w_err·error_rate), 0,
// 100)
int health_score(const HealthMetrics& m, const config::HealthWeights& w) noexcept;

// Rounds half away from zero (the contract's rounding for scores).
long long round_half_away(double v) noexcept;

// silent: section 8's adaptive pace (core/pacing.hpp is_silent), raised by the health cycle
// beside the limits of broken_limits, with value = % reported and threshold = min_reported.
enum class AlertType { high_error_rate, low_success_rate, slow_delivery, silent };
std::string_view to_string(AlertType) noexcept;

struct Alert {
  AlertType type;
  double value;
  double threshold;
  bool operator==(const Alert&) const = default;
};

// The limits a session breaks now. Only sessions with messages in the last hour can break any;
// slow delivery needs at least one reported delivery time.
std::vector<Alert> broken_limits(const WindowStats& last_hour, const config::AlertThresholds& t);

// Bit set of alert types, kept between checks to make alerts edge-triggered.
using AlertMask = unsigned;
AlertMask mask_of(const std::vector<Alert>& alerts) noexcept;
// True when `now` holds a limit that `before` did not: the session gets one alert message.
inline bool alert_is_new(AlertMask before, AlertMask now) noexcept {
  return (now & ~before) != 0;
}

}  // namespace wa::core
