// The RESP writer and hiredis's reader, without a server.
#include <gtest/gtest.h>

#include "redis/reader.hpp"
#include "redis/reply.hpp"

namespace wa::redis {
namespace {

TEST(RedisWire, WritesRespCommandsBackToBack) {
  const Wire w = Wire::of({{"SET", "k", "v"}, {"PING"}});
  EXPECT_EQ(w.bytes(), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*1\r\n$4\r\nPING\r\n");
  EXPECT_EQ(w.commands(), 2u);
  EXPECT_EQ(w.start(1), 27u);
  Wire n;
  n.command(2);
  n.arg("INCRBY");
  EXPECT_FALSE(n.complete());
  n.arg(-12LL);
  EXPECT_TRUE(n.complete());
  EXPECT_EQ(n.bytes(), "*2\r\n$6\r\nINCRBY\r\n$3\r\n-12\r\n");
}

TEST(RedisReader, RepliesCompleteAcrossFeeds) {
  Reader r;
  const std::string bytes = "+OK\r\n*2\r\n$3\r\nabc\r\n:7\r\n-ERR no\r\n$-1\r\n";
  r.feed(bytes.data(), 10);
  Reader::Tree t = r.next();
  ASSERT_TRUE(t);
  EXPECT_EQ(copy_of(t.get()).str, "OK");
  EXPECT_FALSE(r.next());  // the array is not complete yet
  r.feed(bytes.data() + 10, bytes.size() - 10);
  t = r.next();
  ASSERT_TRUE(t);
  const ReplyView v = view_of(t.get());
  ASSERT_TRUE(v.is_array());
  EXPECT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].str(), "abc");
  EXPECT_EQ(v[1].integer(), 7);
  const Reply e = copy_of(r.next().get());
  EXPECT_TRUE(e.is_error());
  EXPECT_EQ(e.str, "ERR no");
  EXPECT_TRUE(copy_of(r.next().get()).is_nil());
  EXPECT_FALSE(r.next());
}

TEST(RedisReader, AProtocolErrorThrows) {
  Reader r;
  r.feed("?what\r\n", 7);
  EXPECT_THROW(r.next(), std::runtime_error);
}

TEST(RedisReply, RefusalsAreTheServerStateErrors) {
  EXPECT_TRUE(is_refusal("WRONGPASS invalid username-password pair"));
  EXPECT_TRUE(is_refusal("READONLY You can't write against a read only replica."));
  EXPECT_FALSE(is_refusal("ERR unknown command"));
  // Redis Cluster: the command ran nowhere, the connection finds the slot's master again.
  EXPECT_TRUE(is_refusal("MOVED 3999 127.0.0.1:7002"));
  EXPECT_TRUE(is_refusal("ASK 3999 127.0.0.1:7002"));
  EXPECT_TRUE(is_refusal("TRYAGAIN Multiple keys request during rehashing of slot"));
  EXPECT_TRUE(is_refusal("CLUSTERDOWN The cluster is down"));
  // A blocked command cut short by a demotion: the READONLY that follows says why.
  EXPECT_FALSE(is_refusal("UNBLOCKED force unblock from blocking operation"));
  EXPECT_FALSE(is_refusal("ASKING is not needed"));
  EXPECT_TRUE(is_cluster_retry("MOVED 3999 127.0.0.1:7002"));
  EXPECT_TRUE(is_cluster_retry("ASK 3999 127.0.0.1:7002"));
  EXPECT_TRUE(is_cluster_retry("TRYAGAIN Multiple keys request during rehashing of slot"));
  EXPECT_TRUE(is_cluster_retry("CLUSTERDOWN The cluster is down"));
  EXPECT_FALSE(is_cluster_retry("READONLY You can't write against a read only replica."));
  EXPECT_FALSE(is_cluster_retry("OOM command not allowed"));
  EXPECT_TRUE(
      is_refusal("NOPERM this user has no permissions to access one of the keys used "
                 "as arguments"));
  EXPECT_FALSE(is_refusal("NOPERM this user has no permissions to run the 'config|get' command"));
}

}  // namespace
}  // namespace wa::redis
