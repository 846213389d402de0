// The wa-router command line's Redis: a synchronous facade over the connection layer
// (redis/connection.hpp). It owns an io_context and runs it until the connection is up, or a
// batch of commands has its replies, so that the command line reaches Redis exactly as the
// daemon does (unix socket, TLS, ACL username, Sentinel) with plain blocking calls.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "redis/connection.hpp"

namespace wa::cli {

// Redis is unreachable, or answered a command with an error.
class RedisError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class SyncRedis {
 public:
  // Connects (one attempt: no reconnects), with AUTH and SELECT as configured. `timeout` bounds
  // the connection attempt and every batch. Throws RedisError naming the address and the reason
  // (refused, authentication failed, certificate verification failed...).
  SyncRedis(const config::Redis& cfg, std::chrono::milliseconds timeout);
  ~SyncRedis();
  SyncRedis(const SyncRedis&) = delete;
  SyncRedis& operator=(const SyncRedis&) = delete;

  // "unix:/path/to.sock", "host:port", or the Sentinel master's name.
  const std::string& address() const noexcept { return address_; }

  // One command; an error reply throws RedisError.
  redis::Reply cmd(const redis::Command& command);
  // Several commands pipelined; replies in order. An error reply throws RedisError (after every
  // reply has been read), as does a lost connection or a timeout.
  std::vector<redis::Reply> cmds(const std::vector<redis::Command>& commands);

 private:
  void connect();
  std::vector<redis::Reply> exec(std::vector<redis::Command> batch);
  [[noreturn]] void fail(const std::string& what);

  boost::asio::io_context io_;  // first: outlives the connection
  std::string address_;
  std::shared_ptr<redis::Connection> conn_;
};

}  // namespace wa::cli
