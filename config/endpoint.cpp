#include "config/endpoint.hpp"

#include "redis/cluster.hpp"

namespace wa::config {

namespace {

redis::Tls tls_of(const Tls& t) {
  return {t.enabled, t.ca_file, t.cert_file, t.key_file, t.server_name, t.verify};
}

}  // namespace

redis::Endpoint endpoint_of(const Redis& r) {
  redis::Endpoint ep;
  ep.host = r.host;
  ep.port = r.port;
  ep.unix_socket = r.unix_socket;
  ep.username = r.username;
  ep.password = r.password;
  ep.db = r.db;
  ep.tls = tls_of(r.tls);
  ep.cluster = r.cluster;
  ep.cluster_slot = redis::cluster::key_slot(r.prefix);  // the prefix's hash tag (config checks)
  ep.master_name = r.master_name;
  ep.sentinel_username = r.sentinel_username;
  ep.sentinel_password = r.sentinel_password;
  ep.sentinel_tls = tls_of(r.sentinel_tls);
  for (const std::string& s : r.sentinels) {  // "host:port" or "[v6]:port", validated by config
    const auto colon = s.rfind(':');
    std::string host = s.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    ep.sentinels.emplace_back(host, std::stoi(s.substr(colon + 1)));
  }
  return ep;
}

}  // namespace wa::config
