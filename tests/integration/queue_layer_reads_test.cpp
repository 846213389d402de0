// The typed reads that the daemon's health cycle and status page use (queue/health_store.hpp,
// queue/status_reads.hpp, queue/lists.hpp) against a real redis-server, in process: each
// pipeline's replies land in the field named for them.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "harness.hpp"
#include "inproc.hpp"
#include "queue/health_store.hpp"
#include "queue/lists.hpp"
#include "queue/status_reads.hpp"
#include "queue/store.hpp"

namespace wa::test {
namespace {

using Strings = std::vector<std::string>;

class LayerReads : public InProcess {
 protected:
  LayerReads() : keys_("", "wa-campaigns"), conn_(connect("reads")) {}
  queue::Keys keys_;
  std::shared_ptr<redis::Connection> conn_;
};

TEST_F(LayerReads, StatusBaseFieldsAreTheirOwnCommands) {
  c_.cmd({"RPUSH", keys_.queue(), "j1", "j2"});
  c_.cmd({"ZADD", keys_.delayed(), "1", "d1", "2", "d2", "3", "d3"});
  c_.cmd({"ZADD", keys_.reserved(), "1", "r1"});
  c_.cmd({"RPUSH", keys_.dead(), "old", "mid", "new"});
  c_.cmd({"LPUSH", keys_.recent_alerts(), "a1", "a2"});
  c_.cmd({"SADD", keys_.workspaces(), "w2", "w1"});
  c_.cmd({"ZADD", keys_.active(), "10", "c1", "20", "c2"});
  queue::StatusBounds b{.workspaces = 200, .active_campaigns = 1, .listed = 2};
  const auto s = await(queue::read_status_base(*conn_, keys_, b));
  EXPECT_EQ(s.waiting, 2u);
  EXPECT_EQ(s.delayed, 3u);
  EXPECT_EQ(s.in_hand, 1u);
  EXPECT_EQ(s.dead_total, 3u);
  EXPECT_EQ(s.dead, (Strings{"new", "mid"}));  // the last `listed`, newest first
  EXPECT_EQ(s.alerts, (Strings{"a2", "a1"}));
  EXPECT_EQ(s.workspaces_total, 2u);
  EXPECT_EQ(s.workspaces, (Strings{"w1", "w2"}));
  EXPECT_EQ(s.active, (Strings{"c2"}));
  EXPECT_EQ(s.active_total, 2u);
}

TEST_F(LayerReads, StatusTargetsAndWorkspaceSessions) {
  c_.cmd({"SADD", keys_.workspace_sessions("w1"), "s2", "s1"});
  c_.cmd({"HSET", keys_.session("s1"), "health_score", "87.9", "status", "connected"});
  c_.cmd({"HSET", keys_.pace("s1"), "rate_per_hour", "120", "factor", "0.5", "released_today", "7",
          "cap_today", "900", "budget_used", "3", "tier_limit", "1000"});
  c_.cmd({"RPUSH", keys_.ready("s1"), R"({"campaign_id":5,"contact":"a"})",
          R"({"campaign_id":5,"contact":"b"})", "junk"});
  c_.cmd({"ZADD", keys_.backlog("s1"), "1", "5", "2", "6"});
  c_.cmd({"HSET", keys_.workspace_meta("w1"), "configured", "1"});
  queue::StatusBounds b{.sessions = 100, .backlog_campaigns = 1, .ready_items = 100};
  const auto ws = await(queue::read_workspace_sessions(*conn_, keys_, {"w1", "w9"}, b));
  ASSERT_EQ(ws.size(), 2u);
  EXPECT_EQ(ws[0].total, 2u);
  EXPECT_EQ(ws[0].sessions, (Strings{"s1", "s2"}));
  EXPECT_EQ(ws[1].total, 0u);
  std::vector<queue::StatusTarget> t(2);
  t[0].workspace = "w1";
  t[0].row.id = "s1";
  t[1].workspace = "w1";
  t[1].meta = true;
  t[1].row.id = "meta_api:w1";
  await(queue::read_status_targets(*conn_, keys_, b, t));
  EXPECT_EQ(t[0].row.health_score, 87);
  EXPECT_EQ(t[0].row.status, "connected");
  EXPECT_EQ(t[0].row.rate_per_hour, 120.0);
  EXPECT_EQ(t[0].row.factor, 0.5);
  EXPECT_EQ(t[0].row.released_today, 7);
  EXPECT_EQ(t[0].row.cap_today, 900);
  EXPECT_EQ(t[0].row.budget_used, 3);
  EXPECT_EQ(t[0].row.tier_limit, 1000);
  EXPECT_EQ(t[0].row.ready, 3u);
  EXPECT_EQ(t[0].row.backlog_campaigns, 2u);
  EXPECT_EQ(t[0].backlog, (Strings{"5"}));
  EXPECT_EQ(t[0].ready_counts.at("5"), 2u);
  EXPECT_EQ(t[0].ready_counts.size(), 1u);
  EXPECT_EQ(t[1].row.status, "configured");
  EXPECT_FALSE(t[1].row.health_score.has_value());
}

TEST_F(LayerReads, StatusCampaignsAndListLengths) {
  c_.cmd({"SET", keys_.decision("c1"), "{}"});
  c_.cmd({"SADD", keys_.paused_campaigns(), "c1", "c2"});
  c_.cmd({"RPUSH", "l1", "a", "b"});
  c_.cmd({"SET", "s", "x"});
  const auto r = await(queue::read_status_campaigns(*conn_, keys_, {"c1", "c2", "c3"}));
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].decision, "{}");
  EXPECT_TRUE(r[0].paused);
  EXPECT_FALSE(r[1].decision.has_value());
  EXPECT_TRUE(r[1].paused);
  EXPECT_FALSE(r[2].paused);
  const auto lens = await(queue::list_lengths(*conn_, {"l1", "none", "s"}));
  EXPECT_EQ(lens, (std::vector<std::uint64_t>{2, 0, 0}));
  const auto heads = await(queue::list_heads(*conn_, {"l1", "none", "s"}, 1));
  EXPECT_EQ(heads, (std::vector<Strings>{{"a"}, {}, {}}));
}

