#include "queue/exec.hpp"

#include <boost/asio/as_tuple.hpp>
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

asio::awaitable<std::vector<Reply>> run(redis::Connection& conn, std::vector<Call> calls,
                                        std::chrono::milliseconds extra_timeout) {
  std::vector<Command> cmds;
  cmds.reserve(calls.size());
  for (auto& c : calls) {
    if (c.script) {
      cmds.push_back(c.cmd);  // kept: a NOSCRIPT call is resent
    } else {
      cmds.push_back(std::move(c.cmd));
    }
  }
  auto [ec, replies] =
      co_await conn.async_exec(std::move(cmds), asio::as_tuple(asio::use_awaitable), extra_timeout);
  if (ec) throw boost::system::system_error(ec);

  std::vector<std::size_t> missing;
  for (std::size_t i = 0; i < replies.size(); ++i) {
    if (calls[i].script && replies[i].is_error() && replies[i].str.starts_with("NOSCRIPT")) {
      missing.push_back(i);
    }
  }
  if (!missing.empty()) {
    std::vector<Command> again;
    for (const std::size_t i : missing) {
      Command c = std::move(calls[i].cmd);
      c[0] = "EVAL";
      c[1] = calls[i].script->source;
      again.push_back(std::move(c));
    }
    auto [ec2, r2] = co_await conn.async_exec(std::move(again), asio::as_tuple(asio::use_awaitable),
                                              extra_timeout);
    if (ec2) throw boost::system::system_error(ec2);
    for (std::size_t k = 0; k < missing.size(); ++k)
      replies[missing[k]] = std::move(r2[k]);
  }
  co_return replies;
}

asio::awaitable<Reply> run1(redis::Connection& conn, Call call,
                            std::chrono::milliseconds extra_timeout) {
  std::vector<Call> calls;
  calls.push_back(std::move(call));
  auto replies = co_await run(conn, std::move(calls), extra_timeout);
  co_return std::move(replies.front());
}

std::string str_or(const Reply& r, std::string fallback) {
  return r.is_string() ? r.str : std::move(fallback);
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

std::vector<std::pair<std::string, std::string>> pairs(const Reply& r) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!r.is_array()) return out;
  for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2) {
    out.emplace_back(r.elements[i].str, r.elements[i + 1].str);
  }
  return out;
}

}  // namespace wa::queue
