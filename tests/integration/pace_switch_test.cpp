// Provider switching with pacing (CONTRACT.md sections 6 and 8): a broken session's ready items
// of the switched campaign go back to the head of its list and move with the rest, in order; the
// new targets get the campaign in their backlogs; with pacing off none of the pacing keys is read
// or written.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "e2e_util.hpp"
#include "switch_util.hpp"

namespace wa::test {
namespace {

using Strings = std::vector<std::string>;
using namespace std::chrono_literals;
using switching::contact;
using switching::ready_item;

const std::string kRoundRobin = kFastConfig + "load_balancing: {strategy: round_robin}\n";
// (The test harness turns pacing off unless the config names it.)
const std::string kPaced = kRoundRobin + "pacing: {enabled: true}\n";

// Campaign `b` with its first `released` contacts already in from's ready list (as the pacer
// released them), between items of campaign 99 and items that are no ready item at all.
// Returns the ready list as seeded.
Strings seed_released(Client& c, const switching::BigCampaign& b, std::uint64_t released) {
  switching::seed_big_campaign(c, b);
  const Strings popped =
      c.cmd({"LPOP", b.key(), std::to_string(released)}).strings();  // contacts 0 … released−1
  Strings ready{ready_item("99", "a"), "not json"};
  for (std::size_t i = 0; i < popped.size(); ++i) {
    ready.push_back(ready_item(b.id, popped[i]));
    if (i == 0) ready.insert(ready.end(), {R"({"contact":"x"})", ready_item("99", "b")});
  }
  ready.push_back(ready_item("camp-99", "c"));
  Strings rpush{"RPUSH", "wa:ready:" + b.from};
  rpush.insert(rpush.end(), ready.begin(), ready.end());
  c.cmd(rpush);
  return ready;
}

// The ready list without campaign `id`'s items.
Strings without(const Strings& ready, const std::string& id) {
  Strings out;
  for (const auto& x : ready) {
    if (x.find(R"("campaign_id":)" + id + ",") == std::string::npos) out.push_back(x);
  }
  return out;
}

void seed_three_sessions(Client& c) {
  seed_session(c, {.id = "s1", .primary = true, .health = 100});
  seed_session(c, {.id = "s2", .health = 100});
  seed_session(c, {.id = "s3", .health = 100});
  c.cmd({"HSET", "wa:session:s2", "status", "disconnected"});
}

bool in_zset(Client& c, const std::string& key, const std::string& member) {
  return !c.cmd({"ZSCORE", key, member}).nil();
}

json::object wait_switch(Env& env) {
  EXPECT_TRUE(wait_until([&] { return !events_of(env.c, "provider_switch").empty(); }, 8s))
      << env.log();
  const auto sw = events_of(env.c, "provider_switch");
  EXPECT_EQ(sw.size(), 1u);
  return sw.empty() ? json::object{} : sw[0];
}

TEST(PacedSwitching, ReadyItemsOfTheCampaignMoveFirstInOrderAndTheOthersStay) {
  Env env;
  seed_three_sessions(env.c);
  const switching::BigCampaign big{.id = "42", .from = "s2", .contacts = 10};
  const Strings ready = seed_released(env.c, big, 3);
  env.start(kPaced);
  const auto sw = wait_switch(env);
  EXPECT_EQ(str_of(sw, "from"), "s2");
  EXPECT_EQ(sw.at("to"), json::parse(R"(["s1","s3"])"));
  EXPECT_EQ(sw.at("moved"), json::value(10));  // the 3 released and the 7 waiting

  // One plan over the 3 taken back then the 7: s1 the even positions, s3 the odd ones.
  auto lists = switching::queued_of(env.c, big.id, {"s1", "s3"});
  EXPECT_EQ(switching::audit(lists, big.contacts), "");
  EXPECT_EQ(lists["s1"], (Strings{contact(0), contact(2), contact(4), contact(6), contact(8)}));
  EXPECT_EQ(lists["s3"], (Strings{contact(1), contact(3), contact(5), contact(7), contact(9)}));
  EXPECT_EQ(env.c.integer({"EXISTS", big.key()}), 0);
  // The other campaigns' items and the malformed ones stay, in their order.
  EXPECT_EQ(env.c.list("wa:ready:s2"), without(ready, big.id));
  EXPECT_EQ(switching::stored_distribution(env.c, big.id),
            (std::map<std::string, long long>{{"s1", 5}, {"s3", 5}}));

  // The new targets' pacers find the campaign.
  for (const std::string t : {"s1", "s3"}) {
    EXPECT_TRUE(in_zset(env.c, "wa:backlog:" + t, big.id)) << t;
    EXPECT_TRUE(in_zset(env.c, "wa:pace:due", t)) << t;
  }
  const auto score = std::stoll(env.c.str({"ZSCORE", "wa:backlog:s1", big.id}));
  EXPECT_NEAR(static_cast<double>(score), static_cast<double>(now_ms()), 60000.0);
  EXPECT_EQ(env.c.integer({"EXISTS", "wa:backlog:s2"}), 0);
}

TEST(PacedSwitching, WithPacingOffNoPacingKeyIsReadOrWritten) {
  Env env;
  seed_three_sessions(env.c);
  const switching::BigCampaign big{.id = "42", .from = "s2", .contacts = 10};
  const Strings ready = seed_released(env.c, big, 3);
  env.start(kRoundRobin + "pacing: {enabled: false}\n");
  const auto sw = wait_switch(env);
  EXPECT_EQ(sw.at("moved"), json::value(7));  // v1: only the dispatch list
  auto lists = switching::lists_of(env.c, big.id, {"s1", "s3"});
  EXPECT_EQ(lists["s1"], (Strings{contact(3), contact(5), contact(7), contact(9)}));
  EXPECT_EQ(lists["s3"], (Strings{contact(4), contact(6), contact(8)}));
  EXPECT_EQ(env.c.list("wa:ready:s2"), ready);  // untouched
  EXPECT_EQ(env.c.cmd({"KEYS", "wa:backlog:*"}).strings(), Strings{});
  EXPECT_EQ(env.c.integer({"EXISTS", "wa:pace:due", "wa:ready:s1", "wa:ready:s3"}), 0);
  EXPECT_EQ(switching::stored_distribution(env.c, big.id),
            (std::map<std::string, long long>{{"s1", 4}, {"s2", 3}, {"s3", 3}}));
}

// A move of several steps takes the ready items back once, in its first step: they are the plan's
// first positions and every later step goes on from the list's head.
TEST(PacedSwitching, AMoveInSeveralStepsTakesTheReadyItemsBackOnce) {
  Env env;
  seed_three_sessions(env.c);
  const switching::BigCampaign big{.id = "77", .from = "s2", .contacts = 5003};
  const Strings ready = seed_released(env.c, big, 3);
  env.start(kPaced);
  const auto sw = wait_switch(env);
  EXPECT_EQ(sw.at("moved"), json::value(5003));
  auto lists = switching::queued_of(env.c, big.id, {"s1", "s3"});
  EXPECT_EQ(switching::audit(lists, big.contacts), "");
  ASSERT_EQ(lists["s1"].size(), 2502u);
  ASSERT_EQ(lists["s3"].size(), 2501u);
  for (std::uint64_t i = 0; i < 2501; ++i) {
    ASSERT_EQ(lists["s1"][i], contact(2 * i)) << i;
    ASSERT_EQ(lists["s3"][i], contact(2 * i + 1)) << i;
  }
  EXPECT_EQ(env.c.list("wa:ready:s2"), without(ready, big.id));
  EXPECT_EQ(env.c.integer({"EXISTS", big.key(), "wa:campaign:77:switching"}), 0);
}

// Contacts moved to Meta wait in the workspace's Meta backlog (target meta_api:<workspace>).
TEST(PacedSwitching, ToMetaTheWorkspacesMetaTargetGetsTheBacklog) {
  Env env;
  seed_session(env.c, {.id = "s1", .primary = true, .health = 100});
  seed_meta(env.c, "1", true);
  const switching::BigCampaign big{.id = "43", .from = "s1", .contacts = 6};
  const Strings ready = seed_released(env.c, big, 2);
  std::string decision = env.c.str({"GET", "wa:campaign:43:decision"});
  const std::string mode = R"("template_mode":"direct",)";
  decision.insert(decision.find(mode) + mode.size(), R"("template":{"status":"APPROVED"},)");
  env.c.cmd({"SET", "wa:campaign:43:decision", decision, "KEEPTTL"});
  env.c.cmd({"HSET", "wa:session:s1", "status", "failed"});
  env.start(kFastConfig + "pacing: {enabled: true}\n");
  const auto sw = wait_switch(env);
  EXPECT_EQ(sw.at("to"), json::parse(R"(["meta_api"])"));
  EXPECT_EQ(sw.at("moved"), json::value(6));
  Strings meta = switching::ready_contacts(env.c, big.id, "meta_api:1");  // what a pacer released
  for (const auto& x : env.c.list("wa:dispatch:43:meta_api"))
    meta.push_back(x);
  EXPECT_EQ(meta,
            (Strings{contact(0), contact(1), contact(2), contact(3), contact(4), contact(5)}));
  EXPECT_EQ(env.c.list("wa:ready:s1"), without(ready, big.id));
  EXPECT_TRUE(in_zset(env.c, "wa:backlog:meta_api:1", big.id));
  EXPECT_TRUE(in_zset(env.c, "wa:pace:due", "meta_api:1"));
  EXPECT_EQ(env.c.cmd({"KEYS", "wa:backlog:*"}).strings(), Strings{"wa:backlog:meta_api:1"});
}

// A ready list of another type is left alone: the move goes on with the dispatch list.
TEST(PacedSwitching, AReadyListOfAnotherTypeIsNoObstacle) {
  Env env;
  seed_three_sessions(env.c);
  const switching::BigCampaign big{.id = "42", .from = "s2", .contacts = 4};
  switching::seed_big_campaign(env.c, big);
  env.c.cmd({"SET", "wa:ready:s2", "oops"});
  env.start(kPaced);
  const auto sw = wait_switch(env);
  EXPECT_EQ(sw.at("moved"), json::value(4));
  auto lists = switching::queued_of(env.c, big.id, {"s1", "s3"});
  EXPECT_EQ(switching::audit(lists, big.contacts), "");
  EXPECT_EQ(env.c.str({"GET", "wa:ready:s2"}), "oops");
}

}  // namespace
}  // namespace wa::test