TEST_F(LayerReads, HealthReadsNameEachSessionsReplies) {
  c_.cmd({"SADD", keys_.workspaces(), "w1"});
  c_.cmd({"SADD", keys_.workspace_sessions("w1"), "s1", "s2"});
  c_.cmd({"HSET", keys_.session("s1"), "id", "s1"});
  c_.cmd({"HSET", keys_.session_health("s2"), "alerts", "5"});
  c_.cmd({"HSET", keys_.pace("s2"), "factor", "0.25"});
  queue::PhpValues php;
  const auto all = await(queue::sessions_to_check(*conn_, keys_, php));
  EXPECT_EQ(all.workspaces, 1u);
  ASSERT_EQ(all.pairs.size(), 2u);
  queue::Store store(*conn_, keys_);
  for (const bool pacing : {false, true}) {
    const queue::HealthReads reads(keys_, store, pacing);
    std::vector<queue::Call> calls;
    reads.add("s1", calls);
    reads.add("s2", calls);
    EXPECT_EQ(calls.size(), 2 * reads.stride());
    const auto replies = await(queue::run(*conn_, std::move(calls)));
    const queue::SessionReplies s1 = reads.at(replies, 0);
    const queue::SessionReplies s2 = reads.at(replies, 1);
    EXPECT_EQ(s1.hash.elements.size(), 2u);  // id, s1
    EXPECT_TRUE(s2.hash.elements.empty());
    EXPECT_EQ(s1.alerts, 0u);
    EXPECT_EQ(s2.alerts, 5u);
    EXPECT_EQ(s1.pace != nullptr, pacing);
    if (pacing) {
      EXPECT_EQ(s2.pace[1].str, "0.25");  // HGET wa:pace:s2 factor
    }
  }
}

}  // namespace
}  // namespace wa::test
