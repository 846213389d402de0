// Awaitable helpers over redis::Connection: pipelined batches that throw on an unknown outcome,
// and Lua scripts run by their sha with a transparent fallback when Redis lost its script cache.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "queue/scripts.hpp"
#include "redis/connection.hpp"

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

// A pipeline submitted when constructed and awaited later with get(), so that the caller can
// compute while Redis works (Connection::flush() puts it on the wire before the caller's next
// suspension). get() returns one reply per call, resending a script call that met NOSCRIPT as
// EVAL, and throws boost::system::system_error when the outcome is unknown (connection lost,
// timeout). get() is called at most once.
class Pending {
 public:
  Pending(redis::Connection& conn, std::vector<Call> calls,
          std::chrono::milliseconds extra_timeout = {});
  // Plain commands already in RESP, their replies read in place by `visitor` when given (see
  // redis::Visitor).
  Pending(redis::Connection& conn, redis::Wire wire, redis::Visitor visitor = {},
          std::chrono::milliseconds extra_timeout = {});
  Pending(Pending&&) noexcept = default;
  Pending& operator=(Pending&&) noexcept = default;
  ~Pending();
  asio::awaitable<std::vector<Reply>> get();

 private:
  struct State;
  static auto completion(const std::shared_ptr<State>& state);  // the batch's handler
  redis::Connection* conn_;
  std::chrono::milliseconds extra_;
  std::vector<std::pair<std::size_t, Call>> scripts_;  // script calls by index, for NOSCRIPT
  std::shared_ptr<State> state_;
};

// Sends every call in one pipeline and returns one reply per call. Throws
// boost::system::system_error when the outcome is unknown (connection lost, timeout).
asio::awaitable<std::vector<Reply>> run(redis::Connection& conn, std::vector<Call> calls,
                                        std::chrono::milliseconds extra_timeout = {});

// The same for a single call.
asio::awaitable<Reply> run1(redis::Connection& conn, Call call,
                            std::chrono::milliseconds extra_timeout = {});

// Reply helpers.
long long int_or(const Reply& r, long long fallback = 0);
// A HGETALL reply as (field, value) pairs viewing the reply's strings (keep the reply alive).
std::vector<std::pair<std::string_view, std::string_view>> pairs(const Reply& r);

}  // namespace wa::queue
