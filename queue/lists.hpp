// Bounded reads of lists shared by the daemon's loops: lengths, and the heads of lists.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "redis/connection.hpp"

namespace wa::queue {

namespace asio = boost::asio;

// LLEN of each key, in one pipeline: 0 for a missing key, a key of another type or an error.
// Throws like queue::run on an unknown outcome.
asio::awaitable<std::vector<std::uint64_t>> list_lengths(redis::Connection& conn,
                                                         std::vector<std::string> keys);

// LRANGE key 0 limit-1 of each key, in one pipeline: the items of a list (none for a missing key
// or a key of another type).
asio::awaitable<std::vector<std::vector<std::string>>> list_heads(
    redis::Connection& conn, const std::vector<std::string>& keys, long long limit);

}  // namespace wa::queue
