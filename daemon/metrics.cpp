#include "daemon/metrics.hpp"

#include <sstream>

#include "daemon/daemon.hpp"

namespace wa::daemon {

std::string render_metrics(const Daemon& d) {
  const Counters& c = d.counters();
  std::ostringstream out;
  auto counter = [&](const char* name, const char* help, double v) {
    out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << " counter\n"
        << name << ' ' << v << '\n';
  };
  auto gauge = [&](const char* name, const char* help, double v) {
    out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << " gauge\n"
        << name << ' ' << v << '\n';
  };
  counter("wa_jobs_taken_total", "Campaign jobs taken from the queue.",
          static_cast<double>(c.jobs_taken));
  out << "# HELP wa_decisions_total Decisions by type and reason.\n# TYPE wa_decisions_total "
         "counter\n";
  for (const auto& [kind, n] : c.decisions) {
    const auto slash = kind.find('/');
    out << "wa_decisions_total{type=\"" << kind.substr(0, slash) << "\",reason=\""
        << kind.substr(slash + 1) << "\"} " << n << '\n';
  }
  counter("wa_jobs_retried_total", "Jobs put back with backoff.", static_cast<double>(c.retried));
  counter("wa_jobs_dead_total", "Jobs moved to the dead list.", static_cast<double>(c.dead));
  counter("wa_jobs_bad_payload_total", "Malformed payloads.", static_cast<double>(c.bad_payloads));
  counter("wa_jobs_poison_total", "Jobs whose lease expired max_deliveries times.",
          static_cast<double>(c.poison));
  counter("wa_jobs_duplicate_total", "Jobs acknowledged without new outputs (already decided).",
          static_cast<double>(c.duplicates));
  counter("wa_jobs_lease_lost_total", "Jobs whose lease expired while being decided.",
          static_cast<double>(c.lease_lost));
  counter("wa_events_consumed_total", "Message events consumed.",
          static_cast<double>(c.events_consumed));
  counter("wa_events_malformed_total", "Malformed message events dropped.",
          static_cast<double>(c.events_malformed));
  counter("wa_health_cycles_total", "Health cycles run by this daemon.",
          static_cast<double>(c.health_cycles));
  counter("wa_alerts_total", "Alerts raised.", static_cast<double>(c.alerts));
  counter("wa_switches_total", "Provider switches.", static_cast<double>(c.switches));
  counter("wa_errors_total", "Redis errors that interrupted a loop.",
          static_cast<double>(c.errors));
  gauge("wa_health_cycle_seconds", "Duration of the last health cycle.",
        c.last_health_cycle_seconds);
  gauge("wa_redis_up", "1 while the command connection to Redis is ready.",
        d.redis_ready() ? 1 : 0);
  return out.str();
}

}  // namespace wa::daemon
