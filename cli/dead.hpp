// Pieces shared by the dead list commands (dead.cpp: list and purge; dead_retry.cpp: retry).
#pragma once

#include <string>

#include "cli/cli.hpp"
#include "core/job.hpp"

namespace wa::cli {

// The most entries read, or moved, per Redis call: what bounds the command line's memory and
// every Lua step, whatever the dead list's length.
constexpr long long kDeadPage = 500;

// One entry of the dead list (CONTRACT.md section 5), parsed.
struct DeadEntry {
  long long index = 0;  // its position in the dead list when read
  std::string raw;
  bool readable = false;  // a JSON object with payload or payload_base64
  bool base64 = false;
  std::string payload;
  std::string error;
  std::string failed_at;
  core::ParsedJob job;
};

DeadEntry parse_entry(long long index, std::string raw);

// `queues:<name>:dead:held`: the entries `dead retry` has looked at and keeps (invalid ones,
// other jobs'), set aside in order while it works through the head of the dead list, and put
// back in front of it when it is done. The dead list, as the operator sees it, is this list
// followed by the dead list itself; it is empty except while a retry runs, or after one was
// killed (the next `dead retry` puts the entries back first).
std::string held_key(Context& ctx);

// Moves every held entry back to the head of the dead list, keeping their order, kDeadPage per
// Lua step; returns how many.
long long restore_held(Context& ctx);

}  // namespace wa::cli
