#include "redis/cluster.hpp"

#include <array>
#include <charconv>

namespace wa::redis::cluster {

namespace {

constexpr std::array<std::uint16_t, 256> make_crc_table() {
  std::array<std::uint16_t, 256> table{};
  for (unsigned i = 0; i < 256; ++i) {
    auto crc = static_cast<std::uint16_t>(i << 8);
    for (int bit = 0; bit < 8; ++bit)
      crc = static_cast<std::uint16_t>((crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1);
    table[i] = crc;
  }
  return table;
}

constexpr std::array<std::uint16_t, 256> kCrcTable = make_crc_table();

// The bytes Redis hashes for `key`: the tag (see key_slot), else the whole key.
std::string_view hashed_part(std::string_view key) {
  const auto open = key.find('{');
  if (open == std::string_view::npos) return key;
  const auto close = key.find('}', open + 1);
  if (close == std::string_view::npos || close == open + 1) return key;
  return key.substr(open + 1, close - open - 1);
}

bool parse_int(std::string_view text, int& out) {
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

// "host:port" split at the last colon (an IPv6 host is not bracketed in Redis's errors; a
// bracketed one is accepted too). The host may be empty.
std::optional<Address> parse_address(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  Address a;
  if (!parse_int(text.substr(colon + 1), a.port) || a.port < 1 || a.port > 65535) {
    return std::nullopt;
  }
  std::string_view host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  a.host = std::string(host);
  return a;
}

// One node of a CLUSTER SLOTS entry: [host, port, id?, metadata?].
std::optional<Address> parse_node(const Tree& node, const Address& asked) {
  if (node.kind != Tree::Kind::array || node.elements.size() < 2) return std::nullopt;
  const Tree& host = node.elements[0];
  const Tree& port = node.elements[1];
  if (port.kind != Tree::Kind::integer || port.integer < 1 || port.integer > 65535) {
    return std::nullopt;
  }
  Address a;
  a.port = static_cast<int>(port.integer);
  if (host.kind == Tree::Kind::string) {
    a.host = host.str == "?" ? std::string() : host.str;
  } else if (host.kind != Tree::Kind::nil) {
    return std::nullopt;
  }
  return with_host(std::move(a), asked);
}

std::optional<SlotRange> parse_range(const Tree& entry, const Address& asked) {
  if (entry.kind != Tree::Kind::array || entry.elements.size() < 3) return std::nullopt;
  const Tree& first = entry.elements[0];
  const Tree& last = entry.elements[1];
  if (first.kind != Tree::Kind::integer || last.kind != Tree::Kind::integer || first.integer < 0 ||
      last.integer < first.integer || last.integer >= kSlots) {
    return std::nullopt;
  }
  SlotRange range;
  range.first = static_cast<int>(first.integer);
  range.last = static_cast<int>(last.integer);
  auto master = parse_node(entry.elements[2], asked);
  if (!master) return std::nullopt;
  range.master = std::move(*master);
  for (std::size_t i = 3; i < entry.elements.size(); ++i) {
    auto replica = parse_node(entry.elements[i], asked);
    if (!replica) return std::nullopt;
    range.replicas.push_back(std::move(*replica));
  }
  return range;
}

}  // namespace

std::uint16_t crc16(std::string_view data) noexcept {
  std::uint16_t crc = 0;
  for (const char c : data) {
    const auto byte = static_cast<unsigned char>(c);
    crc = static_cast<std::uint16_t>((crc << 8) ^ kCrcTable[((crc >> 8) ^ byte) & 0xff]);
  }
  return crc;
}

int key_slot(std::string_view key) noexcept {
  return crc16(hashed_part(key)) & (kSlots - 1);
}

std::optional<std::string> hash_tag(std::string_view prefix) {
  const auto open = prefix.find('{');
  if (open == std::string_view::npos) return std::nullopt;
  const auto close = prefix.find('}', open + 1);
  if (close == std::string_view::npos || close == open + 1) return std::nullopt;
  return std::string(prefix.substr(open + 1, close - open - 1));
}

std::string to_string(const Address& a) {
  const bool ipv6 = a.host.find(':') != std::string::npos;
  return (ipv6 ? "[" + a.host + "]" : a.host) + ":" + std::to_string(a.port);
}

Address with_host(Address a, const Address& asked) {
  if (a.host.empty()) a.host = asked.host;
  return a;
}

SlotMap parse_slots(const Tree& reply, const Address& asked) {
  SlotMap map;
  if (reply.kind == Tree::Kind::error) {
    map.error = "CLUSTER SLOTS failed: " + reply.str;
    return map;
  }
  if (reply.kind != Tree::Kind::array) {
    map.error = "CLUSTER SLOTS: expected an array reply";
    return map;
  }
  for (std::size_t i = 0; i < reply.elements.size(); ++i) {
    auto range = parse_range(reply.elements[i], asked);
    if (!range) {
      map.ranges.clear();
      map.error = "CLUSTER SLOTS: entry " + std::to_string(i) + " is malformed";
      return map;
    }
    map.ranges.push_back(std::move(*range));
  }
  return map;
}

std::optional<Address> master_for_slot(const SlotMap& map, int slot) {
  for (const SlotRange& r : map.ranges) {
    if (slot >= r.first && slot <= r.last) return r.master;
  }
  return std::nullopt;
}

std::optional<Redirect> parse_redirect(std::string_view error, const Address& asked) {
  Redirect r;
  if (error.starts_with("MOVED ")) {
    r.kind = Redirect::Kind::moved;
    error.remove_prefix(6);
  } else if (error.starts_with("ASK ")) {
    r.kind = Redirect::Kind::ask;
    error.remove_prefix(4);
  } else {
    return std::nullopt;
  }
  const auto space = error.find(' ');
  if (space == std::string_view::npos || !parse_int(error.substr(0, space), r.slot) || r.slot < 0 ||
      r.slot >= kSlots) {
    return std::nullopt;
  }
  auto to = parse_address(error.substr(space + 1));
  if (!to) return std::nullopt;
  r.to = with_host(std::move(*to), asked);
  return r;
}

}  // namespace wa::redis::cluster
