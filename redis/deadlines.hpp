// Per-request deadlines of the batches in flight on one connection, in the order they were
// sent (replies come back in that order, so batches complete first in, first out). Pure: the
// time is passed in.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <optional>

namespace wa::redis {

class Deadlines {
 public:
  using Clock = std::chrono::steady_clock;
  void push(Clock::time_point deadline) { d_.push_back(deadline); }
  void pop() { d_.pop_front(); }  // the oldest batch completed
  void clear() noexcept { d_.clear(); }
  std::size_t size() const noexcept { return d_.size(); }
  // The first batch (in sending order) whose deadline has passed at `now`.
  std::optional<std::size_t> expired(Clock::time_point now) const noexcept;
  // The earliest deadline still ahead (none when nothing is in flight).
  std::optional<Clock::time_point> next() const noexcept;

 private:
  std::deque<Clock::time_point> d_;
};

}  // namespace wa::redis
