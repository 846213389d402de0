// Reconnect backoff and per-request deadlines, with the randomness and the time passed in.
#include <gtest/gtest.h>

#include "redis/backoff.hpp"
#include "redis/deadlines.hpp"

namespace wa::redis {
namespace {

using namespace std::chrono_literals;

TEST(RedisBackoff, DoublesUpToTheCapWithJitterBetweenHalfAndAll) {
  Backoff b(100ms, 1000ms);
  EXPECT_EQ(b.next(0.999999), 99ms);  // the whole of 100 ms (truncated)
  EXPECT_EQ(b.next(0.0), 100ms);      // half of 200 ms
  EXPECT_EQ(b.next(0.5), 300ms);      // three quarters of 400 ms
  EXPECT_EQ(b.next(0.0), 400ms);      // half of 800 ms
  EXPECT_EQ(b.next(0.0), 500ms);      // capped at 1000 ms
  EXPECT_EQ(b.next(0.0), 500ms);
}

TEST(RedisBackoff, ResetStartsAgainAtTheMinimum) {
  Backoff b(100ms, 1000ms);
  b.next(0.0);
  b.next(0.0);
  b.reset();
  EXPECT_EQ(b.next(0.0), 50ms);
}

TEST(RedisDeadlines, TheFirstExpiredBatchInSendingOrder) {
  const Deadlines::Clock::time_point t0{};
  Deadlines d;
  EXPECT_FALSE(d.next());
  EXPECT_FALSE(d.expired(t0 + 1h));
  d.push(t0 + 5s);
  d.push(t0 + 35s);  // a blocking command with extra time
  d.push(t0 + 6s);
  EXPECT_EQ(d.next(), t0 + 5s);
  EXPECT_FALSE(d.expired(t0 + 4s));
  EXPECT_EQ(d.expired(t0 + 5s), 0u);
  d.pop();
  EXPECT_EQ(d.next(), t0 + 6s);
  EXPECT_EQ(d.expired(t0 + 7s), 1u);
  d.clear();
  EXPECT_EQ(d.size(), 0u);
}

}  // namespace
}  // namespace wa::redis
