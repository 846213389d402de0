// Redis Cluster's pure parts (redis/cluster.hpp, redis/cluster_router.hpp), without a server.
// The slot values were taken from `redis-cli cluster keyslot` (Redis 7.0).
#include <gtest/gtest.h>

#include "redis/cluster.hpp"
#include "redis/cluster_router.hpp"

namespace wa::redis::cluster {
namespace {

using K = Tree::Kind;

Tree str(std::string s) {
  return Tree{K::string, std::move(s), 0, {}};
}
Tree num(long long n) {
  return Tree{K::integer, "", n, {}};
}
Tree arr(std::vector<Tree> e) {
  return Tree{K::array, "", 0, std::move(e)};
}
Tree err(std::string s) {
  return Tree{K::error, std::move(s), 0, {}};
}
Tree nil() {
  return Tree{};
}
Tree node(Tree host, int port, const std::string& id = "0123abcd") {
  return arr({std::move(host), num(port), str(id)});
}

TEST(RedisClusterSlot, Crc16IsXmodem) {
  EXPECT_EQ(crc16("123456789"), 0x31C3);  // the CRC16-XMODEM check value
  EXPECT_EQ(crc16(""), 0);
}

TEST(RedisClusterSlot, KnownSlotsOfRedisCli) {
  EXPECT_EQ(key_slot("foo"), 12182);
  EXPECT_EQ(key_slot("bar"), 5061);
  EXPECT_EQ(key_slot("hello"), 866);
  EXPECT_EQ(key_slot("123456789"), 12739);
  EXPECT_EQ(key_slot(""), 0);
  EXPECT_EQ(key_slot("{user1000}.following"), 3443);
  EXPECT_EQ(key_slot("{user1000}.followers"), 3443);
  EXPECT_EQ(key_slot("{wa}:queues:wa-campaigns"), 11593);
  EXPECT_EQ(key_slot("wa"), 11593);
}

TEST(RedisClusterSlot, HashTagRuleIsRedis) {
  EXPECT_EQ(key_slot("foo{}{bar}"), 8363);  // an empty first tag: the whole key
  EXPECT_EQ(key_slot("foo{{bar}}zap"), 4015);
  EXPECT_EQ(key_slot("foo{{bar}}zap"), key_slot("{bar"));  // the tag is "{bar"
  EXPECT_EQ(key_slot("foo{bar}{zap}"), key_slot("bar"));   // the first tag only
  EXPECT_EQ(key_slot("{}"), 15257);
  EXPECT_EQ(key_slot("a{b"), 13340);  // no closing brace: the whole key
  EXPECT_EQ(key_slot("{"), 4092);
  EXPECT_EQ(key_slot("}{x}"), 16287);
  EXPECT_EQ(key_slot("}{x}"), key_slot("x"));
}

TEST(RedisClusterSlot, HashTagOfAPrefix) {
  EXPECT_EQ(hash_tag("{wa}:"), "wa");
  EXPECT_EQ(hash_tag("app_{wa}:"), "wa");
  EXPECT_EQ(hash_tag("foo{{bar}}zap"), "{bar");
  EXPECT_EQ(hash_tag("a{b}{c}"), "b");
  EXPECT_EQ(hash_tag(""), std::nullopt);
  EXPECT_EQ(hash_tag("laravel_database_"), std::nullopt);
  EXPECT_EQ(hash_tag("{}wa:"), std::nullopt);       // empty tag: whole keys are hashed
  EXPECT_EQ(hash_tag("foo{}{bar}"), std::nullopt);  // the first tag counts, and it is empty
  EXPECT_EQ(hash_tag("{wa:"), std::nullopt);        // closed (or not) by the rest of each key
  EXPECT_EQ(hash_tag("wa}:"), std::nullopt);
}

TEST(RedisClusterSlot, EveryKeyOfATaggedPrefixSharesItsSlot) {
  const std::string prefix = "{wa}:";
  const int slot = key_slot("wa");
  for (const char* rest : {"queues:wa-campaigns", "wa:session:{odd}", "wa:dispatch:1:s}{1", ""}) {
    EXPECT_EQ(key_slot(prefix + rest), slot) << rest;
  }
}

TEST(RedisClusterSlots, ParsesRangesMastersAndReplicas) {
  const Address asked{"10.0.0.9", 7000};
  const Tree reply = arr({
      arr({num(0), num(5460), node(str("10.0.0.1"), 7000), node(str("10.0.0.4"), 7003)}),
      arr({num(5461), num(10922), node(str("10.0.0.2"), 7001)}),
      arr({num(10923), num(16383), node(str("10.0.0.3"), 7002), node(str("10.0.0.5"), 7004),
           node(str("10.0.0.6"), 7005)}),
  });
  const SlotMap map = parse_slots(reply, asked);
  ASSERT_EQ(map.error, "");
  ASSERT_EQ(map.ranges.size(), 3u);
  // Field by field: GCC 12 at -O3 warns falsely (-Wmaybe-uninitialized) on a braced SlotRange.
  EXPECT_EQ(map.ranges[0].first, 0);
  EXPECT_EQ(map.ranges[0].last, 5460);
  EXPECT_EQ(to_string(map.ranges[0].master), "10.0.0.1:7000");
  ASSERT_EQ(map.ranges[0].replicas.size(), 1u);
  EXPECT_EQ(to_string(map.ranges[0].replicas[0]), "10.0.0.4:7003");
  EXPECT_EQ(map.ranges[2].replicas.size(), 2u);
  EXPECT_EQ(master_for_slot(map, 0), (Address{"10.0.0.1", 7000}));
  EXPECT_EQ(master_for_slot(map, 5461), (Address{"10.0.0.2", 7001}));
  EXPECT_EQ(master_for_slot(map, 11593), (Address{"10.0.0.3", 7002}));
  EXPECT_EQ(master_for_slot(map, 16383), (Address{"10.0.0.3", 7002}));
}

TEST(RedisClusterSlots, UnknownEndpointIsTheAskedHost) {
  const Address asked{"redis.example", 7000};
  // Redis 7: NULL for an unknown endpoint, "?" for a missing hostname; older: "".
  const Tree reply = arr({arr({num(0), num(100), node(nil(), 7001), node(str(""), 7002)}),
                          arr({num(101), num(200), node(str("?"), 7003)})});
  const SlotMap map = parse_slots(reply, asked);
  ASSERT_EQ(map.error, "");
  EXPECT_EQ(map.ranges[0].master, (Address{"redis.example", 7001}));
  EXPECT_EQ(map.ranges[0].replicas.at(0), (Address{"redis.example", 7002}));
  EXPECT_EQ(map.ranges[1].master, (Address{"redis.example", 7003}));
}

TEST(RedisClusterSlots, NodesWithMetadataAndIpv6) {
  Tree master = node(str("::1"), 7000);
  master.elements.push_back(arr({str("hostname"), str("node-a")}));
  const SlotMap map = parse_slots(arr({arr({num(0), num(16383), master})}), {"::1", 7001});
  ASSERT_EQ(map.error, "");
  EXPECT_EQ(map.ranges[0].master, (Address{"::1", 7000}));
  EXPECT_EQ(to_string(map.ranges[0].master), "[::1]:7000");
}

TEST(RedisClusterSlots, ErrorsAndBadShapesSaySo) {
  const Address asked{"h", 1};
  EXPECT_NE(parse_slots(err("ERR This instance has cluster support disabled"), asked)
                .error.find("cluster support disabled"),
            std::string::npos);
  EXPECT_NE(parse_slots(str("OK"), asked).error, "");
  EXPECT_NE(parse_slots(arr({arr({num(0), num(5)})}), asked).error, "");  // no master
  EXPECT_NE(parse_slots(arr({arr({num(9), num(5), node(str("h"), 1)})}), asked).error, "");
  EXPECT_NE(parse_slots(arr({arr({num(0), num(16384), node(str("h"), 1)})}), asked).error, "");
  EXPECT_NE(parse_slots(arr({arr({num(0), num(5), node(str("h"), 0)})}), asked).error, "");
  const SlotMap empty = parse_slots(arr({}), asked);  // a cluster with no slot assigned yet
  EXPECT_EQ(empty.error, "");
  EXPECT_EQ(master_for_slot(empty, 0), std::nullopt);
}

TEST(RedisClusterRedirect, MovedAndAsk) {
  const Address asked{"10.0.0.9", 7000};
  EXPECT_EQ(parse_redirect("MOVED 3999 127.0.0.1:6381", asked),
            (Redirect{Redirect::Kind::moved, 3999, {"127.0.0.1", 6381}}));
  EXPECT_EQ(parse_redirect("ASK 3999 127.0.0.1:6381", asked),
            (Redirect{Redirect::Kind::ask, 3999, {"127.0.0.1", 6381}}));
  EXPECT_EQ(parse_redirect("MOVED 12182 redis-2.example:6379", asked)->to,
            (Address{"redis-2.example", 6379}));
}

TEST(RedisClusterRedirect, Ipv6AndEmptyHost) {
  const Address asked{"10.0.0.9", 7000};
  EXPECT_EQ(parse_redirect("MOVED 1 2001:db8::1:6381", asked)->to, (Address{"2001:db8::1", 6381}));
  EXPECT_EQ(parse_redirect("MOVED 1 [2001:db8::1]:6381", asked)->to,
            (Address{"2001:db8::1", 6381}));
  EXPECT_EQ(parse_redirect("ASK 1 ::1:7002", asked)->to, (Address{"::1", 7002}));
  // Redis 7: an empty endpoint means "the node you asked", on the port given.
  EXPECT_EQ(parse_redirect("MOVED 3999 :6380", asked)->to, (Address{"10.0.0.9", 6380}));
}

TEST(RedisClusterRedirect, OtherErrorsAreNoRedirect) {
  const Address asked{"h", 1};
  for (const char* e : {"ERR unknown command", "MOVED", "MOVED 3999", "MOVED x 1.2.3.4:5",
                        "MOVED 16384 1.2.3.4:5", "MOVED 1 1.2.3.4", "MOVED 1 1.2.3.4:0",
                        "MOVED 1 1.2.3.4:70000", "ASK -1 h:1", "MOVEDX 1 h:1", "TRYAGAIN x"}) {
    EXPECT_EQ(parse_redirect(e, asked), std::nullopt) << e;
  }
}

TEST(RedisClusterTree, ConvertsAReplyType) {
  struct R {
    int t = 0;  // 0 nil, 1 string, 2 error, 3 integer, 4 array
    std::string str;
    long long integer = 0;
    std::vector<R> elements;
    bool is_nil() const { return t == 0; }
    bool is_string() const { return t == 1; }
    bool is_error() const { return t == 2; }
    bool is_integer() const { return t == 3; }
    bool is_array() const { return t == 4; }
  };
  const R r{4, "", 0, {R{1, "a", 0, {}}, R{3, "", 7, {}}, R{2, "ERR x", 0, {}}, R{}}};
  const Tree t = to_tree(r);
  ASSERT_EQ(t.kind, K::array);
  ASSERT_EQ(t.elements.size(), 4u);
  EXPECT_EQ(t.elements[0].str, "a");
  EXPECT_EQ(t.elements[1].integer, 7);
  EXPECT_EQ(t.elements[2].kind, K::error);
  EXPECT_EQ(t.elements[3].kind, K::nil);
}

}  // namespace
}  // namespace wa::redis::cluster
