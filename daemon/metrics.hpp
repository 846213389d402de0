// Prometheus text exposition of the daemon's counters.
#pragma once

#include <string>

namespace wa::daemon {
class Daemon;
std::string render_metrics(const Daemon& d);
}  // namespace wa::daemon
