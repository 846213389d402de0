#include "redis/endpoint.hpp"

namespace wa::redis {

std::string Endpoint::describe() const {
  // Appended piece by piece: GCC 12 warns falsely (-Wrestrict, bug 105651) on
  // "literal" + std::string(...) at -O3.
  std::string out;
  if (!sentinels.empty()) {
    out.append("master \"").append(master_name).append("\" (via Sentinel)");
    return out;
  }
  if (tls.enabled) out.append("tls:");
  if (cluster) {
    out.append("cluster (seed ").append(host).append(":").append(std::to_string(port));
    out.append(", slot ").append(std::to_string(cluster_slot)).append(")");
    return out;
  }
  if (!unix_socket.empty()) {
    out.assign("unix:").append(unix_socket);
  } else {
    out.append(host).append(":").append(std::to_string(port));
  }
  if (db) out.append("/").append(std::to_string(db));
  return out;
}

}  // namespace wa::redis
