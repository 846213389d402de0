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

Reply integer(long long n) {
  return Reply{Reply::Type::integer, "", n, {}};
}

// A CLUSTER SLOTS reply: slots 0-8191 on 10.0.0.1:7000 (replica :7003), the rest on :7001.
Reply slots_reply() {
  const auto node = [](std::string host, long long port) {
    return Reply{Reply::Type::array, "", 0, {bulk(std::move(host)), integer(port), bulk("id")}};
  };
  Reply low{Reply::Type::array,
            "",
            0,
            {integer(0), integer(8191), node("10.0.0.1", 7000), node("10.0.0.1", 7003)}};
  Reply high{Reply::Type::array, "", 0, {integer(8192), integer(16383), node("10.0.0.1", 7001)}};
  return Reply{Reply::Type::array, "", 0, {low, high}};
}

Endpoint in_cluster(int slot) {
  Endpoint ep;
  ep.cluster = true;
  ep.host = "seed.example";
  ep.port = 7005;
  ep.cluster_slot = slot;
  ep.username = "app";
  ep.password = "ap";
  ep.tls.enabled = true;
  return ep;
}

TEST(RedisResolveCluster, TheSeedNamesTheSlotsMaster) {
  ResolveFsm fsm(in_cluster(9000));
  EXPECT_EQ(fsm.mode(), ResolveFsm::Mode::cluster);
  auto a = fsm.start();
  ASSERT_EQ(a.kind, Kind::ask_node);
  EXPECT_EQ(a.target, (Target{"seed.example", 7005, ""}));
  EXPECT_EQ(fsm.query(), (Command{"CLUSTER", "SLOTS"}));
  a = fsm.on_probe_reply({}, {slots_reply()});
  ASSERT_EQ(a.kind, Kind::connect);
  EXPECT_EQ(a.target, (Target{"10.0.0.1", 7001, ""}));
}

TEST(RedisResolveCluster, NoSeedAnsweringFailsSayingWhy) {
  ResolveFsm fsm(in_cluster(9000));
  fsm.start();
  const auto a = fsm.on_probe_down("connection refused");
  ASSERT_EQ(a.kind, Kind::fail);
  EXPECT_NE(a.message.find("no cluster node named the master of slot 9000"), std::string::npos)
      << a.message;
  EXPECT_NE(a.message.find("seed.example:7005: connection refused"), std::string::npos)
      << a.message;
  // An error reply, or no reply, counts as a seed that did not answer.
  fsm.start();
  EXPECT_EQ(fsm.on_probe_reply(make_error_code(Errc::timeout), {}).kind, Kind::fail);
  fsm.start();
  const Reply err{Reply::Type::error, "ERR This instance has cluster support disabled", 0, {}};
  EXPECT_EQ(fsm.on_probe_reply({}, {err}).kind, Kind::fail);
}

TEST(RedisResolveCluster, AfterAMapTheLearnedNodesAreSeedsToo) {
  ResolveFsm fsm(in_cluster(100));
  fsm.start();
  EXPECT_EQ(fsm.on_probe_reply({}, {slots_reply()}).target.port, 7000);
  EXPECT_EQ(fsm.start().target.host, "seed.example");  // the configured seed first
  const auto a = fsm.on_probe_down("gone");
  ASSERT_EQ(a.kind, Kind::ask_node);
  EXPECT_EQ(a.target, (Target{"10.0.0.1", 7000, ""}));
}

TEST(RedisResolveCluster, MovedResolvesAgainAskingTheNamedNodeFirst) {
  ResolveFsm fsm(in_cluster(100));
  fsm.start();
  fsm.on_probe_reply({}, {slots_reply()});
  EXPECT_TRUE(fsm.on_error_reply("MOVED 100 10.0.0.1:7004"));
  const auto a = fsm.start();
  ASSERT_EQ(a.kind, Kind::ask_node);
  EXPECT_EQ(a.target, (Target{"10.0.0.1", 7004, ""}));
}

TEST(RedisResolveCluster, WhichErrorRepliesMeanAnotherMaster) {
  ResolveFsm fsm(in_cluster(100));
  fsm.start();
  fsm.on_probe_reply({}, {slots_reply()});
  // ASK: the slot is being migrated; every key lives in it, so the whole connection follows.
  EXPECT_TRUE(fsm.on_error_reply("ASK 100 10.0.0.1:7004"));
  EXPECT_TRUE(fsm.on_error_reply("READONLY You can't write against a read only replica."));
  EXPECT_TRUE(fsm.on_error_reply("UNBLOCKED force unblock from blocking operation"));
  // Reconfiguring: the command is retried by its caller on the same connection.
  EXPECT_FALSE(fsm.on_error_reply("TRYAGAIN Multiple keys request during rehashing of slot"));
  EXPECT_FALSE(fsm.on_error_reply("CLUSTERDOWN The cluster is down"));
  EXPECT_FALSE(fsm.on_error_reply("ERR unknown command"));
  EXPECT_FALSE(fsm.on_error_reply("NOSCRIPT No matching script"));
}

TEST(RedisResolveCluster, OtherModesFollowOnlyWhatTheySay) {
  ResolveFsm sentinel(with_sentinels());
  EXPECT_TRUE(sentinel.on_error_reply("READONLY You can't write against a read only replica."));
  EXPECT_FALSE(sentinel.on_error_reply("MOVED 100 10.0.0.1:7004"));
  ResolveFsm direct(Endpoint{});
  EXPECT_FALSE(direct.on_error_reply("READONLY You can't write against a read only replica."));
  EXPECT_FALSE(direct.on_error_reply("MOVED 100 10.0.0.1:7004"));
}

TEST(RedisResolveCluster, NodesAreAskedWithTheServersSettings) {
  const Endpoint ep = in_cluster(100);
  const ResolveFsm fsm(ep);
  const Endpoint n = fsm.probe_endpoint(ep, Target{"10.0.0.1", 7001, ""});
  EXPECT_EQ(n.host, "10.0.0.1");
  EXPECT_EQ(n.port, 7001);
  EXPECT_EQ(n.username, "app");
  EXPECT_EQ(n.password, "ap");
  EXPECT_TRUE(n.tls.enabled);
  EXPECT_FALSE(n.cluster);  // the probe itself connects directly
  EXPECT_TRUE(n.sentinel_probe);
  EXPECT_EQ(ResolveFsm(with_sentinels()).probe_endpoint(with_sentinels(), {}).username, "sen");
}

}  // namespace
}  // namespace wa::redis
