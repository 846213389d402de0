// The smallest end-to-end check: a job in, a decision and dispatch lists out.
#include <gtest/gtest.h>

#include "harness.hpp"

namespace wa::test {
namespace {

TEST(Smoke, DirectJobIsDispatchedToThePrimarySession) {
  TempDir dir;
  RedisServer redis(dir);
  Client c(redis.socket());
  seed_session(c, {.id = "s1", .primary = true});
  c.cmd(
      {"RPUSH", "queues:wa-campaigns",
       R"({"job_id":"j1","campaign_id":7,"workspace_id":"1","template_mode":"direct","contacts":[1,2,3]})"});
  c.cmd({"RPUSH", "queues:wa-campaigns:notify", "1"});
  Daemon d(dir, redis.socket());
  d.start();
  ASSERT_TRUE(wait_until([&] { return c.integer({"LLEN", "wa:results"}) == 1; })) << d.log();
  EXPECT_EQ(c.list("wa:dispatch:7:s1"), (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_EQ(c.integer({"LLEN", "queues:wa-campaigns"}), 0);
  EXPECT_EQ(c.integer({"ZCARD", "queues:wa-campaigns:reserved"}), 0);
  EXPECT_EQ(d.stop(), 0) << d.log();
}

}  // namespace
}  // namespace wa::test
