// Sticky senders (CONTRACT.md section 10): what wa:sticky:<workspace> says about a job's
// contacts, read in bounded commands before the job is balanced.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "core/sticky.hpp"
#include "redis/connection.hpp"

namespace wa::queue {

namespace asio = boost::asio;

// Contacts per HMGET, and list elements per LRANGE of the list reader.
inline constexpr std::size_t kStickyReadChunk = 1000;
inline constexpr std::uint64_t kStickyListChunk = 5000;

// One job's inline contacts and its workspace's sticky hash.
struct StickyRead {
  std::string key;
  const std::vector<std::string>* contacts = nullptr;
};

// Every read in one pipeline of HMGETs of at most kStickyReadChunk fields. A hash of another type
// reads as no sticky contact, its error kept in StickyContacts::error. Throws like queue::run on
// an unknown outcome.
asio::awaitable<std::vector<core::StickyContacts>> read_sticky(
    redis::Connection& conn, const std::vector<StickyRead>& reads);

// The same for the first `count` elements of the list `src`: an LRANGE per kStickyListChunk
// elements, whose ids go straight from the reply into that chunk's HMGETs (no Lua, no copy of
// the chunk); a few LRANGEs and HMGET batches in flight. Each command holds Redis well under a
// millisecond.
asio::awaitable<core::StickyContacts> read_sticky_list(redis::Connection& conn,
                                                       const std::string& key,
                                                       const std::string& src, std::uint64_t count);

}  // namespace wa::queue
