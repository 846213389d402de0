// One connection attempt as pure steps, without a server: lookup or not, TLS or not, the
// handshake's commands, and how each failure is worded.
#include <gtest/gtest.h>

#include <boost/asio/error.hpp>

#include "redis/connect_fsm.hpp"

namespace wa::redis {
namespace {

using A = ConnectFsm::Action;

Reply ok() {
  return Reply{Reply::Type::status, "OK", 0, {}};
}
Reply err(std::string s) {
  return Reply{Reply::Type::error, std::move(s), 0, {}};
}
Reply role(std::string r) {
  return Reply{Reply::Type::array, "", 0, {Reply{Reply::Type::string, std::move(r), 0, {}}}};
}

TEST(RedisConnect, AnIpNeedsNoLookupAndTheHandshakeFollowsTheConnect) {
  Endpoint ep;
  ConnectFsm fsm(ep, Target{"127.0.0.1", 6379, ""}, "main");
  EXPECT_EQ(fsm.start(), A::connect);
  EXPECT_EQ(fsm.on_connect({}), A::hello);
  EXPECT_EQ(fsm.hello(),
            (std::vector<Command>{{"CLIENT", "SETNAME", "wa-routerd:main"}, {"PING"}}));
  EXPECT_EQ(fsm.on_hello({}, {ok(), ok()}), A::ready);
}

TEST(RedisConnect, ANameIsLookedUpFirst) {
  Endpoint ep;
  ConnectFsm fsm(ep, Target{"redis.example", 6379, ""}, "main");
  EXPECT_EQ(fsm.start(), A::lookup);
  EXPECT_EQ(fsm.on_lookup({}), A::connect);
  ConnectFsm bad(ep, Target{"nowhere.invalid", 6379, ""}, "main");
  bad.start();
  EXPECT_EQ(bad.on_lookup(boost::asio::error::host_not_found), A::fail);
  EXPECT_EQ(bad.message().rfind("cannot resolve nowhere.invalid: ", 0), 0u) << bad.message();
}

TEST(RedisConnect, TlsComesBetweenConnectAndHandshake) {
  Endpoint ep;
  ep.tls.enabled = true;
  ConnectFsm fsm(ep, Target{"127.0.0.1", 6380, ""}, "main");
  EXPECT_TRUE(fsm.tls());
  fsm.start();
  EXPECT_EQ(fsm.on_connect({}), A::tls_handshake);
  EXPECT_EQ(fsm.on_tls({}, ""), A::hello);
}

TEST(RedisConnect, ACertificateThatDoesNotVerifySaysSoOnOneLine) {
  Endpoint ep;
  ep.tls.enabled = true;
  ConnectFsm fsm(ep, Target{"127.0.0.1", 6380, ""}, "main");
  fsm.start();
  fsm.on_connect({});
  EXPECT_EQ(
      fsm.on_tls(boost::asio::error::connection_reset, "unable to get local issuer certificate"),
      A::fail);
  EXPECT_NE(fsm.message().find("certificate verification failed: unable to get local issuer"),
            std::string::npos)
      << fsm.message();
  EXPECT_EQ(fsm.message().find('\n'), std::string::npos);
}

TEST(RedisConnect, UnixSocketsHaveNoTls) {
  Endpoint ep;
  ep.tls.enabled = true;
  ConnectFsm fsm(ep, Target{"", 0, "/tmp/r.sock"}, "main");
  EXPECT_EQ(fsm.start(), A::connect);
  EXPECT_EQ(fsm.on_connect({}), A::hello);
}

TEST(RedisConnect, AuthWithAnAclUserAndSelect) {
  Endpoint ep;
  ep.username = "router";
  ep.password = "pw";
  ep.db = 2;
  ConnectFsm fsm(ep, Target{"127.0.0.1", 6379, ""}, "tx1");
  ASSERT_EQ(fsm.hello().size(), 4u);
  EXPECT_EQ(fsm.hello()[0], (Command{"AUTH", "router", "pw"}));
  EXPECT_EQ(fsm.hello()[1], (Command{"SELECT", "2"}));
  ep.username.clear();
  EXPECT_EQ(ConnectFsm(ep, Target{"127.0.0.1", 6379, ""}, "tx1").hello()[0],
            (Command{"AUTH", "pw"}));
}

TEST(RedisConnect, AWrongPasswordIsAnAuthenticationFailure) {
  Endpoint ep;
  ep.password = "wrong";
  ConnectFsm fsm(ep, Target{"127.0.0.1", 6379, ""}, "main");
  fsm.start();
  fsm.on_connect({});
  EXPECT_EQ(fsm.on_hello({}, {err("WRONGPASS invalid username-password pair"), ok(), ok()}),
            A::fail);
  EXPECT_EQ(fsm.message().rfind("authentication failed: WRONGPASS", 0), 0u) << fsm.message();
}

TEST(RedisConnect, NoPasswordWhereOneIsNeededIsAnAuthenticationFailure) {
  Endpoint ep;
  ConnectFsm fsm(ep, Target{"127.0.0.1", 6379, ""}, "main");
  fsm.start();
  EXPECT_EQ(fsm.on_hello({}, {err("NOAUTH Authentication required."), err("NOAUTH x")}), A::fail);
  EXPECT_EQ(fsm.message().rfind("authentication failed: NOAUTH", 0), 0u) << fsm.message();
  ConnectFsm loading(ep, Target{"127.0.0.1", 6379, ""}, "main");
  EXPECT_EQ(loading.on_hello({}, {ok(), err("LOADING Redis is loading")}), A::fail);
  EXPECT_EQ(loading.message(), "Redis refused the handshake: LOADING Redis is loading");
}

TEST(RedisConnect, SentinelModeChecksTheRole) {
  Endpoint ep;
  ep.sentinels = {{"127.0.0.1", 26379}};
  ep.master_name = "m";
  ep.db = 1;
  ConnectFsm fsm(ep, Target{"10.0.0.2", 6379, ""}, "main");
  ASSERT_EQ(fsm.hello().back(), (Command{"ROLE"}));
  EXPECT_EQ(fsm.on_hello({}, {ok(), ok(), ok(), role("slave")}), A::fail);
  EXPECT_EQ(fsm.message(), "10.0.0.2:6379 is not a master (yet): asking the Sentinels again");
  EXPECT_EQ(fsm.on_hello({}, {ok(), ok(), ok(), role("master")}), A::ready);
}

TEST(RedisConnect, ASentinelProbeNeitherSelectsNorChecksTheRole) {
  Endpoint ep;
  ep.sentinel_probe = true;
  ep.db = 4;
  ConnectFsm fsm(ep, Target{"127.0.0.1", 26379, ""}, "main-sentinel");
  for (const Command& c : fsm.hello()) {
    EXPECT_NE(c[0], "SELECT");
    EXPECT_NE(c[0], "ROLE");
  }
}

TEST(RedisConnect, LossesAndTimeoutsAreWorded) {
  Endpoint ep;
  ConnectFsm fsm(ep, Target{"127.0.0.1", 6379, ""}, "main");
  fsm.start();
  EXPECT_EQ(fsm.on_connect(boost::asio::error::connection_refused), A::fail);
  EXPECT_EQ(fsm.message().rfind("cannot connect to 127.0.0.1:6379: ", 0), 0u);
  EXPECT_EQ(fsm.on_timeout(), A::fail);
  EXPECT_EQ(fsm.message(), "connecting to 127.0.0.1:6379 timed out");
  EXPECT_EQ(fsm.on_hello(make_error_code(Errc::connection_lost), {}), A::fail);
}

}  // namespace
}  // namespace wa::redis
