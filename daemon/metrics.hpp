// The daemon's Prometheus metrics (prometheus-cpp's registry and text serializer; the HTTP side
// is daemon/http.cpp on the daemon's own event loop).
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <map>
#include <memory>
#include <string>

#include "core/types.hpp"
#include "redis/connection.hpp"

namespace wa::daemon {

class Metrics {
  // First: every member below registers in it.
  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();

 public:
  Metrics();

  // Decisions by type and reason ("webjs", "primary_session"). The counters are looked up once
  // per pair (a label lookup per decision cost 2 % of the daemon's CPU in the drain).
  void decided(core::DecisionType type, core::Reason reason);
  // Jobs that went to the dead list, by cause: bad_payload, poison, permanent, max_attempts,
  // write_failed, bad_contacts_key, unstable_contacts, oversized.
  void dead(const std::string& cause, double n = 1);
  // Sessions per health band, as of the last health cycle.
  void set_health_bands(int healthy, int degraded, int unhealthy);
  // Section 8's adaptive pace at the last health cycle: silent webjs sessions, and webjs
  // sessions by pace factor (1; 0.5 to 1; below 0.5).
  void set_pace(int silent, int full, int reduced, int slowed);
  // Queue depths sampled from Redis.
  void set_depths(double queue, double delayed, double reserved, double dead);
  // The pacer (section 8): contacts released per target class ("webjs", "meta"), and passes in
  // which a due target released nothing, by reason (cap, hours, backpressure, paused, no_rate,
  // offline).
  void released(std::string_view target_class, double n);
  void held(std::string_view target_class, std::string_view reason);
  // Folds a connection's lifetime counters into the reconnect/error counters.
  void observe_connection(const std::string& name, const redis::ConnectionStats& s);

  prometheus::Counter& jobs_taken;
  prometheus::Counter& retried;
  prometheus::Counter& duplicates;
  prometheus::Counter& lease_lost;
  prometheus::Counter& lease_recoveries;
  prometheus::Counter& events_consumed;
  prometheus::Counter& events_malformed;
  prometheus::Counter& health_cycles;
  prometheus::Counter& alerts;
  prometheus::Counter& switches;
  prometheus::Counter& loop_errors;
  prometheus::Histogram& decision_seconds;
  prometheus::Histogram& health_cycle_seconds;
  prometheus::Gauge& redis_up;

  std::string render() const;

 private:
  prometheus::Family<prometheus::Counter>& decisions_;
  prometheus::Family<prometheus::Counter>& dead_;
  prometheus::Family<prometheus::Gauge>& bands_;
  prometheus::Family<prometheus::Gauge>& depth_;
  prometheus::Family<prometheus::Counter>& released_;
  prometheus::Family<prometheus::Counter>& held_;
  prometheus::Gauge& silent_;
  prometheus::Family<prometheus::Gauge>& factors_;
  prometheus::Family<prometheus::Counter>& reconnects_;
  prometheus::Family<prometheus::Counter>& redis_timeouts_;
  prometheus::Family<prometheus::Counter>& redis_failures_;
  std::map<std::string, redis::ConnectionStats> seen_;
  static constexpr std::size_t kTypes = 3, kReasons = 9;  // core::DecisionType, core::Reason
  static_assert(static_cast<std::size_t>(core::DecisionType::queue) + 1 == kTypes);
  static_assert(static_cast<std::size_t>(core::Reason::no_provider_available) + 1 == kReasons);
  std::array<std::array<prometheus::Counter*, kReasons>, kTypes> decided_{};
};

}  // namespace wa::daemon
