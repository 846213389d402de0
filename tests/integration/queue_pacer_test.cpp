// The pacer's release step (queue/pacer.hpp, pace_release_script) against a real redis-server,
// in process: order, the ready item's JSON, fairness across campaigns (paused ones skipped, a
// later one taking its turn), the daily cap, backpressure, emptied campaigns leaving the backlog
// and the target leaving wa:pace:due, several releases at once (Meta), a bounded call over a
// huge backlog, and exactly-once releases from two connections at once.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <set>

#include "harness.hpp"
#include "inproc.hpp"
#include "queue/exec.hpp"
#include "queue/pacer.hpp"

namespace wa::test {
namespace {

namespace asio = boost::asio;
using queue::ReleaseArgs;
using queue::ReleaseReason;
using queue::ReleaseResult;
using Strings = std::vector<std::string>;

constexpr long long kNow = 1'764'892'800'000;  // 2025-12-05T00:00:00Z
constexpr const char* kIso = "2025-12-05T00:00:00Z";

class PacerTest : public InProcess {
 protected:
  PacerTest() : keys_("", "wa-campaigns"), conn_(connect("pacer")) {}

  static ReleaseArgs args(long long n = 1, long long room = 1000) {
    ReleaseArgs a;
    a.now_ms = kNow;
    a.now_iso = kIso;
    a.n = n;
    a.room = room;
    a.next_at = kNow + 30'000;
    a.day = "2025-12-05";
    a.cap_today = 1000;
    a.rate_per_hour = 120;
    a.factor = 1;
    return a;
  }

  // A release at the time of `a`, as if the target's gap were over (the tests here call it many
  // times at one moment; ATargetWhoseGapIsNotOverIsHeldBack keeps the gap).
  ReleaseResult release(const ReleaseArgs& a, const std::string& target = "s1",
                        bool keep_gap = false) {
    if (!keep_gap) c_.cmd({"HDEL", keys_.pace(target), "next_at"});
    return await(queue::release(*conn_, keys_, target, a));
  }

  // A campaign's dispatch list for a target, registered in the target's backlog.
  void campaign(const std::string& id, const Strings& contacts, double score,
                const std::string& target = "s1") {
    const std::string list_target = target.starts_with("meta_api:") ? "meta_api" : target;
    Strings push{"RPUSH", keys_.dispatch(id, list_target)};
    push.insert(push.end(), contacts.begin(), contacts.end());
    if (!contacts.empty()) c_.cmd(push);
    c_.cmd({"ZADD", keys_.backlog(target), std::to_string(score), id});
  }

  // The contacts of the ready list, in order ("<campaign>/<contact>").
  Strings ready(const std::string& target = "s1") {
    Strings out;
    for (const auto& j : c_.list(keys_.ready(target))) {
      const auto cid = j.find("\"campaign_id\":") + 14;
      const auto contact = j.find(",\"contact\":\"");
      const auto end = j.find('"', contact + 12);
      std::string id = j.substr(cid, contact - cid);
      if (id.front() == '"') id = id.substr(1, id.size() - 2);
      out.push_back(id + "/" + j.substr(contact + 12, end - contact - 12));
    }
    return out;
  }

  std::string pace(const std::string& field, const std::string& target = "s1") {
    return c_.str({"HGET", keys_.pace(target), field});
  }

