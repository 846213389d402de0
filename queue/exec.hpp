// Awaitable helpers over redis::Connection: pipelined batches that throw on an unknown outcome,
// and Lua scripts run by their sha with a transparent fallback when Redis lost its script cache.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "queue/redis.hpp"
#include "queue/scripts.hpp"

namespace wa::queue {

namespace asio = boost::asio;
using redis::Command;
using redis::Reply;

// A command to send: plain, or a script invocation (EVALSHA, resent as EVAL on NOSCRIPT).
struct Call {
  Command cmd;
  const Script* script = nullptr;
};

Call script_call(const Script& s, const std::vector<std::string>& keys,
                 std::vector<std::string> args);
inline Call plain(Command c) {
  return Call{std::move(c), nullptr};
}

// Sends every call in one pipeline and returns one reply per call. Throws
// boost::system::system_error when the outcome is unknown (connection lost, timeout).
asio::awaitable<std::vector<Reply>> run(redis::Connection& conn, std::vector<Call> calls,
                                        std::chrono::milliseconds extra_timeout = {});

// The same for a single call.
asio::awaitable<Reply> run1(redis::Connection& conn, Call call,
                            std::chrono::milliseconds extra_timeout = {});

// Reply helpers.
std::string str_or(const Reply& r, std::string fallback = {});
long long int_or(const Reply& r, long long fallback = 0);
// A HGETALL reply as (field, value) pairs.
std::vector<std::pair<std::string, std::string>> pairs(const Reply& r);

}  // namespace wa::queue
