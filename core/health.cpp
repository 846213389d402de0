#include "core/health.hpp"

#include <algorithm>
#include <cmath>

namespace wa::core {

namespace {

double stability_of(SessionStatus s) noexcept {
  switch (s) {
    case SessionStatus::connected:
      return 100;
    case SessionStatus::connecting:
    case SessionStatus::authenticated:
      return 50;
    case SessionStatus::disconnected:
    case SessionStatus::qr_scanning:
      return 20;
    default:
      return 0;
  }
}

double activity_of(const Session& s, Seconds now) noexcept {
  if (!s.last_activity_at) return 0;
  const double m = std::floor((now - *s.last_activity_at) / 60.0);
  if (m <= 5) return 100;
  if (m <= 15) return 80;
  if (m <= 60) return 60;
  return std::max(0.0, 60.0 - (m - 60.0));
}

double uptime_of(const Session& s, Seconds now) noexcept {
  const Seconds lifetime = now - s.created_at;
  if (lifetime <= 0) return 100;  // now = created_at (or a clock behind the app's): no history
  const Seconds connected_at = s.last_connected_at.value_or(s.created_at);
  Seconds end;
  if (s.status == SessionStatus::connected) {
    end = now;
  } else if (s.disconnected_at) {
    end = *s.disconnected_at;
  } else if (s.last_activity_at) {
    end = *s.last_activity_at;
  } else {
    end = connected_at;
  }
  return std::clamp((end - connected_at) / lifetime * 100.0, 0.0, 100.0);
}

}  // namespace

long long round_half_away(double v) noexcept {
  return std::llround(v);
}

HealthMetrics compute_metrics(const Session& s, const WindowStats& w, Seconds now) noexcept {
  HealthMetrics m;
  m.connection_stability = stability_of(s.status);
  m.message_success_rate = w.total ? w.success_rate() : 80.0;
  m.recent_activity = activity_of(s, now);
  m.error_rate = w.error_rate();
  const auto avg = w.avg_response_time_ms();
  m.response_time = avg ? std::max(0.0, 100.0 - *avg / 5000.0 * 100.0) : 90.0;
  m.uptime = uptime_of(s, now);
  return m;
}

int health_score(const HealthMetrics& m, const config::HealthWeights& w) noexcept {
  const double divisor = w.connection_stability + w.message_success_rate + w.recent_activity +
                         w.response_time + w.uptime;
  const double positive = w.connection_stability * m.connection_stability +
                          w.message_success_rate * m.message_success_rate +
                          w.recent_activity * m.recent_activity +
                          w.response_time * m.response_time + w.uptime * m.uptime;
  const double raw = (divisor > 0 ? positive / divisor : 0.0) - w.error_rate * m.error_rate;
  // A score that is exactly x.5 in exact arithmetic often comes out as x.49999999999999 here
  // (the weights and the divisor 1.10 are not binary fractions), and would round down. Snapping
  // to a 1e-9 grid first removes that error, far below anything the metrics can express.
  const double snapped = std::round(std::clamp(raw, -1.0, 101.0) * 1e9) / 1e9;
  return static_cast<int>(std::clamp<long long>(round_half_away(snapped), 0, 100));
}

std::string_view to_string(AlertType t) noexcept {
  switch (t) {
    case AlertType::high_error_rate:
      return "high_error_rate";
    case AlertType::low_success_rate:
      return "low_success_rate";
    case AlertType::slow_delivery:
      return "slow_delivery";
    case AlertType::silent:
      return "silent";
  }
  return "unknown";
}

std::vector<Alert> broken_limits(const WindowStats& w, const config::AlertThresholds& t) {
  std::vector<Alert> out;
  if (w.total == 0) return out;
  if (const double e = w.error_rate(); e > t.high_error_rate) {
    out.push_back({AlertType::high_error_rate, e, t.high_error_rate});
  }
  if (const double s = w.success_rate(); s < t.low_success_rate) {
    out.push_back({AlertType::low_success_rate, s, t.low_success_rate});
  }
  if (const auto d = w.avg_delivery_time_ms(); d && *d > t.slow_delivery) {
    out.push_back({AlertType::slow_delivery, *d, t.slow_delivery});
  }
  return out;
}

AlertMask mask_of(const std::vector<Alert>& alerts) noexcept {
  AlertMask m = 0;
  for (const auto& a : alerts)
    m |= 1u << static_cast<unsigned>(a.type);
  return m;
}

}  // namespace wa::core
