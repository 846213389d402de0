// The unit of the queue's zset scores (queue/score.hpp, CONTRACT.md section 1): Unix seconds with
// a fraction for milliseconds, as Laravel scores :reserved and :delayed.
#include <gtest/gtest.h>

#include "queue/score.hpp"

namespace wa::queue {
namespace {

TEST(QueueScore, IsUnixSecondsWithThreeDecimals) {
  EXPECT_EQ(queue_score(1764072000123), "1764072000.123");
  EXPECT_EQ(queue_score(1764072000000), "1764072000.000");
  EXPECT_EQ(queue_score(1764072000005), "1764072000.005");
  EXPECT_EQ(queue_score(1764072000050), "1764072000.050");
  EXPECT_EQ(queue_score(0), "0.000");
  EXPECT_EQ(queue_score(999), "0.999");
  EXPECT_EQ(queue_score(-1500), "-1.500");
}

TEST(QueueScore, OfSecondsRoundsToTheMillisecond) {
  EXPECT_EQ(queue_score_of_seconds(1764072000.1234), "1764072000.123");
  EXPECT_EQ(queue_score_of_seconds(1764072000.9996), "1764072001.000");
  EXPECT_EQ(queue_score_of_seconds(1764072300.5), "1764072300.500");
  EXPECT_EQ(queue_score_of_seconds(1764072000), "1764072000.000");  // Laravel's whole seconds
}

}  // namespace
}  // namespace wa::queue
