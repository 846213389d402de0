// Redis Cluster, the pure parts (CONTRACT.md section 11): key slots and hash tags, the
// CLUSTER SLOTS reply, and the MOVED / ASK redirections. No I/O: the connection feeds replies in.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wa::redis::cluster {

inline constexpr int kSlots = 16384;

// CRC16-XMODEM (polynomial 0x1021, initial value 0), the checksum Redis Cluster hashes keys with.
std::uint16_t crc16(std::string_view data) noexcept;

// The slot of a key, exactly as Redis computes it: when the key holds a '{' followed later by a
// '}' with at least one byte between them, only the bytes between the first '{' and the first
// '}' after it are hashed; otherwise the whole key.
int key_slot(std::string_view key) noexcept;

// The hash tag every key `prefix + anything` has, whatever `anything` is: set when the prefix
// holds a '{' and, after it, a '}' with at least one byte between (the tag is what lies between
// the first '{' and the first '}' after it). Empty otherwise: the keys' slots would then depend
// on the rest of each key.
std::optional<std::string> hash_tag(std::string_view prefix);

// A node's address. An empty host means "the host of the node that sent it" (Redis 7 sends an
// empty or unknown endpoint when the node does not know its own): see with_host().
struct Address {
  std::string host;
  int port = 0;
  bool operator==(const Address&) const = default;
};
// "host:port", with the host bracketed when it is an IPv6 address ("[::1]:7000").
std::string to_string(const Address& a);
// `a` with an empty host replaced by `asked`'s host (the node that gave the address).
Address with_host(Address a, const Address& asked);

// A reply as a plain tree (the connection converts its own reply type with to_tree()).
struct Tree {
  enum class Kind { nil, string, integer, array, error };
  Kind kind = Kind::nil;
  std::string str;  // string and error replies
  long long integer = 0;
  std::vector<Tree> elements;
};

// Any reply type with is_nil/is_error/is_string/is_integer/is_array, str, integer and elements
// (redis/reply.hpp's Reply) as a Tree.
template <typename R>
Tree to_tree(const R& r) {
  Tree t;
  if (r.is_error()) {
    t.kind = Tree::Kind::error;
    t.str = r.str;
  } else if (r.is_string()) {
    t.kind = Tree::Kind::string;
    t.str = r.str;
  } else if (r.is_integer()) {
    t.kind = Tree::Kind::integer;
    t.integer = r.integer;
  } else if (r.is_array()) {
    t.kind = Tree::Kind::array;
    t.elements.reserve(r.elements.size());
    for (const auto& e : r.elements)
      t.elements.push_back(to_tree(e));
  }
  return t;
}

// One entry of CLUSTER SLOTS: slots first … last (inclusive) and the nodes that serve them.
struct SlotRange {
  int first = 0;
  int last = 0;
  Address master;
  std::vector<Address> replicas;
  bool operator==(const SlotRange&) const = default;
};

struct SlotMap {
  std::vector<SlotRange> ranges;
  std::string error;  // non-empty: the reply was not a CLUSTER SLOTS reply (says why)
};

// Parses the reply of CLUSTER SLOTS sent to `asked`. A node without a usable host (nil, "" or
// "?") is given `asked`'s host. An error reply, or a reply of another shape, fills `error`.
SlotMap parse_slots(const Tree& reply, const Address& asked);

// The master serving `slot`, if any range holds it.
std::optional<Address> master_for_slot(const SlotMap& map, int slot);

// A redirection: "MOVED <slot> <host>:<port>" (the slot lives there now: update the map) or
// "ASK <slot> <host>:<port>" (only this command, once, preceded by ASKING: the slot is being
// migrated). The host may be an unbracketed IPv6 address, or empty for `asked`'s host.
struct Redirect {
  enum class Kind { moved, ask };
  Kind kind = Kind::moved;
  int slot = 0;
  Address to;
  bool operator==(const Redirect&) const = default;
};

// The redirection an error reply's text (without the leading '-') asks for, or nullopt when
// the text is no MOVED / ASK error or is malformed.
std::optional<Redirect> parse_redirect(std::string_view error, const Address& asked);

}  // namespace wa::redis::cluster
