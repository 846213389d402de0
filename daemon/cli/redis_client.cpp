#include "daemon/cli/redis_client.hpp"

#include <sys/time.h>

namespace wa::cli {

namespace {

RReply convert(const redisReply* r) {
  RReply out;
  out.type = r->type;
  if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS ||
      r->type == REDIS_REPLY_ERROR) {
    out.str.assign(r->str, r->len);
  } else if (r->type == REDIS_REPLY_INTEGER) {
    out.integer = r->integer;
  } else if (r->type == REDIS_REPLY_ARRAY) {
    out.elements.reserve(r->elements);
    for (std::size_t i = 0; i < r->elements; ++i)
      out.elements.push_back(convert(r->element[i]));
  }
  return out;
}

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

// The command's name for error messages (never its arguments: they may hold a password).
std::string name_of(const std::vector<std::string>& args) {
  return args.empty() ? std::string("(empty)") : args.front();
}

constexpr std::size_t kPipelineChunk = 1000;

}  // namespace

RedisClient::RedisClient(const config::Redis& cfg, std::chrono::milliseconds timeout) {
  const timeval tv = to_timeval(timeout);
  if (!cfg.unix_socket.empty()) {
    address_ = "unix:" + cfg.unix_socket;
    c_ = redisConnectUnixWithTimeout(cfg.unix_socket.c_str(), tv);
  } else {
    address_ = cfg.host + ":" + std::to_string(cfg.port);
    c_ = redisConnectWithTimeout(cfg.host.c_str(), cfg.port, tv);
  }
  if (c_ == nullptr) throw RedisError("cannot connect to Redis at " + address_ + ": out of memory");
  if (c_->err) {
    const std::string err = c_->errstr;
    redisFree(c_);
    c_ = nullptr;
    throw RedisError("cannot connect to Redis at " + address_ + ": " + err);
  }
  // A constructor that throws runs no destructor: free the context on the way out.
  try {
    if (redisSetTimeout(c_, tv) != REDIS_OK) fail("cannot set the socket timeout");
    if (!cfg.password.empty()) {
      const RReply r = [&] {
        append({"AUTH", cfg.password});
        return read_reply();
      }();
      if (r.error()) fail("AUTH failed (redis.password): " + r.str);
    }
    if (cfg.db != 0) cmd({"SELECT", std::to_string(cfg.db)});
  } catch (...) {
    redisFree(c_);
    c_ = nullptr;
    throw;
  }
}

RedisClient::~RedisClient() {
  if (c_) redisFree(c_);
}

void RedisClient::fail(const std::string& what) {
  throw RedisError("Redis at " + address_ + ": " + what);
}

void RedisClient::append(const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  if (redisAppendCommandArgv(c_, static_cast<int>(argv.size()), argv.data(), lens.data()) !=
      REDIS_OK) {
    fail(c_->errstr);
  }
}

RReply RedisClient::read_reply() {
  void* raw = nullptr;
  if (redisGetReply(c_, &raw) != REDIS_OK || raw == nullptr) {
    fail(c_->err ? std::string(c_->errstr) : std::string("connection lost"));
  }
  auto* r = static_cast<redisReply*>(raw);
  RReply out = convert(r);
  freeReplyObject(r);
  return out;
}

RReply RedisClient::cmd(const std::vector<std::string>& args) {
  append(args);
  RReply r = read_reply();
  if (r.error()) fail(name_of(args) + ": " + r.str);
  return r;
}

std::vector<RReply> RedisClient::pipeline(const std::vector<std::vector<std::string>>& cmds) {
  std::vector<RReply> out;
  out.reserve(cmds.size());
  std::string first_error;
  for (std::size_t at = 0; at < cmds.size(); at += kPipelineChunk) {
    const std::size_t end = std::min(cmds.size(), at + kPipelineChunk);
    for (std::size_t i = at; i < end; ++i)
      append(cmds[i]);
    for (std::size_t i = at; i < end; ++i) {
      out.push_back(read_reply());
      if (out.back().error() && first_error.empty()) {
        first_error = name_of(cmds[i]) + ": " + out.back().str;
      }
    }
  }
  if (!first_error.empty()) fail(first_error);
  return out;
}

}  // namespace wa::cli
