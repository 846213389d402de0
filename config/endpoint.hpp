// The connection layer's Endpoint (redis/endpoint.hpp) for the configuration's `redis` section:
// shared by the daemon and the command line, so that both reach Redis the same way (TLS, ACL
// username, Sentinel).
#pragma once

#include "config/config.hpp"
#include "redis/endpoint.hpp"

namespace wa::config {

// Timeouts and reconnect delays keep the Endpoint's defaults.
redis::Endpoint endpoint_of(const Redis& r);

}  // namespace wa::config
