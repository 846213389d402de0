// Where and how to reach Redis: the settings of one connection (config's `redis` section).
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace wa::redis {

// TLS towards a server (redis.tls) or towards Sentinels (redis.sentinel_tls).
struct Tls {
  bool enabled = false;
  std::string ca_file;    // "": the system's CA store
  std::string cert_file;  // client certificate (mutual TLS), with key_file
  std::string key_file;
  std::string server_name;  // the name the certificate must carry; "": the host connected to
  bool verify = true;       // false: any certificate is accepted
  bool operator==(const Tls&) const = default;
};

struct Endpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string unix_socket;
  std::string username;  // Redis 6 ACL user ("": AUTH with the password alone)
  std::string password;
  int db = 0;
  Tls tls;
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds command_timeout{5000};
  std::chrono::milliseconds reconnect_min{100};
  std::chrono::milliseconds reconnect_max{5000};
  // Redis Sentinel: when non-empty, the master is asked of these ("host", port) in order under
  // master_name before every connection, checked with ROLE, and re-resolved when it turns out
  // to be a replica (a READONLY error); host/port/unix_socket are then unused.
  std::vector<std::pair<std::string, int>> sentinels;
  std::string master_name;
  std::string sentinel_username;
  std::string sentinel_password;
  Tls sentinel_tls;
  bool sentinel_probe = false;  // this connection talks to a Sentinel itself (no SELECT, no ROLE)
  // Redis Cluster (redis.cluster): host/port is the first seed; before every connection the
  // master of `cluster_slot` (the slot of the prefix's hash tag) is asked of the seeds.
  bool cluster = false;
  int cluster_slot = 0;
  std::string describe() const;
};

}  // namespace wa::redis
