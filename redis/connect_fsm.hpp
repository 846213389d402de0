// One connection attempt to a known address, as pure steps: name lookup (unless the host is an
// IP address or a unix socket), transport connect, TLS handshake (when enabled), then the Redis
// handshake: AUTH [username] password, SELECT db, CLIENT SETNAME, PING, and ROLE in Sentinel
// mode (a Sentinel's answer can be stale: the server must say it is the master). The connection
// runs each action and reports its outcome; no socket and no clock here.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "redis/endpoint.hpp"
#include "redis/reply.hpp"
#include "redis/resolve.hpp"

namespace wa::redis {

class ConnectFsm {
 public:
  enum class Action { lookup, connect, tls_handshake, hello, ready, fail };

  ConnectFsm(const Endpoint& ep, Target target, std::string_view client_name);
  Action start();
  Action on_lookup(error_code ec);
  Action on_connect(error_code ec);
  // verify_error: OpenSSL's reason when the peer's certificate did not verify.
  Action on_tls(error_code ec, std::string_view verify_error);
  Action on_hello(error_code ec, const std::vector<Reply>& replies);
  Action on_timeout();

  const Target& target() const noexcept { return target_; }
  bool tls() const noexcept { return tls_; }
  const std::vector<Command>& hello() const noexcept { return hello_; }
  // fail: why; certificate and authentication failures say so.
  const std::string& message() const noexcept { return message_; }

 private:
  Action fail(std::string message);
  std::string judge(const std::vector<Reply>& replies) const;

  Target target_;
  bool tls_;
  bool has_auth_;
  bool check_role_;
  std::vector<Command> hello_;
  std::string message_;
};

bool is_ip_literal(std::string_view host) noexcept;

}  // namespace wa::redis
