#include "daemon/metrics.hpp"

#include <prometheus/text_serializer.h>

namespace wa::daemon {

namespace {

prometheus::Family<prometheus::Counter>& counter_family(prometheus::Registry& r, const char* name,
                                                        const char* help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(r);
}

prometheus::Counter& counter(prometheus::Registry& r, const char* name, const char* help) {
  return counter_family(r, name, help).Add({});
}

prometheus::Histogram& histogram(prometheus::Registry& r, const char* name, const char* help,
                                 prometheus::Histogram::BucketBoundaries buckets) {
  return prometheus::BuildHistogram().Name(name).Help(help).Register(r).Add({}, std::move(buckets));
}

}  // namespace

Metrics::Metrics()
    : jobs_taken(counter(*registry_, "wa_jobs_taken_total", "Campaign jobs taken from the queue.")),
      retried(counter(*registry_, "wa_jobs_retried_total", "Jobs put back with backoff.")),
      duplicates(
          counter(*registry_, "wa_jobs_duplicate_total",
                  "Jobs acknowledged without new outputs (already decided or pushed twice).")),
      lease_lost(counter(*registry_, "wa_jobs_lease_lost_total",
                         "Jobs no longer reserved when their outputs were to be written.")),
      lease_recoveries(counter(*registry_, "wa_lease_recoveries_total",
                               "Expired leases put back at the head of the queue.")),
      events_consumed(counter(*registry_, "wa_events_consumed_total", "Message events consumed.")),
      events_malformed(
          counter(*registry_, "wa_events_malformed_total", "Malformed message events dropped.")),
      health_cycles(
          counter(*registry_, "wa_health_cycles_total", "Health cycles run by this daemon.")),
      alerts(counter(*registry_, "wa_alerts_total", "Alerts raised.")),
      switches(counter(*registry_, "wa_switches_total", "Provider switches (contacts moved).")),
      loop_errors(counter(*registry_, "wa_errors_total",
                          "Redis errors that interrupted a loop (retried).")),
      decision_seconds(
          histogram(*registry_, "wa_decision_seconds",
                    "Time from taking a batch to its outputs written, per job.",
                    {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5})),
      health_cycle_seconds(histogram(*registry_, "wa_health_cycle_seconds",
                                     "Duration of a health cycle (health, alerts, switching).",
                                     {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30})),
      redis_up(prometheus::BuildGauge()
                   .Name("wa_redis_up")
                   .Help("1 while the command connection to Redis is ready.")
                   .Register(*registry_)
                   .Add({})),
      decisions_(counter_family(*registry_, "wa_decisions_total", "Decisions by type and reason.")),
      dead_(counter_family(*registry_, "wa_jobs_dead_total",
                           "Jobs moved to the dead list, by cause.")),
      bands_(prometheus::BuildGauge()
                 .Name("wa_sessions")
                 .Help("Sessions per health band at the last health cycle.")
                 .Register(*registry_)),
      depth_(prometheus::BuildGauge()
                 .Name("wa_queue_depth")
                 .Help("Jobs per queue key (queue, delayed, reserved, dead).")
                 .Register(*registry_)),
      released_(counter_family(*registry_, "wa_pacer_released_total",
                               "Contacts released into ready lists, per target class.")),
      held_(counter_family(*registry_, "wa_pacer_held_total",
                           "Passes in which a due target released nothing, by class and reason.")),
      silent_(prometheus::BuildGauge()
                  .Name("wa_silent_sessions")
                  .Help("Webjs sessions silent at the last health cycle (releases not reported).")
                  .Register(*registry_)
                  .Add({})),
      factors_(prometheus::BuildGauge()
                   .Name("wa_pace_factor_sessions")
                   .Help("Webjs sessions by adaptive pace factor at the last health cycle.")
                   .Register(*registry_)),
      reconnects_(counter_family(*registry_, "wa_redis_reconnects_total",
                                 "Established Redis connections lost, per connection.")),
      redis_timeouts_(counter_family(*registry_, "wa_redis_timeouts_total",
                                     "Redis commands that timed out, per connection.")),
      redis_failures_(counter_family(*registry_, "wa_redis_connect_failures_total",
                                     "Failed Redis connection attempts, per connection.")) {
  // Every cause exists from the start, so that rate() and alerts see 0 rather than no series.
  for (const char* cause : {"bad_payload", "poison", "permanent", "max_attempts", "write_failed",
                            "bad_contacts_key", "unstable_contacts", "oversized"}) {
    dead_.Add({{"cause", cause}});
  }
  for (const char* cls : {"webjs", "meta"}) {
    released_.Add({{"class", cls}});
    for (const char* why : {"cap", "hours", "backpressure", "paused", "no_rate", "offline"})
      held_.Add({{"class", cls}, {"reason", why}});
  }
}

void Metrics::released(std::string_view target_class, double n) {
  released_.Add({{"class", std::string(target_class)}}).Increment(n);
}

void Metrics::held(std::string_view target_class, std::string_view reason) {
  held_.Add({{"class", std::string(target_class)}, {"reason", std::string(reason)}}).Increment();
}

void Metrics::decided(core::DecisionType type, core::Reason reason) {
  const auto t = static_cast<std::size_t>(type), r = static_cast<std::size_t>(reason);
  prometheus::Counter*& c = decided_[t][r];  // (sizes checked in metrics.hpp)
  if (c == nullptr) {
    c = &decisions_.Add({{"type", std::string(core::to_string(type))},
                         {"reason", std::string(core::to_string(reason))}});
  }
  c->Increment();
}

void Metrics::dead(const std::string& cause, double n) {
  dead_.Add({{"cause", cause}}).Increment(n);
}

void Metrics::set_health_bands(int healthy, int degraded, int unhealthy) {
  bands_.Add({{"band", "healthy"}}).Set(healthy);      // >= min_score_primary
  bands_.Add({{"band", "degraded"}}).Set(degraded);    // secondary tier only
  bands_.Add({{"band", "unhealthy"}}).Set(unhealthy);  // below min_score_secondary
}

void Metrics::set_pace(int silent, int full, int reduced, int slowed) {
  silent_.Set(silent);
  factors_.Add({{"factor", "full"}}).Set(full);        // 1
  factors_.Add({{"factor", "reduced"}}).Set(reduced);  // 0.5 to 1
  factors_.Add({{"factor", "slowed"}}).Set(slowed);    // below 0.5
}

void Metrics::set_depths(double queue, double delayed, double reserved, double dead) {
  depth_.Add({{"key", "queue"}}).Set(queue);
  depth_.Add({{"key", "delayed"}}).Set(delayed);
  depth_.Add({{"key", "reserved"}}).Set(reserved);
  depth_.Add({{"key", "dead"}}).Set(dead);
}

void Metrics::observe_connection(const std::string& name, const redis::ConnectionStats& s) {
  redis::ConnectionStats& before = seen_[name];
  const prometheus::Labels labels{{"connection", name}};
  reconnects_.Add(labels).Increment(static_cast<double>(s.disconnects - before.disconnects));
  redis_timeouts_.Add(labels).Increment(static_cast<double>(s.timeouts - before.timeouts));
  redis_failures_.Add(labels).Increment(static_cast<double>(s.failures - before.failures));
  before = s;
}

std::string Metrics::render() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace wa::daemon