  queue::Keys keys_;
  std::shared_ptr<redis::Connection> conn_;
};

TEST_F(PacerTest, OneReleaseMovesExactlyOneContactInOrder) {
  campaign("7", {"c1", "c2", "c3"}, 1);
  const auto r = release(args());
  EXPECT_EQ(r.released, 1);
  EXPECT_EQ(r.reason, ReleaseReason::none);
  EXPECT_EQ(r.released_today, 1);
  EXPECT_EQ(ready(), (Strings{"7/c1"}));
  EXPECT_EQ(c_.list(keys_.dispatch("7", "s1")), (Strings{"c2", "c3"}));
  EXPECT_EQ(release(args()).released, 1);
  EXPECT_EQ(ready(), (Strings{"7/c1", "7/c2"}));
  // The pace hash, the due zset and the per-minute count.
  EXPECT_EQ(pace("released_today"), "2");
  EXPECT_EQ(pace("day"), "2025-12-05");
  EXPECT_EQ(pace("cap_today"), "1000");
  EXPECT_EQ(pace("rate_per_hour"), "120");
  EXPECT_EQ(pace("factor"), "1");
  EXPECT_EQ(pace("next_at"), std::to_string(kNow + 30'000));
  EXPECT_EQ(pace("last_campaign"), "7");
  EXPECT_EQ(c_.str({"ZSCORE", keys_.pace_due(), "s1"}), std::to_string(kNow + 30'000));
  EXPECT_EQ(c_.str({"HGET", keys_.released_stats("s1"), std::to_string(kNow / 60000)}), "2");
  const long long ttl = c_.integer({"TTL", keys_.released_stats("s1")});
  EXPECT_GT(ttl, 7000);
  EXPECT_LE(ttl, 7200);
}

// A ready item as the script writes it.
std::string item(const std::string& campaign_json, const std::string& contact_json) {
  return R"({"campaign_id":)" + campaign_json + R"(,"contact":)" + contact_json +
         R"(,"released_at":")" + kIso + "\"}";
}

TEST_F(PacerTest, ReadyItemJson) {
  campaign("42", {"contact \"1\""}, 1);
  campaign("abc", {"c2"}, 2);
  campaign("007", {"c3"}, 3);
  campaign("9223372036854775807", {"c4"}, 4);  // the largest integer id
  campaign("9223372036854775808", {"c5"}, 5);  // beyond: text
  campaign("0", {"c6"}, 6);
  EXPECT_EQ(release(args(6)).released, 6);
  EXPECT_EQ(c_.list(keys_.ready("s1")),
            (Strings{item("42", R"("contact \"1\"")"), item(R"("abc")", R"("c2")"),
                     item(R"("007")", R"("c3")"), item("9223372036854775807", R"("c4")"),
                     item(R"("9223372036854775808")", R"("c5")"), item(R"("0")", R"("c6")")}));
}

TEST_F(PacerTest, AnEmptiedCampaignKeepsTheTurnsOrder) {
  // B leaves the backlog after its only contact: the next turn is C's (after B's place), not A's.
  campaign("A", {"a1", "a2"}, 1);
  campaign("B", {"b1"}, 2);
  campaign("C", {"c1", "c2"}, 3);
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(release(args()).released, 1);
  EXPECT_EQ(ready(), (Strings{"A/a1", "B/b1", "C/c1", "A/a2", "C/c2"}));
  // The same when the emptied campaign was the first of the backlog.
  campaign("D", {"d1"}, 4);
  campaign("E", {"e1", "e2"}, 5);
  c_.cmd({"HSET", keys_.pace("s1"), "last_campaign", "E"});
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(release(args()).released, 1);
  EXPECT_EQ(ready(), (Strings{"A/a1", "B/b1", "C/c1", "A/a2", "C/c2", "D/d1", "E/e1", "E/e2"}));
}

TEST_F(PacerTest, CampaignsTakeTurnsSkippingPausedOnes) {
  campaign("A", {"a1", "a2", "a3"}, 1);
  campaign("B", {"b1", "b2", "b3"}, 2);
  campaign("P", {"p1", "p2"}, 2.5);
  campaign("C", {"c1", "c2", "c3"}, 3);
  c_.cmd({"SADD", keys_.paused_campaigns(), "P"});
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(release(args()).released, 1);
  EXPECT_EQ(ready(), (Strings{"A/a1", "B/b1", "C/c1"}));
  campaign("D", {"d1", "d2"}, 100);  // arrives later: takes its turn after C, not after A..C
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ(release(args()).released, 1);
  EXPECT_EQ(ready(), (Strings{"A/a1", "B/b1", "C/c1", "D/d1", "A/a2", "B/b2", "C/c2", "D/d2",
                              "A/a3", "B/b3", "C/c3"}));
  // Only the paused campaign is left: nothing released, it stays due.
  const auto r = release(args());
  EXPECT_EQ(r.released, 0);
  EXPECT_EQ(r.reason, ReleaseReason::paused);
  EXPECT_EQ(c_.list(keys_.dispatch("P", "s1")), (Strings{"p1", "p2"}));
  EXPECT_EQ(c_.integer({"ZCARD", keys_.backlog("s1")}), 1);
  EXPECT_FALSE(c_.cmd({"ZSCORE", keys_.pace_due(), "s1"}).nil());
  c_.cmd({"SREM", keys_.paused_campaigns(), "P"});
  EXPECT_EQ(release(args()).released, 1);
  EXPECT_EQ(ready().back(), "P/p1");
}

TEST_F(PacerTest, CapRefusesAndResetsOnANewDay) {
  campaign("1", {"c1", "c2", "c3", "c4"}, 1);
  auto a = args(5);
  a.cap_today = 2;
  EXPECT_EQ(release(a).released, 2);  // n lowered to what the cap leaves
  const auto r = release(a);
  EXPECT_EQ(r.released, 0);
  EXPECT_EQ(r.reason, ReleaseReason::cap);
  EXPECT_EQ(r.released_today, 2);
  EXPECT_EQ(c_.list(keys_.dispatch("1", "s1")), (Strings{"c3", "c4"}));
  a.day = "2025-12-06";
  a.n = 1;
  const auto next = release(a);
  EXPECT_EQ(next.released, 1);
  EXPECT_EQ(next.released_today, 1);
  EXPECT_EQ(pace("day"), "2025-12-06");
  EXPECT_EQ(ready(), (Strings{"1/c1", "1/c2", "1/c3"}));
}

TEST_F(PacerTest, ATargetWhoseGapIsNotOverIsHeldBack) {
  campaign("1", {"c1", "c2"}, 1);
  EXPECT_EQ(release(args()).released, 1);  // next_at: kNow + 30 s
  c_.cmd(
      {"ZADD", keys_.pace_due(), "0", "s1"});  // as a finish step would (NX after the list emptied)
  const auto r = release(args(), "s1", true);
  EXPECT_EQ(r.released, 0);
  EXPECT_EQ(r.reason, ReleaseReason::early);
  EXPECT_EQ(c_.str({"ZSCORE", keys_.pace_due(), "s1"}), std::to_string(kNow + 30'000));
  EXPECT_EQ(c_.list(keys_.dispatch("1", "s1")), (Strings{"c2"}));
  auto later = args();
  later.now_ms = kNow + 30'000;
  EXPECT_EQ(release(later, "s1", true).released, 1);
}

TEST_F(PacerTest, ACappedTargetIsLookedAtAgainTheNextDay) {
  campaign("1", {"c1", "c2"}, 1);
  auto a = args();
  a.cap_today = 1;
  a.cap_next_at = kNow + 86'400'000;
  EXPECT_EQ(release(a).released, 1);
  EXPECT_EQ(c_.str({"ZSCORE", keys_.pace_due(), "s1"}), std::to_string(kNow + 30'000));
  EXPECT_EQ(release(a).reason, ReleaseReason::cap);
  EXPECT_EQ(c_.str({"ZSCORE", keys_.pace_due(), "s1"}), std::to_string(kNow + 86'400'000));
  EXPECT_EQ(pace("next_at"), std::to_string(kNow + 86'400'000));
}

TEST_F(PacerTest, TheFactorBelongsToTheHealthCycle) {
  campaign("1", {"c1", "c2"}, 1);
  auto a = args();
  a.factor = 0.8;  // a new target's factor is written once...
  EXPECT_EQ(release(a).released, 1);
  EXPECT_EQ(pace("factor"), "0.8");
  c_.cmd({"HSET", keys_.pace("s1"), "factor", "0.25"});  // ...then the health cycle's stays
  EXPECT_EQ(release(a).released, 1);
  EXPECT_EQ(pace("factor"), "0.25");
}

TEST_F(PacerTest, NothingHappensWithoutTheLock) {
  campaign("1", {"c1"}, 1);
  auto a = args();
  a.lock_token = "mine";
  c_.cmd({"SET", keys_.pacer_lock(), "theirs"});
  const auto r = release(a);
  EXPECT_EQ(r.released, 0);
  EXPECT_EQ(r.reason, ReleaseReason::lock_lost);
  EXPECT_EQ(c_.integer({"EXISTS", keys_.pace("s1")}), 0);
  EXPECT_EQ(c_.list(keys_.dispatch("1", "s1")), (Strings{"c1"}));
  c_.cmd({"SET", keys_.pacer_lock(), "mine"});
  EXPECT_EQ(release(a).released, 1);
}

TEST_F(PacerTest, ACampaignWaitsInTheBacklogWhileContactsAreAppended) {
  campaign("1", {"c1"}, 1);
  const std::string pending = keys_.appending() + ":" + keys_.dispatch("1", "s1");
  c_.cmd({"SET", pending, "1"});
  EXPECT_EQ(release(args()).released, 1);
  EXPECT_EQ(release(args()).reason, ReleaseReason::stale);
  EXPECT_EQ(c_.integer({"ZCARD", keys_.backlog("s1")}), 1);  // kept: more contacts are coming
  c_.cmd({"DEL", pending});
  EXPECT_EQ(release(args()).reason, ReleaseReason::empty);
  EXPECT_EQ(c_.integer({"ZCARD", keys_.backlog("s1")}), 0);
}

TEST_F(PacerTest, BackpressureWhileTheReadyListIsFull) {
  campaign("1", {"c1", "c2", "c3", "c4"}, 1);
  EXPECT_EQ(release(args(1, 2)).released, 1);
  EXPECT_EQ(release(args(5, 2)).released, 1);  // n lowered to the room left
  auto a = args(1, 2);
  a.next_at = kNow + 99'000;
  const auto r = release(a);
  EXPECT_EQ(r.released, 0);
  EXPECT_EQ(r.reason, ReleaseReason::backpressure);
  EXPECT_EQ(c_.list(keys_.dispatch("1", "s1")), (Strings{"c3", "c4"}));
  // Looked at again later, not piled up.
  EXPECT_EQ(c_.str({"ZSCORE", keys_.pace_due(), "s1"}), std::to_string(kNow + 99'000));
  c_.cmd({"LPOP", keys_.ready("s1")});
  EXPECT_EQ(release(args(1, 2)).released, 1);
}

TEST_F(PacerTest, EmptiedCampaignLeavesTheBacklogAndTheTargetLeavesDue) {
  campaign("gone", {}, 0.5);  // its dispatch list was deleted: removed when met
  campaign("1", {"c1"}, 1);
  c_.cmd({"ZADD", keys_.pace_due(), "1", "s1"});
  const auto r = release(args());
  EXPECT_EQ(r.released, 1);
  EXPECT_EQ(c_.integer({"ZCARD", keys_.backlog("s1")}), 0);
  EXPECT_TRUE(c_.cmd({"ZSCORE", keys_.pace_due(), "s1"}).nil());
  EXPECT_EQ(c_.integer({"EXISTS", keys_.dispatch("1", "s1")}), 0);
  const auto again = release(args());
  EXPECT_EQ(again.released, 0);
  EXPECT_EQ(again.reason, ReleaseReason::empty);
  EXPECT_TRUE(c_.cmd({"ZSCORE", keys_.pace_due(), "s1"}).nil());
}

TEST_F(PacerTest, MetaReleasesSeveralInOneCall) {
  const std::string meta = "meta_api:9";
  campaign("1", {"a1", "a2", "a3"}, 1, meta);
  campaign("2", {"b1", "b2", "b3"}, 2, meta);
  auto a = args(5, 10);
  a.cap_today = -1;
  a.list_target = "meta_api";  // the dispatch lists are wa:dispatch:<campaign>:meta_api
  const auto r = release(a, meta);
  EXPECT_EQ(r.released, 5);
  EXPECT_EQ(ready(meta), (Strings{"1/a1", "2/b1", "1/a2", "2/b2", "1/a3"}));
  EXPECT_TRUE(c_.cmd({"HGET", keys_.pace(meta), "cap_today"}).nil());
  EXPECT_EQ(c_.integer({"ZCARD", keys_.backlog(meta)}), 1);  // campaign 1 is done
  EXPECT_EQ(release(a, meta).released, 1);                   // only b3 was left
  EXPECT_EQ(ready(meta).back(), "2/b3");
  EXPECT_TRUE(c_.cmd({"ZSCORE", keys_.pace_due(), meta}).nil());
}

TEST_F(PacerTest, StaleCampaignsAreRemovedInBoundedSteps) {
  // 101 campaigns whose dispatch lists are gone (one of them not even a list), then a live one:
  // a call looks at 100 of them, removes them, releases nothing and says so.
  for (int i = 0; i < 101; ++i)
    campaign("x" + std::to_string(i), {}, i);
  c_.cmd({"SET", keys_.dispatch("x5", "s1"), "not a list"});
  campaign("live", {"c1"}, 1000);
  const auto r = release(args());
  EXPECT_EQ(r.released, 0);
  EXPECT_EQ(r.reason, ReleaseReason::stale);
  EXPECT_EQ(c_.integer({"ZCARD", keys_.backlog("s1")}), 2);
  EXPECT_FALSE(c_.cmd({"ZSCORE", keys_.pace_due(), "s1"}).nil());
  EXPECT_EQ(release(args()).released, 1);
  EXPECT_EQ(ready(), (Strings{"live/c1"}));
  EXPECT_EQ(c_.integer({"ZCARD", keys_.backlog("s1")}), 0);
  EXPECT_EQ(c_.str({"GET", keys_.dispatch("x5", "s1")}), "not a list");  // not ours: left alone
}

TEST_F(PacerTest, ReleaseCountsKeepTwoHours) {
  // Minutes older than 120 go once the hash holds more than 180 fields.
  const long long minute = kNow / 60000;
  Strings fill{"HSET", keys_.released_stats("s1")};
  for (long long m = minute - 300; m < minute - 100; ++m) {
    fill.push_back(std::to_string(m));
    fill.push_back("1");
  }
  c_.cmd(fill);
  campaign("1", {"c1"}, 1);
  EXPECT_EQ(release(args()).released, 1);
  EXPECT_EQ(c_.integer({"HLEN", keys_.released_stats("s1")}), 21);  // minute-120 … -101, now
  EXPECT_TRUE(c_.cmd({"HGET", keys_.released_stats("s1"), std::to_string(minute - 121)}).nil());
  EXPECT_EQ(c_.str({"HGET", keys_.released_stats("s1"), std::to_string(minute - 120)}), "1");
}

TEST_F(PacerTest, AtMostAThousandPerCall) {
  Strings contacts;
  for (int i = 0; i < 1500; ++i)
    contacts.push_back("c" + std::to_string(i));
  campaign("1", contacts, 1, "meta_api:1");
  auto a = args(5000, 1'000'000);
  a.cap_today = -1;
  a.list_target = "meta_api";
  EXPECT_EQ(release(a, "meta_api:1").released, 1000);
  EXPECT_EQ(release(a, "meta_api:1").released, 500);
  EXPECT_THROW(release(args(0)), std::invalid_argument);
}

// The longest EVALSHA/EVAL in the slow log, in µs.
long long slowest_script(Client& c) {
  long long worst = -1;
  for (const auto& e : c.cmd({"SLOWLOG", "GET", "100"}).elements) {
    const auto& argv = e.elements[3].elements;
    if (!argv.empty() && (argv[0].str == "EVALSHA" || argv[0].str == "EVAL"))
      worst = std::max(worst, e.elements[2].integer);
  }
  return worst;
}

TEST_F(PacerTest, AHugeBacklogStaysBounded) {
  // 10,000 campaigns, all paused but the last: a call looks at 100 of them, whatever the size.
  c_.cmd({"EVAL", R"lua(
for i = 1, 10000 do
  local id = 'c' .. i
  redis.call('RPUSH', 'wa:dispatch:' .. id .. ':s1', 'x' .. i)
  redis.call('ZADD', 'wa:backlog:s1', i, id)
  if i < 10000 then redis.call('SADD', 'wa:campaigns:paused', id) end
end
)lua",
          "0"});
  c_.cmd({"CONFIG", "SET", "slowlog-log-slower-than", "0"});
  c_.cmd({"SLOWLOG", "RESET"});
  const auto r = release(args());
  EXPECT_EQ(r.released, 0);
  EXPECT_EQ(r.reason, ReleaseReason::paused);
  EXPECT_EQ(pace("last_campaign"), "");
  c_.cmd({"SREM", keys_.paused_campaigns(), "c1", "c2"});
  EXPECT_EQ(release(args()).released, 1);
  EXPECT_EQ(ready(), (Strings{"c1/x1"}));
  EXPECT_EQ(c_.integer({"ZCARD", keys_.backlog("s1")}), 9999);
  const long long worst = slowest_script(c_);
  EXPECT_GE(worst, 0);
  EXPECT_LT(worst, 10'000) << "µs";
  RecordProperty("slowest_release_us", std::to_string(worst));
}

TEST_F(PacerTest, ExactlyOnceFromTwoConnections) {
  const int per = 300;
  std::set<std::string> initial;
  for (const std::string id : {"1", "2", "3"}) {
    Strings contacts;
    for (int i = 0; i < per; ++i)
      contacts.push_back(id + "-" + std::to_string(i));
    initial.insert(contacts.begin(), contacts.end());
    campaign(id, contacts, std::stod(id));
  }
  auto other = connect("pacer2");
  auto loop = [this](redis::Connection& conn) -> asio::awaitable<long long> {
    long long total = 0;
    auto a = args(3, 1'000'000);
    a.next_at = kNow;  // no gap: the two race for every contact
    for (;;) {
      const auto r = co_await queue::release(conn, keys_, "s1", a);
      total += r.released;
      if (r.reason == ReleaseReason::empty) co_return total;
    }
  };
  auto f1 = asio::co_spawn(io_, loop(*conn_), asio::use_future);
  auto f2 = asio::co_spawn(io_, loop(*other), asio::use_future);
  while (f1.wait_for(std::chrono::seconds(0)) != std::future_status::ready ||
         f2.wait_for(std::chrono::seconds(0)) != std::future_status::ready)
    io_.run_for(std::chrono::milliseconds(5));
  const long long a = f1.get(), b = f2.get();
  EXPECT_GT(a, 0);
  EXPECT_GT(b, 0);
  const Strings got = ready();
  EXPECT_EQ(static_cast<long long>(got.size()), a + b);
  std::set<std::string> contacts;
  for (const auto& g : got)
    contacts.insert(g.substr(g.find('/') + 1));
  EXPECT_EQ(contacts, initial);  // none lost, none twice (the sizes match)
  EXPECT_EQ(got.size(), initial.size());
  EXPECT_EQ(pace("released_today"), std::to_string(3 * per));
}

}  // namespace
}  // namespace wa::test
