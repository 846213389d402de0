#include "cli/sync_redis.hpp"

#include <optional>
#include <utility>

#include "config/endpoint.hpp"

namespace wa::cli {

namespace {

// The command's name for error messages (never its arguments: they may hold a password).
std::string name_of(const redis::Command& args) {
  return args.empty() ? std::string("(empty)") : args.front();
}

std::string address_of(const redis::Endpoint& ep) {
  if (!ep.sentinels.empty()) return ep.describe();
  if (!ep.unix_socket.empty()) return "unix:" + ep.unix_socket;
  return ep.host + ":" + std::to_string(ep.port);
}

// The connection's reason for a failed attempt, without its "; retrying in N ms" (the command
// line does not retry) nor a repeated "cannot connect to <address>: ", and AUTH failures named
// after the settings to check.
std::string reason_of(std::string why, const std::string& address, const redis::Endpoint& ep) {
  if (const auto at = why.find("; retrying in "); at != std::string::npos) why.resize(at);
  if (const std::string again = "cannot connect to " + address + ": "; why.starts_with(again)) {
    why.erase(0, again.size());
  }
  const std::string auth = "authentication failed: ";
  if (why.starts_with(auth)) {
    const char* keys = ep.username.empty() ? "redis.password" : "redis.username, redis.password";
    return "AUTH failed (" + std::string(keys) + "): " + why.substr(auth.size());
  }
  return why;
}

constexpr std::size_t kPipelineChunk = 1000;

}  // namespace

SyncRedis::SyncRedis(const config::Redis& cfg, std::chrono::milliseconds timeout) {
  redis::Endpoint ep = config::endpoint_of(cfg);
  ep.connect_timeout = timeout;
  ep.command_timeout = timeout;
  address_ = address_of(ep);
  conn_ = redis::Connection::create(io_.get_executor(), std::move(ep), "cli");
  connect();
}

SyncRedis::~SyncRedis() {
  conn_->on_state(nullptr);
  conn_->stop();
}

void SyncRedis::connect() {
  std::optional<std::string> failed;
  bool ready = false;
  conn_->on_state([&](bool up, const std::string& why) {
    if (up) {
      ready = true;
    } else if (!ready) {
      failed = why;
    }
  });
  conn_->start();
  while (!ready && !failed) {
    if (io_.run_one() == 0) failed = "the event loop stopped";
  }
  conn_->on_state(nullptr);
  if (failed) {
    conn_->stop();
    throw RedisError("cannot connect to Redis at " + address_ + ": " +
                     reason_of(*failed, address_, conn_->endpoint()));
  }
}

void SyncRedis::fail(const std::string& what) {
  throw RedisError("Redis at " + address_ + ": " + what);
}

std::vector<redis::Reply> SyncRedis::exec(std::vector<redis::Command> batch) {
  std::optional<redis::error_code> done;
  std::vector<redis::Reply> replies;
  conn_->async_exec(std::move(batch), [&](redis::error_code ec, std::vector<redis::Reply> r) {
    done = ec;
    replies = std::move(r);
  });
  while (!done) {
    if (io_.run_one() == 0) fail("the event loop stopped");
  }
  if (*done) fail(done->message());
  return replies;
}

redis::Reply SyncRedis::cmd(const redis::Command& command) {
  std::vector<redis::Reply> r = exec({command});
  if (r.size() != 1) fail(name_of(command) + ": no reply");
  if (r.front().is_error()) fail(name_of(command) + ": " + r.front().str);
  return std::move(r.front());
}

std::vector<redis::Reply> SyncRedis::cmds(const std::vector<redis::Command>& commands) {
  std::vector<redis::Reply> out;
  out.reserve(commands.size());
  std::string first_error;
  for (std::size_t at = 0; at < commands.size(); at += kPipelineChunk) {
    const std::size_t end = std::min(commands.size(), at + kPipelineChunk);
    std::vector<redis::Reply> r = exec({commands.begin() + at, commands.begin() + end});
    if (r.size() != end - at) fail(name_of(commands[at]) + ": missing replies");
    for (std::size_t i = at; i < end; ++i) {
      out.push_back(std::move(r[i - at]));
      if (out.back().is_error() && first_error.empty()) {
        first_error = name_of(commands[i]) + ": " + out.back().str;
      }
    }
  }
  if (!first_error.empty()) fail(first_error);
  return out;
}

}  // namespace wa::cli
