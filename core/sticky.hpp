// Sticky senders (CONTRACT.md section 10): balancing when some contacts already belong to a
// session. A contact whose sticky session is eligible goes to it; the others are spread by the
// strategy so that each session's total (sticky + new) is as close to its share as the
// largest-remainder rule allows. Pure: the daemon reads wa:sticky:<workspace> (queue/).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/types.hpp"

namespace wa::core {

// An input position that is not sticky to an eligible session (or to any session).
inline constexpr std::uint16_t kNotSticky = 0xFFFF;

// What wa:sticky:<workspace> says about a job's contacts: the distinct session ids it names, and
// for each input position the index of its session among them (or kNotSticky).
struct StickyContacts {
  std::vector<std::string> sessions;
  std::vector<std::uint16_t> at;
  // Why the hash could not be read (a key of another type): nothing is sticky, and the job
  // writes nothing to it either (a write would fail after the dispatch lists are written).
  std::string error;
  bool any() const noexcept { return !sessions.empty(); }
};

// The new (not sticky) contacts each session gets, given each session's sticky contacts, so that
// sticky + new is the largest-remainder share of n wherever that can be reached (exactly, when no
// session's sticky contacts exceed its share). Otherwise the sessions with sticky contacts at or
// past their share get no new ones, and the shares of the others are computed again over what is
// left, until every remaining session is at or below its share.
std::vector<std::uint64_t> fill_shares(std::uint64_t n, std::span<const double> weights,
                                       std::span<const std::uint64_t> sticky);

struct StickyAllocation {
  std::vector<std::uint64_t> counts;  // per session: sticky + new
  std::vector<std::uint16_t> owner;   // per input position: the index of its session
};

// `sticky[p]` is the index (into `sessions`, tier order) of the session position p is sticky to,
// or kNotSticky. weighted_capacity and health_score give each session the next contiguous block
// of the not-sticky contacts (fill_shares); round_robin deals the not-sticky contacts in turn.
StickyAllocation allocate_sticky(std::span<const std::uint16_t> sticky,
                                 std::span<const Session* const> sessions, TemplateMode mode,
                                 const config::LoadBalancing& lb);

// Maps a job's sticky contacts onto `eligible` (tier order): positions sticky to a session that
// is not eligible become kNotSticky. Empty when no position is sticky to an eligible session.
std::vector<std::uint16_t> sticky_positions(const StickyContacts& sc,
                                            std::span<const Session* const> eligible);

}  // namespace wa::core
