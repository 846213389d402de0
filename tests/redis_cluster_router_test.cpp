// The slot router (redis/cluster_router.hpp): resolution over the seeds, MOVED, ASK and the
// errors of a cluster that reconfigures, step by step without a server.
#include <gtest/gtest.h>

#include "redis/cluster_router.hpp"

namespace wa::redis::cluster {
namespace {

using K = Tree::Kind;

const Address kA{"10.0.0.1", 7000}, kB{"10.0.0.2", 7001}, kC{"10.0.0.3", 7002};
const Address kD{"10.0.0.4", 7003};
constexpr int kSlot = 11593;  // key_slot("{wa}:...")

Tree node_of(const Address& a) {
  return Tree{K::array, "", 0, {Tree{K::string, a.host, 0, {}}, Tree{K::integer, "", a.port, {}}}};
}

// CLUSTER SLOTS of a cluster where `master` (replica `replica`) serves 10923-16383.
Tree slots(const Address& master, const Address& replica) {
  auto range = [](int first, int last, std::vector<Tree> nodes) {
    std::vector<Tree> e{Tree{K::integer, "", first, {}}, Tree{K::integer, "", last, {}}};
    for (auto& n : nodes)
      e.push_back(std::move(n));
    return Tree{K::array, "", 0, std::move(e)};
  };
  return Tree{
      K::array,
      "",
      0,
      {range(0, 10922, {node_of(kA)}), range(10923, 16383, {node_of(master), node_of(replica)})}};
}

Tree error(std::string text) {
  return Tree{K::error, std::move(text), 0, {}};
}

TEST(RedisClusterRouter, AsksTheFirstSeedAndUsesTheSlotsMaster) {
  SlotRouter r({kA, kB}, kSlot);
  Step s = r.start();
  EXPECT_EQ(s.kind, Step::Kind::ask_slots);
  EXPECT_EQ(s.node, kA);
  s = r.on_slots_reply(slots(kC, kD));
  EXPECT_EQ(s.kind, Step::Kind::use_master);
  EXPECT_EQ(s.node, kC);
  EXPECT_EQ(r.master(), kC);
}

TEST(RedisClusterRouter, AFailingSeedIsSkippedWithItsReason) {
  SlotRouter r({kA, kB}, kSlot);
  EXPECT_EQ(r.start().node, kA);
  Step s = r.on_unreachable("connection refused");
  EXPECT_EQ(s.kind, Step::Kind::ask_slots);
  EXPECT_EQ(s.node, kB);
  s = r.on_slots_reply(error("ERR This instance has cluster support disabled"));
  EXPECT_EQ(s.kind, Step::Kind::none_reachable);
  EXPECT_EQ(r.master(), std::nullopt);
  EXPECT_NE(r.failures().find("10.0.0.1:7000: connection refused"), std::string::npos);
  EXPECT_NE(r.failures().find("10.0.0.2:7001: CLUSTER SLOTS failed: ERR This instance"),
            std::string::npos);
}

TEST(RedisClusterRouter, ASlotWithoutMasterIsAFailureOfThatNode) {
  SlotRouter r({kA, kB}, kSlot);
  r.start();
  const Tree partial{K::array, "", 0, {}};  // no slot assigned yet
  Step s = r.on_slots_reply(partial);
  EXPECT_EQ(s.kind, Step::Kind::ask_slots);
  EXPECT_EQ(s.node, kB);
  EXPECT_NE(r.failures().find("no master serves slot 11593"), std::string::npos);
}

TEST(RedisClusterRouter, LearnedNodesAreAskedAfterTheConfiguredOnes) {
  SlotRouter r({kA}, kSlot);
  r.start();
  r.on_slots_reply(slots(kC, kD));
  EXPECT_EQ(r.start().node, kA);
  EXPECT_EQ(r.on_unreachable().node, kC);  // the configured seed is down: the learned nodes
  EXPECT_EQ(r.on_unreachable().node, kD);
  EXPECT_EQ(r.on_unreachable().kind, Step::Kind::none_reachable);
  EXPECT_EQ(r.start().node, kA);  // a new round after the caller's backoff
}

TEST(RedisClusterRouter, MovedMakesTheNamedNodeTheFirstSeed) {
  SlotRouter r({kA, kB}, kSlot);
  r.start();
  r.on_slots_reply(slots(kC, kD));
  const Reaction x = r.on_error_reply("MOVED 11593 10.0.0.4:7003");
  EXPECT_EQ(x.kind, Reaction::resolve_again);
  EXPECT_EQ(x.to, kD);
  EXPECT_EQ(x.slot, 11593);
  EXPECT_EQ(r.master(), std::nullopt);
  Step s = r.start();
  EXPECT_EQ(s.node, kD);
  EXPECT_EQ(r.seeds().front(), kD);
  EXPECT_EQ(r.seeds().size(), 4u);  // D, A, B, C: each once
  s = r.on_slots_reply(slots(kD, kC));
  EXPECT_EQ(s.kind, Step::Kind::use_master);
  EXPECT_EQ(s.node, kD);
}

TEST(RedisClusterRouter, MovedWithAnEmptyHostIsTheMastersHost) {
  SlotRouter r({kA}, kSlot);
  r.start();
  r.on_slots_reply(slots(kC, kD));
  const Reaction x = r.on_error_reply("MOVED 11593 :7009");
  EXPECT_EQ(x.to, (Address{"10.0.0.3", 7009}));
}

TEST(RedisClusterRouter, AskIsOneCommandAndKeepsTheMaster) {
  SlotRouter r({kA}, kSlot);
  r.start();
  r.on_slots_reply(slots(kC, kD));
  const Reaction x = r.on_error_reply("ASK 11593 10.0.0.2:7001");
  EXPECT_EQ(x.kind, Reaction::ask);
  EXPECT_EQ(x.to, kB);
  EXPECT_EQ(r.master(), kC);
  EXPECT_EQ(r.start().node, kA);  // no MOVED: the seeds are unchanged
}

TEST(RedisClusterRouter, ReconfiguringClusterErrors) {
  SlotRouter r({kA}, kSlot);
  r.start();
  r.on_slots_reply(slots(kC, kD));
  EXPECT_EQ(r.on_error_reply("TRYAGAIN Multiple keys request during rehashing of slot").kind,
            Reaction::retry_later);
  EXPECT_EQ(r.on_error_reply("CLUSTERDOWN The cluster is down").kind, Reaction::retry_later);
  EXPECT_EQ(r.master(), kC);
  EXPECT_EQ(r.on_error_reply("ERR wrong number of arguments").kind, Reaction::none);
  EXPECT_EQ(r.on_error_reply("WRONGTYPE Operation against a key").kind, Reaction::none);
  const Reaction x = r.on_error_reply(
      "UNBLOCKED force unblock from blocking operation, instance state changed (master -> "
      "replica?)");
  EXPECT_EQ(x.kind, Reaction::resolve_again);
  EXPECT_EQ(r.master(), std::nullopt);
}

TEST(RedisClusterRouter, RepliesOutsideAResolutionAreIgnored) {
  SlotRouter r({kA}, kSlot);
  EXPECT_EQ(r.on_slots_reply(slots(kC, kD)).kind, Step::Kind::none_reachable);
  EXPECT_EQ(r.on_unreachable().kind, Step::Kind::none_reachable);
  EXPECT_EQ(r.master(), std::nullopt);
  SlotRouter none({}, kSlot);
  EXPECT_EQ(none.start().kind, Step::Kind::none_reachable);
}

}  // namespace
}  // namespace wa::redis::cluster
