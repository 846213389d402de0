#include "queue/lists.hpp"

#include <algorithm>

#include "queue/exec.hpp"

namespace wa::queue {

asio::awaitable<std::vector<std::uint64_t>> list_lengths(redis::Connection& conn,
                                                         std::vector<std::string> keys) {
  std::vector<Call> calls;
  calls.reserve(keys.size());
  for (auto& k : keys)
    calls.push_back(plain({"LLEN", std::move(k)}));
  const auto replies = co_await run(conn, std::move(calls));
  std::vector<std::uint64_t> out;
  out.reserve(replies.size());
  for (const auto& r : replies)
    out.push_back(static_cast<std::uint64_t>(std::max(0LL, int_or(r, 0))));
  co_return out;
}

asio::awaitable<std::vector<std::vector<std::string>>> list_heads(
    redis::Connection& conn, const std::vector<std::string>& keys, long long limit) {
  std::vector<Call> calls;
  calls.reserve(keys.size());
  for (const auto& k : keys)
    calls.push_back(plain({"LRANGE", k, "0", std::to_string(limit - 1)}));
  const auto replies = co_await run(conn, std::move(calls));
  std::vector<std::vector<std::string>> out(replies.size());
  for (std::size_t i = 0; i < replies.size(); ++i) {
    if (!replies[i].is_array()) continue;
    for (const auto& e : replies[i].elements)
      out[i].push_back(e.str);
  }
  co_return out;
}

}  // namespace wa::queue
