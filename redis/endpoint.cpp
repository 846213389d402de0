#include "redis/endpoint.hpp"

namespace wa::redis {

std::string Endpoint::describe() const {
  if (!sentinels.empty()) return "master \"" + master_name + "\" (via Sentinel)";
  if (cluster) {
    return (tls.enabled ? "tls:" : "") + std::string("cluster (seed ") + host + ":" +
           std::to_string(port) + ", slot " + std::to_string(cluster_slot) + ")";
  }
  const std::string db_part = db ? "/" + std::to_string(db) : "";
  if (!unix_socket.empty()) return "unix:" + unix_socket + db_part;
  return (tls.enabled ? "tls:" : "") + host + ":" + std::to_string(port) + db_part;
}

}  // namespace wa::redis
