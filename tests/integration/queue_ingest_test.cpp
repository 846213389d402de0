// Event batches applied in parts (queue/scripts.hpp apply_events_script), in process against a
// real redis-server: a batch cut short after its first part (a daemon killed, or its lock
// lost) is finished by the next holder of the events lock, and every event counts once.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>

#include "harness.hpp"
#include "inproc.hpp"
#include "queue/exec.hpp"
#include "queue/store.hpp"

namespace wa::test {
namespace {

namespace asio = boost::asio;
using Strings = std::vector<std::string>;

class IngestTest : public InProcess {
 protected:
  IngestTest() : keys_("", "wa-campaigns"), conn_(connect("ingest")), store_(*conn_, keys_) {}

  // n events of n workspaces and sessions (2n statistics keys), then one malformed event.
  void push_events(int n) {
    for (int k = 0; k < n; k += 1000) {
      Strings args{"RPUSH", keys_.events()};
      for (int j = k; j < std::min(n, k + 1000); ++j) {
        const std::string id = std::to_string(j);
        args.push_back(R"({"session_id":"s)" + id + R"(","workspace_id":)" + id +
                       R"(,"provider":"webjs","status":"sent"})");
      }
      c_.cmd(args);
    }
    c_.cmd({"RPUSH", keys_.events(), "garbage"});
  }
  Strings script_keys() const {
    return {keys_.events(), keys_.events_lock(), keys_.events_malformed(), keys_.events_staged()};
  }
  // The first call of a batch's apply alone, as a daemon that dies right after it sends it.
  Reply first_call_only(const std::string& token, const queue::EventBatch& b) {
    Strings args{"EVAL", queue::apply_events_script().source, "4"};
    for (const auto& k : script_keys())
      args.push_back(k);
    args.push_back(token);
    args.insert(args.end(), b.args.begin(), b.args.end());
    return c_.cmd(args);
  }
  Reply staged_call(const std::string& token) {
    Strings args{"EVAL", queue::apply_staged_events_script().source, "4"};
    for (const auto& k : script_keys())
      args.push_back(k);
    args.push_back(token);
    return c_.cmd(args);
  }
  // {daily totals, session bucket totals, daily keys}.
  std::vector<long long> counted() {
    const Reply r = c_.cmd({"EVAL", R"(
      local d, s, n = 0, 0, 0
      for _, k in ipairs(redis.call('KEYS', 'wa:stats:daily:*')) do
        d = d + tonumber(redis.call('HGET', k, 'total')); n = n + 1
      end
      for _, k in ipairs(redis.call('KEYS', 'wa:stats:session:*')) do
        for _, v in ipairs(redis.call('HVALS', k)) do s = s + struct.unpack('<I4', v) end
      end
      return {d, s, n})",
                            "0"});
    return {r.elements.at(0).integer, r.elements.at(1).integer, r.elements.at(2).integer};
  }

  queue::Keys keys_;
  std::shared_ptr<redis::Connection> conn_;
  queue::Store store_;
  config::Config cfg_;
};

// Daemon A applies the first part of a 3,001-event batch and dies; B takes the lock, applies
// what A staged (before reading anything), and the batch counts once.
TEST_F(IngestTest, ABatchCutShortIsFinishedByTheNextLockHolderExactlyOnce) {
  push_events(3000);
  const double now = static_cast<double>(now_seconds());
  c_.cmd({"SET", keys_.events_lock(), "A"});
  const queue::EventBatch batch = await(store_.read_events(5000, now, cfg_));
  ASSERT_EQ(batch.count, 3001u);
  ASSERT_GE(batch.staged, 50u);
  const Reply first = first_call_only("A", batch);
  ASSERT_EQ(first.elements.size(), 2u) << first.str;
  EXPECT_EQ(first.elements[0].integer, 1);
  EXPECT_EQ(c_.integer({"LLEN", keys_.events()}), 3001);  // trimmed only by the last part
  EXPECT_EQ(c_.integer({"LLEN", keys_.events_staged()}), static_cast<long long>(batch.staged));
  EXPECT_EQ(c_.integer({"TTL", keys_.events_staged()}), -1);  // never expires

  // The lock passes to B: A's late calls apply nothing.
  c_.cmd({"SET", keys_.events_lock(), "B"});
  EXPECT_EQ(staged_call("A").elements.at(0).integer, 0);
  EXPECT_EQ(first_call_only("A", batch).elements.at(0).integer, 0);
  // Reading the head again while parts wait: the apply refuses.
  EXPECT_EQ(first_call_only("B", batch).elements.at(0).integer, -2);

  const queue::IngestReport drained = await(store_.drain_staged_events("B"));
  EXPECT_FALSE(drained.lock_lost);
  EXPECT_EQ(drained.consumed, 3001u);
  EXPECT_EQ(drained.malformed, 1u);
  EXPECT_EQ(c_.integer({"EXISTS", keys_.events_staged()}), 0);
  EXPECT_EQ(c_.integer({"LLEN", keys_.events()}), 0);
  EXPECT_EQ(await(store_.read_events(5000, now, cfg_)).count, 0u);
  EXPECT_EQ(counted(), (std::vector<long long>{3000, 3000, 3000}));
  EXPECT_EQ(c_.str({"GET", keys_.events_malformed()}), "1");
}

// B reads the head and applies while A's parts still wait (B did not drain first): its apply is
// refused, the staged calls pipelined behind it finish A's batch, and B reads again.
TEST_F(IngestTest, AnApplyFromTheHeadWhilePartsWaitFinishesThemFirst) {
  push_events(3000);
  const double now = static_cast<double>(now_seconds());
  c_.cmd({"SET", keys_.events_lock(), "A"});
  const queue::EventBatch batch = await(store_.read_events(5000, now, cfg_));
  ASSERT_EQ(first_call_only("A", batch).elements.at(0).integer, 1);
  c_.cmd({"SET", keys_.events_lock(), "B"});
  push_events(10);  // more events behind the batch

  queue::EventBatch again = await(store_.read_events(5000, now, cfg_));
  ASSERT_EQ(again.count, 3012u);
  const queue::IngestStep step = await(store_.apply_events("B", std::move(again), 5000, now, cfg_));
  EXPECT_TRUE(step.report.lock_lost);  // read again from the head
  EXPECT_FALSE(step.next.has_value());
  EXPECT_EQ(step.report.consumed, 3001u);  // A's batch, finished by B's staged calls
  EXPECT_EQ(c_.integer({"LLEN", keys_.events()}), 11);

  const queue::IngestReport drained = await(store_.drain_staged_events("B"));
  EXPECT_EQ(drained.consumed, 0u);
  const queue::EventBatch rest = await(store_.read_events(5000, now, cfg_));
  ASSERT_EQ(rest.count, 11u);
  const queue::IngestStep last = await(store_.apply_events("B", rest, 5000, now, cfg_));
  EXPECT_FALSE(last.report.lock_lost);
  EXPECT_EQ(last.report.consumed, 11u);
  EXPECT_EQ(c_.integer({"LLEN", keys_.events()}), 0);
  EXPECT_EQ(counted(), (std::vector<long long>{3010, 3010, 3000}));
  EXPECT_EQ(c_.str({"GET", keys_.events_malformed()}), "2");
}

}  // namespace
}  // namespace wa::test
