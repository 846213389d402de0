// A small synchronous hiredis client for the wa-router command line: one connection, plain
// commands and pipelines, errors that name the Redis address.
#pragma once

#include <hiredis/hiredis.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace wa::cli {

// Redis is unreachable, or answered a command with an error.
class RedisError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct RReply {
  int type = REDIS_REPLY_NIL;
  std::string str;  // string, status and error replies
  long long integer = 0;
  std::vector<RReply> elements;

  bool nil() const noexcept { return type == REDIS_REPLY_NIL; }
  bool error() const noexcept { return type == REDIS_REPLY_ERROR; }
};

class RedisClient {
 public:
  // Connects (unix_socket when set, else host:port), then AUTH and SELECT as configured.
  // Throws RedisError naming the address.
  RedisClient(const config::Redis& cfg, std::chrono::milliseconds timeout);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // "unix:/path/to.sock" or "host:port".
  const std::string& address() const noexcept { return address_; }

  // One command; an error reply throws RedisError.
  RReply cmd(const std::vector<std::string>& args);
  // Several commands sent together; replies in order. An error reply throws RedisError (after
  // every reply has been read).
  std::vector<RReply> pipeline(const std::vector<std::vector<std::string>>& cmds);

 private:
  [[noreturn]] void fail(const std::string& what);
  void append(const std::vector<std::string>& args);
  RReply read_reply();

  std::string address_;
  redisContext* c_ = nullptr;
};

}  // namespace wa::cli
