// "Where do I connect": the address of the server to open before each connection attempt.
// Pure step functions: the connection runs the actions and reports what happened.
//
// Modes: direct (the configured host/port or unix socket), Sentinel (ask each Sentinel in order
// for the master, falling through on any error) and Redis Cluster (send CLUSTER SLOTS to each
// seed node in order, redis/cluster_router.hpp, and connect to the master of the prefix's slot).
// Either probe (a Sentinel, a cluster node) runs on a short-lived connection: probe_endpoint()
// gives its settings, query() the command, on_probe_down()/on_probe_reply() its outcome.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "redis/cluster_router.hpp"
#include "redis/endpoint.hpp"
#include "redis/reply.hpp"

namespace wa::redis {

struct Target {
  std::string host;
  int port = 0;
  std::string unix_socket;  // non-empty: this socket instead of host/port
  std::string where() const;
  bool operator==(const Target&) const = default;
};

class ResolveFsm {
 public:
  enum class Mode { direct, sentinel, cluster };
  struct Action {
    enum class Kind { connect, ask_sentinel, ask_node, fail };
    Kind kind = Kind::fail;
    Target target;  // connect: the server; ask_sentinel: the Sentinel; ask_node: a cluster node
    std::string message;  // fail: why
  };

  explicit ResolveFsm(const Endpoint& ep);
  Mode mode() const noexcept { return mode_; }
  Action start();  // a new resolution (before every connection attempt)
  // The Sentinel asked last could not be reached (or refused the connection): why.
  Action on_sentinel_down(std::string_view why);
  // Its answer to query() (ec: the command itself failed).
  Action on_sentinel_reply(error_code ec, const std::vector<Reply>& replies);
  // The cluster node asked last could not be reached: why.
  Action on_node_down(std::string_view why);
  // Its answer to query() (CLUSTER SLOTS).
  Action on_node_reply(error_code ec, const std::vector<Reply>& replies);
  // Either of the above, or the Sentinel ones, as the mode says.
  Action on_probe_down(std::string_view why);
  Action on_probe_reply(error_code ec, const std::vector<Reply>& replies);
  // SENTINEL get-master-addr-by-name <master>, or CLUSTER SLOTS.
  Command query() const;
  // The settings of the short-lived connection to the Sentinel or cluster node `t`.
  Endpoint probe_endpoint(const Endpoint& server, const Target& t) const;

  // An error reply of the server in use: true when it means the server no longer is the master
  // to talk to and the connection should be dropped and resolved again. Sentinel: READONLY.
  // Cluster: MOVED (its node is then asked first), ASK (the slot is being migrated: all the
  // daemon's keys live in that one slot, so the whole connection follows), READONLY and
  // UNBLOCKED; not TRYAGAIN / CLUSTERDOWN (the cluster is reconfiguring: callers retry).
  bool on_error_reply(std::string_view error);

 private:
  Action ask(std::size_t index);
  Action follow(const cluster::Step& s);

  Mode mode_;
  Target direct_;
  std::vector<Target> sentinels_;
  std::string master_name_;
  std::size_t index_ = 0;
  std::string last_problem_;
  std::optional<cluster::SlotRouter> router_;  // cluster mode
};

// The settings of a connection to a Sentinel at `t`, derived from the server's (Sentinel
// credentials and TLS, no database, no ROLE check).
Endpoint sentinel_endpoint(const Endpoint& server, const Target& t);

}  // namespace wa::redis
