// redis::Connection against a real redis-server, in process: nothing is sent behind a blocking
// command, the error replies that refuse commands for the server's state are remembered, and a
// failed AUTH says so.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>

#include "harness.hpp"
#include "redis/connection.hpp"

namespace wa::test {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

struct Outcome {
  redis::error_code ec;
  std::vector<redis::Reply> replies;
};

class ConnectionTest : public ::testing::Test {
 protected:
  ConnectionTest() : redis_(dir_), c_(redis_.socket()) {}
  ~ConnectionTest() override {
    if (conn_) conn_->stop();
    io_.run_for(20ms);
  }

  void connect(const std::string& password = "") {
    redis::Endpoint ep;
    ep.unix_socket = redis_.socket();
    ep.password = password;
    conn_ = redis::Connection::create(io_.get_executor(), ep, "test");
    conn_->start();
    for (int i = 0; i < 100 && !conn_->ready(); ++i)
      io_.run_for(10ms);
  }

  // Submits now; the outcome is filled in while the io_context runs.
  std::shared_ptr<std::optional<Outcome>> submit(std::vector<redis::Command> cmds,
                                                 std::chrono::milliseconds extra = {}) {
    auto out = std::make_shared<std::optional<Outcome>>();
    conn_->async_exec(
        std::move(cmds),
        [out](redis::error_code ec, std::vector<redis::Reply> r) {
          *out = Outcome{ec, std::move(r)};
        },
        extra);
    return out;
  }

  static void run_until(asio::io_context& io, const std::function<bool()>& done) {
    for (int i = 0; i < 500 && !done(); ++i)
      io.run_for(10ms);
  }

  TempDir dir_;
  RedisServer redis_;
  Client c_;
  asio::io_context io_;
  std::shared_ptr<redis::Connection> conn_;
};

TEST_F(ConnectionTest, NothingIsSentBehindABlockingCommand) {
  connect();
  ASSERT_TRUE(conn_->ready());
  auto wait = submit({{"BLPOP", "nothing-here", "1"}}, 1s);
  auto ping = submit({{"PING"}});
  run_until(io_, [&] { return ping->has_value(); });
  ASSERT_TRUE(ping->has_value());
  EXPECT_EQ((*ping)->ec, redis::make_error_code(redis::Errc::busy));
  EXPECT_FALSE(wait->has_value());  // still blocked

  run_until(io_, [&] { return wait->has_value(); });
  ASSERT_TRUE(wait->has_value());
  EXPECT_FALSE((*wait)->ec) << (*wait)->ec.message();
  EXPECT_TRUE((*wait)->replies.at(0).is_nil());
  auto again = submit({{"PING"}});
  run_until(io_, [&] { return again->has_value(); });
  EXPECT_FALSE((*again)->ec);
  EXPECT_EQ((*again)->replies.at(0).str, "PONG");
  EXPECT_EQ(conn_->stats().timeouts, 0u);
}

TEST_F(ConnectionTest, RemembersTheLastRefusal) {
  connect();
  ASSERT_TRUE(conn_->ready());
  c_.cmd({"SET", "str", "x"});
  auto wrongtype = submit({{"RPUSH", "str", "a"}});
  run_until(io_, [&] { return wrongtype->has_value(); });
  EXPECT_TRUE((*wrongtype)->replies.at(0).is_error());
  EXPECT_EQ(conn_->last_refusal().error, "");  // about the command, not the server

  c_.cmd({"CONFIG", "SET", "maxmemory", "1"});
  const auto before = std::chrono::steady_clock::now();
  auto oom = submit({{"GET", "str"}, {"SET", "k", "v"}});
  run_until(io_, [&] { return oom->has_value(); });
  c_.cmd({"CONFIG", "SET", "maxmemory", "0"});
  EXPECT_EQ((*oom)->replies.at(0).str, "x");
  EXPECT_EQ(conn_->last_refusal().error.rfind("OOM ", 0), 0u) << conn_->last_refusal().error;
  EXPECT_GE(conn_->last_refusal().at, before);

  EXPECT_TRUE(redis::is_refusal("READONLY You can't write against a read only replica."));
  EXPECT_TRUE(redis::is_refusal("MISCONF Redis is configured to save RDB snapshots"));
  EXPECT_TRUE(redis::is_refusal("NOAUTH Authentication required."));
  EXPECT_FALSE(redis::is_refusal("ERR unknown command"));
  EXPECT_FALSE(redis::is_refusal("BUSYKEY Target key name already exists."));
  EXPECT_FALSE(redis::is_refusal("OOMPH"));
}

TEST_F(ConnectionTest, AWrongPasswordIsAnAuthenticationFailure) {
  c_.cmd({"CONFIG", "SET", "requirepass", "right"});
  std::string why;
  redis::Endpoint ep;
  ep.unix_socket = redis_.socket();
  ep.password = "wrong";
  conn_ = redis::Connection::create(io_.get_executor(), ep, "test");
  conn_->on_state([&](bool, const std::string& w) { why = w; });
  conn_->start();
  run_until(io_, [&] { return !why.empty(); });
  EXPECT_FALSE(conn_->ready());
  EXPECT_EQ(why.rfind("authentication failed: WRONGPASS", 0), 0u) << why;
}

}  // namespace
}  // namespace wa::test
