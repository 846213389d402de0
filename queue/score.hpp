// The unit of the queue's zset scores (CONTRACT.md section 1): the lease expiries of
// `queues:<name>:reserved` and the due times of `queues:<name>:delayed` are Unix seconds, with a
// fraction for milliseconds, as Laravel scores them (its `later()` and pop script write whole
// seconds). Every score of those two zsets the daemon writes or compares goes through here.
// (`wa:campaigns:active` is scored in milliseconds: section 4, not this unit.)
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

namespace wa::queue {

// The score of a Unix time in milliseconds: "1764072000.123" (always three decimals).
inline std::string queue_score(std::int64_t unix_ms) {
  const bool negative = unix_ms < 0;
  const std::uint64_t abs_ms =
      negative ? 0 - static_cast<std::uint64_t>(unix_ms) : static_cast<std::uint64_t>(unix_ms);
  const std::uint64_t frac = abs_ms % 1000;
  std::string s = negative ? "-" : "";
  s += std::to_string(abs_ms / 1000);
  s += '.';
  s += static_cast<char>('0' + frac / 100);
  s += static_cast<char>('0' + frac / 10 % 10);
  s += static_cast<char>('0' + frac % 10);
  return s;
}

// The score of a Unix time in seconds, rounded to the millisecond.
inline std::string queue_score_of_seconds(double unix_seconds) {
  return queue_score(static_cast<std::int64_t>(std::llround(unix_seconds * 1000.0)));
}

}  // namespace wa::queue
