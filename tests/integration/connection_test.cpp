// Connection settings end to end: TCP with AUTH and SELECT, and a wrong password that keeps the
// daemon retrying (never exiting) until the server accepts it.
#include <gtest/gtest.h>

#include <string>

#include "fault_util.hpp"
#include "harness.hpp"

namespace wa::test {
namespace {

using fault::free_port;

// A redis-server on a TCP port with a password, plus a unix socket for the test's own client
// (which set the password, so that its connection stays authenticated).
class PasswordRedis {
 public:
  PasswordRedis(const TempDir& dir, int port)
      : server_(dir, "pw", port), client_(server_.socket()) {
    client_.cmd({"CONFIG", "SET", "requirepass", "s3cret"});
  }
  Client& client() { return client_; }
  const std::string& socket() const { return server_.socket(); }

 private:
  TcpRedis server_;
  Client client_;
};

TEST(Connection, TcpWithPasswordAndDatabase) {
  TempDir dir;
  const int port = free_port();
  PasswordRedis redis(dir, port);
  Client& c = redis.client();
  c.cmd({"SELECT", "3"});
  seed_session(c, {.id = "s1", .primary = true});
  c.cmd(
      {"RPUSH", "queues:wa-campaigns",
       R"({"job_id":"tcp-1","campaign_id":1,"workspace_id":"1","template_mode":"direct","contacts":[5]})"});
  Daemon d(
      dir, redis.socket(),
      "redis: {host: localhost, port: " + std::to_string(port) + ", password: s3cret, db: 3}\n");
  d.start();
  ASSERT_TRUE(wait_until([&] { return c.integer({"LLEN", "wa:results"}) == 1; })) << d.log();
  EXPECT_EQ(c.list("wa:dispatch:1:s1"), std::vector<std::string>{"5"});
  c.cmd({"SELECT", "0"});
  EXPECT_EQ(c.integer({"DBSIZE"}), 0) << "the daemon wrote outside db 3";
  EXPECT_EQ(d.stop(), 0) << d.log();
}

TEST(Connection, WrongPasswordKeepsRetryingUntilAccepted) {
  TempDir dir;
  const int port = free_port();
  PasswordRedis redis(dir, port);
  Client& c = redis.client();
  seed_session(c, {.id = "s1", .primary = true});
  c.cmd(
      {"RPUSH", "queues:wa-campaigns",
       R"({"job_id":"pw-1","campaign_id":2,"workspace_id":"1","template_mode":"direct","contacts":[7]})"});
  Daemon d(dir, redis.socket(),
           "redis: {host: 127.0.0.1, port: " + std::to_string(port) + ", password: wrong}\n");
  d.start();
  ASSERT_TRUE(wait_until([&] {
    return d.log().find("authentication failed: WRONGPASS") != std::string::npos;
  })) << d.log();
  EXPECT_TRUE(d.running());
  EXPECT_EQ(c.integer({"LLEN", "wa:results"}), 0);
  c.cmd({"CONFIG", "SET", "requirepass", "wrong"});  // the operator fixes the server side
  ASSERT_TRUE(wait_until(
      [&] {
        return c.integer({"LLEN", "wa:results"}) == 1;
      },
      std::chrono::seconds(15)))
      << d.log();
  EXPECT_EQ(d.stop(), 0) << d.log();
}

}  // namespace
}  // namespace wa::test
