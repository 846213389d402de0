// "Where do I connect": the address of the server to open before each connection attempt.
// Pure step functions: the connection runs the actions and reports what happened.
//
// Modes: direct (the configured host/port or unix socket) and Sentinel (ask each Sentinel in
// order for the master, falling through on any error). Redis Cluster fits in as a third mode:
// an `ask_node` step sending CLUSTER SLOTS to a seed node and a `connect` to the slot's master.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

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
  enum class Mode { direct, sentinel };
  struct Action {
    enum class Kind { connect, ask_sentinel, fail };
    Kind kind = Kind::fail;
    Target target;        // connect: the server; ask_sentinel: the Sentinel
    std::string message;  // fail: why
  };

  explicit ResolveFsm(const Endpoint& ep);
  Mode mode() const noexcept { return mode_; }
  Action start();  // a new resolution (before every connection attempt)
  // The Sentinel asked last could not be reached (or refused the connection): why.
  Action on_sentinel_down(std::string_view why);
  // Its answer to query() (ec: the command itself failed).
  Action on_sentinel_reply(error_code ec, const std::vector<Reply>& replies);
  Command query() const;  // SENTINEL get-master-addr-by-name <master>

 private:
  Action ask(std::size_t index);

  Mode mode_;
  Target direct_;
  std::vector<Target> sentinels_;
  std::string master_name_;
  std::size_t index_ = 0;
  std::string last_problem_;
};

// The settings of a connection to a Sentinel at `t`, derived from the server's (Sentinel
// credentials and TLS, no database, no ROLE check).
Endpoint sentinel_endpoint(const Endpoint& server, const Target& t);

}  // namespace wa::redis
