// Reconnect delays: capped exponential with jitter. Pure: the caller passes the randomness.
#pragma once

#include <chrono>

namespace wa::redis {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds min, std::chrono::milliseconds max) noexcept
      : min_(min), max_(max), next_(min) {}
  // The delay before the next attempt, between half and all of the current step (`unit` is a
  // random number in [0, 1)); the step then doubles, up to max.
  std::chrono::milliseconds next(double unit) noexcept;
  void reset() noexcept { next_ = min_; }  // after a successful connection

 private:
  std::chrono::milliseconds min_, max_, next_;
};

}  // namespace wa::redis
