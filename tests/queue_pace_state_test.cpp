// The health cycle's reads of a session's pace state (queue/pace_state.hpp): the release counts
// and the stored factor parsed from the replies, and the factor's write.
#include "queue/pace_state.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

namespace wa::queue {
namespace {

Reply str(const std::string& s) {
  Reply r;
  r.type = Reply::Type::string;
  r.str = s;
  return r;
}

Reply hash(const std::vector<std::pair<std::string, std::string>>& fields) {
  Reply r;
  r.type = Reply::Type::array;
  for (const auto& [k, v] : fields) {
    r.elements.push_back(str(k));
    r.elements.push_back(str(v));
  }
  return r;
}

constexpr double kNow = 1'800'000'030.0;  // 30 s into minute 30'000'000
const std::string kMinute = "30000000";

std::string minute(int minutes_ago) {
  return std::to_string(30'000'000 - minutes_ago);
}

TEST(PaceStateTest, CountsTheHoursMinutesOlderThanTheGrace) {
  const Reply r[2] = {hash({{minute(70), "100"},  // before the hour
                            {minute(50), "3"},
                            {minute(10), "4"},
                            {minute(2), "8"},  // within the grace
                            {kMinute, "16"}}),
                      str("0.5")};
  const PaceState st = parse_pace_state(r, kNow, 300);
  EXPECT_EQ(st.releases, 7u);
  ASSERT_TRUE(st.factor);
  EXPECT_DOUBLE_EQ(*st.factor, 0.5);
}

TEST(PaceStateTest, UnreadableFieldsCountNothingAndAnAbsentFactorIsNullopt) {
  const Reply r[2] = {hash({{"x", "5"},
                            {minute(10) + "x", "5"},
                            {minute(11), "-3"},
                            {minute(12), "abc"},
                            {minute(13), "2"}}),
                      Reply{}};  // nil: no factor
  const PaceState st = parse_pace_state(r, kNow, 300);
  EXPECT_EQ(st.releases, 2u);
  EXPECT_FALSE(st.factor);
}

TEST(PaceStateTest, AFactorThatIsNotANumberIsNaNAndAMissingHashCountsNothing) {
  Reply error;
  error.type = Reply::Type::error;
  error.str = "WRONGTYPE";
  const Reply r[2] = {error, str("fast")};
  const PaceState st = parse_pace_state(r, kNow, 300);
  EXPECT_EQ(st.releases, 0u);
  ASSERT_TRUE(st.factor);
  EXPECT_TRUE(std::isnan(*st.factor));
}

TEST(PaceStateTest, ReadsAndWrite) {
  const Keys keys("p:", "q");
  std::vector<Call> reads;
  add_pace_state_reads(reads, keys, "s1");
  ASSERT_EQ(reads.size(), kPaceStateReads);
  EXPECT_EQ(reads[0].cmd, (redis::Command{"HGETALL", "p:wa:stats:released:s1"}));
  EXPECT_EQ(reads[1].cmd, (redis::Command{"HGET", "p:wa:pace:s1", "factor"}));
  EXPECT_EQ(factor_write(keys, "s1", 0.6000000000000001).cmd,
            (redis::Command{"HSET", "p:wa:pace:s1", "factor", "0.6"}));
  EXPECT_EQ(factor_write(keys, "s1", 0.125).cmd,
            (redis::Command{"HSET", "p:wa:pace:s1", "factor", "0.125"}));
}

}  // namespace
}  // namespace wa::queue
