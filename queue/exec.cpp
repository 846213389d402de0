#include "queue/exec.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

namespace wa::queue {

Call script_call(const Script& s, const std::vector<std::string>& keys,
                 std::vector<std::string> args) {
  Command c;
  c.reserve(3 + keys.size() + args.size());
  c.emplace_back("EVALSHA");
  c.push_back(s.sha);
  c.push_back(std::to_string(keys.size()));
  c.insert(c.end(), keys.begin(), keys.end());
  for (auto& a : args)
    c.push_back(std::move(a));
  return Call{std::move(c), &s};
}

struct Pending::State {
  explicit State(const asio::any_io_executor& ex) : timer(ex) {}
  asio::steady_timer timer;
  bool done = false;
  boost::system::error_code ec;
  std::vector<Reply> replies;
};

auto Pending::completion(const std::shared_ptr<State>& state) {
  return [st = state](boost::system::error_code ec, std::vector<Reply> replies) {
    st->done = true;
    st->ec = ec;
    st->replies = std::move(replies);
    st->timer.cancel();
  };
}

Pending::Pending(redis::Connection& conn, std::vector<Call> calls,
                 std::chrono::milliseconds extra_timeout)
    : conn_(&conn), extra_(extra_timeout) {
  std::vector<Command> cmds;
  cmds.reserve(calls.size());
  for (std::size_t i = 0; i < calls.size(); ++i) {
    if (calls[i].script) {
      cmds.push_back(calls[i].cmd);  // kept: a NOSCRIPT call is resent
      scripts_.emplace_back(i, std::move(calls[i]));
    } else {
      cmds.push_back(std::move(calls[i].cmd));
    }
  }
  state_ = std::make_shared<State>(conn.executor());
  conn.async_exec(std::move(cmds), completion(state_), extra_timeout);
}

Pending::Pending(redis::Connection& conn, redis::Wire wire, redis::Visitor visitor,
                 std::chrono::milliseconds extra_timeout)
    : conn_(&conn), extra_(extra_timeout), state_(std::make_shared<State>(conn.executor())) {
  conn.async_exec(std::move(wire), std::move(visitor), completion(state_), extra_timeout);
}

Pending::~Pending() = default;

asio::awaitable<std::vector<Reply>> Pending::get() {
  auto st = state_;
  while (!st->done) {
    st->timer.expires_at(asio::steady_timer::time_point::max());
    boost::system::error_code ignored;
    co_await st->timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
  if (st->ec) throw boost::system::system_error(st->ec);
  std::vector<Reply> replies = std::move(st->replies);

  std::vector<Command> again;
  std::vector<std::size_t> missing;
  for (auto& [i, call] : scripts_) {
    if (replies[i].is_error() && replies[i].str.starts_with("NOSCRIPT")) {
      Command c = std::move(call.cmd);
      c[0] = "EVAL";
      c[1] = call.script->source;
      again.push_back(std::move(c));
      missing.push_back(i);
    }
  }
  if (!missing.empty()) {
    auto [ec2, r2] =
        co_await conn_->async_exec(std::move(again), asio::as_tuple(asio::use_awaitable), extra_);
    if (ec2) throw boost::system::system_error(ec2);
    for (std::size_t k = 0; k < missing.size(); ++k)
      replies[missing[k]] = std::move(r2[k]);
  }
  co_return replies;
}

asio::awaitable<std::vector<Reply>> run(redis::Connection& conn, std::vector<Call> calls,
                                        std::chrono::milliseconds extra_timeout) {
  Pending p(conn, std::move(calls), extra_timeout);
  co_return co_await p.get();
}

asio::awaitable<Reply> run1(redis::Connection& conn, Call call,
                            std::chrono::milliseconds extra_timeout) {
  std::vector<Call> calls;
  calls.push_back(std::move(call));
  auto replies = co_await run(conn, std::move(calls), extra_timeout);
  co_return std::move(replies.front());
}

long long int_or(const Reply& r, long long fallback) {
  if (r.is_integer()) return r.integer;
  if (r.is_string()) {
    try {
      return std::stoll(r.str);
    } catch (...) {
      return fallback;
    }
  }
  return fallback;
}

std::vector<std::pair<std::string_view, std::string_view>> pairs(const Reply& r) {
  std::vector<std::pair<std::string_view, std::string_view>> out;
  if (!r.is_array()) return out;
  out.reserve(r.elements.size() / 2);
  for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2) {
    out.emplace_back(r.elements[i].str, r.elements[i + 1].str);
  }
  return out;
}

}  // namespace wa::queue
