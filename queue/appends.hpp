// Bounded appends: stage lists that the finish script could not rename into place (their
// dispatch list already existed) are appended to it here, a few thousand contacts per atomic step,
// so that no command holds Redis long whatever the campaign's size. Each step moves contacts from
// the stage's head to the list's tail at once: whatever is killed when, every contact is appended
// once and in order, and another daemon finishes what one left.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "queue/exec.hpp"
#include "queue/keys.hpp"

namespace wa::queue {

struct AppendReport {
  std::uint64_t appended = 0;       // stage lists appended whole
  std::vector<std::string> errors;  // a dispatch list of another type, say (the stage waits)
};

// Contacts moved per step (about half a millisecond of Redis; at 5,000 a step reached 11 ms on
// a loaded machine).
inline constexpr long long kAppendStep = 2000;

// Works through at most `entries` registered stages, oldest first.
asio::awaitable<AppendReport> run_appends(redis::Connection& conn, const Keys& keys,
                                          std::size_t entries);

}  // namespace wa::queue
