// Where a connection goes, without a server: direct, or asking Sentinels in order and falling
// through on any error.
#include <gtest/gtest.h>

#include "redis/resolve.hpp"

namespace wa::redis {
namespace {

using Kind = ResolveFsm::Action::Kind;

Reply bulk(std::string s) {
  return Reply{Reply::Type::string, std::move(s), 0, {}};
}

Reply addr(std::string host, std::string port) {
  return Reply{Reply::Type::array, "", 0, {bulk(std::move(host)), bulk(std::move(port))}};
}

Endpoint with_sentinels() {
  Endpoint ep;
  ep.sentinels = {{"10.0.0.1", 26379}, {"s2.example", 26380}};
  ep.master_name = "mymaster";
  ep.sentinel_username = "sen";
  ep.sentinel_password = "sp";
  ep.sentinel_tls.enabled = true;
  ep.username = "app";
  ep.password = "ap";
  ep.db = 3;
  return ep;
}

TEST(RedisResolve, DirectGoesToTheConfiguredHost) {
  Endpoint ep;
  ep.host = "redis.example";
  ep.port = 6380;
  ResolveFsm fsm(ep);
  EXPECT_EQ(fsm.mode(), ResolveFsm::Mode::direct);
  const auto a = fsm.start();
  EXPECT_EQ(a.kind, Kind::connect);
  EXPECT_EQ(a.target, (Target{"redis.example", 6380, ""}));
}

TEST(RedisResolve, DirectUnixSocket) {
  Endpoint ep;
  ep.unix_socket = "/run/redis.sock";
  const auto a = ResolveFsm(ep).start();
  EXPECT_EQ(a.kind, Kind::connect);
  EXPECT_EQ(a.target.unix_socket, "/run/redis.sock");
  EXPECT_EQ(a.target.where(), "unix:/run/redis.sock");
}

TEST(RedisResolve, SentinelAnswerLeadsToTheMaster) {
  ResolveFsm fsm(with_sentinels());
  auto a = fsm.start();
  ASSERT_EQ(a.kind, Kind::ask_sentinel);
  EXPECT_EQ(a.target, (Target{"10.0.0.1", 26379, ""}));
  EXPECT_EQ(fsm.query(), (Command{"SENTINEL", "get-master-addr-by-name", "mymaster"}));
  a = fsm.on_sentinel_reply({}, {addr("10.0.0.9", "6379")});
  EXPECT_EQ(a.kind, Kind::connect);
  EXPECT_EQ(a.target, (Target{"10.0.0.9", 6379, ""}));
}

TEST(RedisResolve, FallsThroughUnreachableAndIgnorantSentinels) {
  ResolveFsm fsm(with_sentinels());
  fsm.start();
  auto a = fsm.on_sentinel_down("connection refused");
  ASSERT_EQ(a.kind, Kind::ask_sentinel);
  EXPECT_EQ(a.target, (Target{"s2.example", 26380, ""}));
  a = fsm.on_sentinel_reply({}, {Reply{}});  // nil: does not know the master
  ASSERT_EQ(a.kind, Kind::fail);
  EXPECT_NE(a.message.find("no Sentinel answered for master \"mymaster\""), std::string::npos);
  EXPECT_NE(a.message.find("s2.example:26380 does not know"), std::string::npos) << a.message;
}

TEST(RedisResolve, ABadAnswerOrAnErrorCountsAsNoAnswer) {
  ResolveFsm fsm(with_sentinels());
  fsm.start();
  EXPECT_EQ(fsm.on_sentinel_reply({}, {addr("10.0.0.9", "notaport")}).kind, Kind::ask_sentinel);
  const auto a = fsm.on_sentinel_reply(make_error_code(Errc::timeout), {});
  ASSERT_EQ(a.kind, Kind::fail);
  EXPECT_NE(a.message.find("timed out"), std::string::npos) << a.message;
}

TEST(RedisResolve, EachResolutionStartsAgainFromTheFirstSentinel) {
  ResolveFsm fsm(with_sentinels());
  fsm.start();
  fsm.on_sentinel_down("refused");
  EXPECT_EQ(fsm.start().target.host, "10.0.0.1");
}

TEST(RedisResolve, SentinelConnectionsUseTheSentinelSettings) {
  const Endpoint ep = with_sentinels();
  const Endpoint s = sentinel_endpoint(ep, Target{"10.0.0.1", 26379, ""});
  EXPECT_EQ(s.host, "10.0.0.1");
  EXPECT_EQ(s.port, 26379);
  EXPECT_EQ(s.username, "sen");
  EXPECT_EQ(s.password, "sp");
  EXPECT_TRUE(s.tls.enabled);
  EXPECT_EQ(s.db, 0);
  EXPECT_TRUE(s.sentinel_probe);
  EXPECT_TRUE(s.sentinels.empty());
}

TEST(RedisResolve, Ipv6TargetsAreBracketed) {
  EXPECT_EQ((Target{"::1", 6379, ""}).where(), "[::1]:6379");
}

}  // namespace
}  // namespace wa::redis
