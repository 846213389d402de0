// JobQueue against a real redis-server, in process: the outcomes of the Lua-free finish (done,
// already decided, lease lost, the same marker twice in one batch), a failing write, a watched
// key written between its read and its transaction; and the notify entry of every job that take
// or release puts back on the queue; staged round-robin dealing; replies read in place by a
// visitor (redis::Visitor).
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <thread>

#include "harness.hpp"
#include "inproc.hpp"
#include "queue/appends.hpp"
#include "queue/exec.hpp"
#include "queue/job_queue.hpp"

namespace wa::test {
namespace {

namespace asio = boost::asio;
using queue::FinishOutcome;
using queue::TxJob;
using Strings = std::vector<std::string>;

class JobQueueTest : public InProcess {
 protected:
  JobQueueTest() : keys_("", "wa-campaigns"), conn_(connect("tx")), queue_(*conn_, keys_) {}

  // A reserved job with one dispatch list, its decision and a result record.
  TxJob job(const std::string& id, const std::string& marker_attempt = "0") {
    const std::string payload = R"({"job_id":")" + id + R"("})";
    c_.cmd({"ZADD", keys_.reserved(), "99999999999999", payload});
    TxJob j;
    j.payload = payload;
    j.marker = keys_.decided(id, marker_attempt);
    j.writes.push_back({"RPUSH", "wa:dispatch:" + id + ":s1", "c1", "c2"});
    j.writes.push_back({"SET", "wa:campaign:" + id + ":decision", "{}", "EX", "60"});
    j.results.push_back("result-" + id);
    j.active_score = "1";
    j.active = id;
    return j;
  }

  std::vector<queue::FinishResult> finish(std::vector<TxJob>& jobs) {
    return await(queue_.finish_tx(*conn_, jobs, 600));
  }

  std::vector<queue::FinishResult> finish_script(const std::vector<TxJob>& jobs) {
    return await(queue_.finish_by_script(jobs, 600, 1000));
  }

  double reserved_score(const std::string& member) {
    return std::stod(c_.str({"ZSCORE", keys_.reserved(), member}));
  }

  static long long outcome(const queue::FinishResult& r) {
    return static_cast<long long>(r.outcome);
  }

  queue::Keys keys_;
  std::shared_ptr<redis::Connection> conn_;
  queue::JobQueue queue_;
};

TEST_F(JobQueueTest, WritesEverythingAndAcknowledges) {
  ASSERT_TRUE(conn_->ready());
  std::vector<TxJob> jobs{job("a"), job("b")};
  const auto r = finish(jobs);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(outcome(r[0]), static_cast<long long>(FinishOutcome::done));
  EXPECT_EQ(outcome(r[1]), static_cast<long long>(FinishOutcome::done));
  EXPECT_EQ(c_.list("wa:dispatch:a:s1"), (Strings{"c1", "c2"}));
  EXPECT_EQ(c_.list("wa:dispatch:b:s1"), (Strings{"c1", "c2"}));
  EXPECT_EQ(c_.list("wa:results"), (Strings{"result-a", "result-b"}));
  EXPECT_EQ(c_.integer({"ZCARD", "wa:campaigns:active"}), 2);
  EXPECT_EQ(c_.integer({"ZCARD", keys_.reserved()}), 0);
  EXPECT_EQ(c_.str({"GET", "wa:decided:a:0"}), "1");
  EXPECT_GT(c_.integer({"TTL", "wa:decided:a:0"}), 500);
}

TEST_F(JobQueueTest, DecidedLostAndTwiceInOneBatch) {
  std::vector<TxJob> jobs{job("done"), job("dup"), job("lost"), job("done")};
  jobs[3].payload += " ";  // other bytes, same job_id and attempt
  c_.cmd({"ZADD", keys_.reserved(), "99999999999999", jobs[3].payload});
  c_.cmd({"SET", "wa:decided:dup:0", "1"});
  c_.cmd({"ZREM", keys_.reserved(), jobs[2].payload});
  const auto r = finish(jobs);
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(outcome(r[0]), static_cast<long long>(FinishOutcome::done));
  EXPECT_EQ(outcome(r[1]), static_cast<long long>(FinishOutcome::duplicate));
  EXPECT_EQ(outcome(r[2]), static_cast<long long>(FinishOutcome::lease_lost));
  EXPECT_EQ(outcome(r[3]), static_cast<long long>(FinishOutcome::duplicate));
  EXPECT_EQ(c_.list("wa:dispatch:done:s1"), (Strings{"c1", "c2"}));  // once
  EXPECT_TRUE(c_.list("wa:dispatch:dup:s1").empty());
  EXPECT_TRUE(c_.list("wa:dispatch:lost:s1").empty());
  EXPECT_EQ(c_.list("wa:results"), (Strings{"result-done"}));
  EXPECT_EQ(c_.integer({"ZCARD", keys_.reserved()}), 0);  // the duplicates are acknowledged
}

TEST_F(JobQueueTest, ALargeBatchGoesInSeveralTransactions) {
  std::vector<TxJob> jobs;
  for (int i = 0; i < 150; ++i)
    jobs.push_back(job("n" + std::to_string(i)));
  jobs.push_back(job("n3"));  // the same job_id and attempt as job 3, two transactions later
  jobs.back().payload += " ";
  c_.cmd({"ZADD", keys_.reserved(), "99999999999999", jobs.back().payload});
  c_.cmd({"SET", "wa:dispatch:n100:s1", "not a list"});  // fails in the second transaction
  const auto r = finish(jobs);
  ASSERT_EQ(r.size(), 151u);
  for (int i = 0; i < 150; ++i) {
    SCOPED_TRACE(i);
    if (i == 100) {
      EXPECT_EQ(r[i].outcome, FinishOutcome::write_failed);
      continue;
    }
    EXPECT_EQ(outcome(r[i]), static_cast<long long>(FinishOutcome::done));
    EXPECT_EQ(c_.list("wa:dispatch:n" + std::to_string(i) + ":s1"), (Strings{"c1", "c2"}));
  }
  EXPECT_EQ(outcome(r[150]), static_cast<long long>(FinishOutcome::duplicate));
  EXPECT_EQ(c_.integer({"LLEN", "wa:results"}), 150);
  EXPECT_EQ(c_.integer({"ZCARD", keys_.reserved()}), 0);
  EXPECT_EQ(jobs[100].payload, R"({"job_id":"n100"})");  // the jobs are given back in order
}

TEST_F(JobQueueTest, AFailingWriteIsReportedAndTheJobAcknowledged) {
  c_.cmd({"SET", "wa:dispatch:bad:s1", "not a list"});
  std::vector<TxJob> jobs{job("bad"), job("good")};
  const auto r = finish(jobs);
  ASSERT_EQ(r.size(), 2u);
  ASSERT_EQ(r[0].outcome, FinishOutcome::write_failed);
  EXPECT_TRUE(r[0].error.starts_with("RPUSH wa:dispatch:bad:s1: WRONGTYPE")) << r[0].error;
  EXPECT_EQ(outcome(r[1]), static_cast<long long>(FinishOutcome::done));
  // Its other outputs are written: it must not be decided again (they would be written twice).
  EXPECT_EQ(c_.str({"GET", "wa:decided:bad:0"}), "1");
  EXPECT_EQ(c_.integer({"ZCARD", keys_.reserved()}), 0);
  EXPECT_EQ(c_.list("wa:results"), (Strings{"result-bad", "result-good"}));
  EXPECT_EQ(c_.list("wa:dispatch:good:s1"), (Strings{"c1", "c2"}));
}

TEST_F(JobQueueTest, AWatchedKeyWrittenMeanwhileAbortsEverything) {
  for (const std::string watched : {"wa:decided:b:0", "queues:wa-campaigns:deliveries"}) {
    SCOPED_TRACE(watched);
    c_.cmd({"FLUSHALL"});
    std::vector<TxJob> jobs{job("a"), job("b")};
    queue_.set_before_exec([&] { c_.cmd({"HSET", watched + "-h", "x", "1"}); });
    // A key that is not watched changes nothing.
    auto r = finish(jobs);
    EXPECT_EQ(outcome(r[0]), static_cast<long long>(FinishOutcome::done));
    c_.cmd({"FLUSHALL"});
    jobs = {job("a"), job("b")};
    queue_.set_before_exec([&] {
      if (watched.starts_with("wa:decided")) {
        c_.cmd({"SET", watched, "1"});  // another daemon decided b meanwhile
      } else {
        c_.cmd({"HINCRBY", watched, "f", "1"});  // a lease was recovered meanwhile
      }
    });
    r = finish(jobs);
    ASSERT_EQ(r.size(), 2u);
    for (const auto& x : r)
      EXPECT_EQ(outcome(x), static_cast<long long>(FinishOutcome::again));
    EXPECT_EQ(c_.integer({"EXISTS", "wa:dispatch:a:s1", "wa:dispatch:b:s1", "wa:results"}), 0);
    EXPECT_EQ(c_.integer({"ZCARD", keys_.reserved()}), 2);
    EXPECT_EQ(c_.integer({"EXISTS", "wa:decided:a:0"}), 0);
    queue_.set_before_exec({});
  }
}

// A big contacts_key list: the daemon copies each target's slice into a stage list in bounded
// commands (stage_slices), and the finish script's WA_PLACE renames it into place, or registers
// it to be appended to a dispatch list that exists already (queue/appends); a stage that is not
// whole writes nothing.
TEST_F(JobQueueTest, StagesArePlacedRegisteredForAppendsOrRefused) {
  Strings all;
  for (int i = 0; i < 25001; ++i)  // three LRANGE chunks, 10,000 % 3 != 0: offsets shift
    all.push_back("c" + std::to_string(i));
  for (std::size_t from = 0; from < all.size(); from += 5000) {
    redis::Command push{"RPUSH", "src"};
    push.insert(push.end(), all.begin() + static_cast<long>(from),
                all.begin() + static_cast<long>(std::min(all.size(), from + 5000)));
    c_.cmd(push);
  }
  std::vector<Strings> expected(3);
  for (std::size_t i = 0; i < all.size(); ++i)
    expected[i % 3].push_back(all[i]);
  const std::vector<core::Slice> rr{{0, 3, 8334}, {1, 3, 8334}, {2, 3, 8333}};

  for (const bool broken : {false, true}) {
    SCOPED_TRACE(broken ? "a stage not whole" : "whole stages");
    c_.cmd({"DEL", "d0", "d1", "d2", "wa:results", "wa:appending"});
    c_.cmd({"RPUSH", "d1", "old"});  // d1 exists: appended to, not replaced
    const Strings stages{"st0", "st1", "st2"}, dsts{"d0", "d1", "d2"};
    const auto lens = await(queue_.stage_slices("src", all.size(), rr, stages, 600));
    ASSERT_TRUE(lens);
    EXPECT_EQ(*lens, (std::vector<std::uint64_t>{8334, 8334, 8333}));
    for (std::size_t j = 0; j < 3; ++j) {
      EXPECT_EQ(c_.list(stages[j]), expected[j]) << j;
      const long long ttl = c_.integer({"TTL", stages[j]});
      EXPECT_GT(ttl, 500) << j;
      EXPECT_LE(ttl, 600) << j;
    }
    if (broken) c_.cmd({"LPOP", "st2"});  // e.g. expired or touched: WA_PLACE must not trust it
    TxJob j = job(broken ? "p2" : "p1");
    j.contacts_key = "src";
    j.contacts_len = all.size();
    j.writes.clear();
    for (std::size_t t = 0; t < 3; ++t)
      j.writes.push_back({"WA_PLACE", stages[t], dsts[t], std::to_string((*lens)[t])});
    const auto r = finish_script({j});
    ASSERT_EQ(r.size(), 1u);
    if (broken) {
      EXPECT_EQ(r[0].outcome, FinishOutcome::contacts_changed);
      EXPECT_NE(r[0].error.find("st2"), std::string::npos) << r[0].error;
      EXPECT_EQ(c_.list("d1"), Strings{"old"});  // nothing written
      EXPECT_EQ(c_.integer({"EXISTS", "d0", "d2", "wa:results", "wa:decided:p2:0"}), 0);
      EXPECT_EQ(c_.integer({"ZCARD", keys_.reserved()}), 1);  // still in hand
      continue;
    }
    EXPECT_EQ(outcome(r[0]), static_cast<long long>(FinishOutcome::done)) << r[0].error;
    EXPECT_EQ(c_.list("d0"), expected[0]);
    EXPECT_EQ(c_.list("d2"), expected[2]);
    EXPECT_EQ(c_.list("d1"), Strings{"old"});  // registered: appended in steps
    EXPECT_EQ(c_.integer({"ZCARD", "wa:appending"}), 1);
    EXPECT_EQ(c_.integer({"TTL", "st1"}), -1);  // kept until appended
    const auto report = await(queue::run_appends(*conn_, keys_, 16));
    EXPECT_EQ(report.appended, 1u);
    EXPECT_TRUE(report.errors.empty());
    Strings d1{"old"};
    d1.insert(d1.end(), expected[1].begin(), expected[1].end());
    EXPECT_EQ(c_.list("d1"), d1);
    for (const std::string d : {"d0", "d1", "d2"})
      EXPECT_EQ(c_.integer({"TTL", d}), -1) << d;  // dispatch lists are the app's: no TTL
    EXPECT_EQ(c_.integer({"EXISTS", "st0", "st1", "st2", "wa:appending"}), 0);
  }
  // A source that is not a list: nothing staged, the stages deleted.
  c_.cmd({"SET", "not-a-list", "x"});
  c_.cmd({"RPUSH", "st0", "leftover"});
  EXPECT_FALSE(await(queue_.stage_slices("not-a-list", 20000, {{0, 1, 10000}, {10000, 1, 10000}},
                                         {"st0", "st1"}, 600)));
  EXPECT_EQ(c_.integer({"EXISTS", "st0", "st1"}), 0);
  EXPECT_EQ(c_.list("src").size(), all.size());  // the source is only read
}

// Contiguous blocks, and contacts in memory, staged the same way.
TEST_F(JobQueueTest, StagesHoldContiguousBlocksAndInlineContacts) {
  Strings all;
  for (int i = 0; i < 23456; ++i)
    all.push_back(std::to_string(i));
  const std::vector<core::Slice> blocks{{0, 1, 15000}, {15000, 1, 0}, {15000, 1, 8456}};
  const auto lens = await(queue_.stage_inline(all, blocks, {"a", "b", "c"}, 600));
  ASSERT_TRUE(lens);
  EXPECT_EQ(*lens, (std::vector<std::uint64_t>{15000, 0, 8456}));
  EXPECT_EQ(c_.list("a"), Strings(all.begin(), all.begin() + 15000));
  EXPECT_EQ(c_.list("c"), Strings(all.begin() + 15000, all.end()));
  EXPECT_EQ(c_.integer({"EXISTS", "b"}), 0);
}

// One job's failure never holds another: a contacts_key that is not a list is refused with its
// type named, a job whose check fails unexpectedly is `failed`, the rest are written.
TEST_F(JobQueueTest, TheFinishScriptSettlesEachJobOnItsOwn) {
  c_.cmd({"HSET", "hash-key", "f", "v"});
  c_.cmd({"SET", "string-stage", "x"});
  c_.cmd({"RPUSH", "list-key", "c1"});
  std::vector<TxJob> jobs{job("wrongtype"), job("good"), job("badstage")};
  jobs[0].contacts_key = "hash-key";
  jobs[1].contacts_key = "list-key";
  jobs[1].contacts_len = 1;
  jobs[2].writes.insert(jobs[2].writes.begin(), {"WA_PLACE", "string-stage", "dx", "1"});
  const auto r = finish_script(jobs);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].outcome, FinishOutcome::rejected);
  EXPECT_EQ(r[0].error, "contacts_key hash-key holds a hash, not a list");
  EXPECT_EQ(r[1].outcome, FinishOutcome::done) << r[1].error;
  EXPECT_EQ(r[2].outcome, FinishOutcome::failed);
  EXPECT_NE(r[2].error.find("WRONGTYPE"), std::string::npos) << r[2].error;
  EXPECT_EQ(c_.list("wa:results"), Strings{"result-good"});
  EXPECT_EQ(c_.integer({"EXISTS", "wa:decided:wrongtype:0", "wa:decided:badstage:0"}), 0);
  EXPECT_EQ(c_.integer({"ZCARD", keys_.reserved()}), 2);  // the two still in hand
}

// A transaction refused as a whole (OOM) fails its jobs without writing anything or throwing.
TEST_F(JobQueueTest, ARefusedTransactionFailsItsJobs) {
  std::vector<TxJob> jobs{job("a"), job("b")};
  c_.cmd({"CONFIG", "SET", "maxmemory", "1"});
  const auto r = finish(jobs);
  c_.cmd({"CONFIG", "SET", "maxmemory", "0"});
  ASSERT_EQ(r.size(), 2u);
  for (const auto& x : r) {
    EXPECT_EQ(x.outcome, FinishOutcome::failed);
    EXPECT_NE(x.error.find("OOM"), std::string::npos) << x.error;
  }
  EXPECT_EQ(c_.integer({"EXISTS", "wa:dispatch:a:s1", "wa:results", "wa:decided:a:0"}), 0);
  EXPECT_EQ(c_.integer({"ZCARD", keys_.reserved()}), 2);
}

// An append into a dispatch list of another type moves nothing and says so; the stage waits.
TEST_F(JobQueueTest, AnAppendIntoAKeyOfAnotherTypeWaits) {
  c_.cmd({"RPUSH", "stage", "c1", "c2"});
  c_.cmd({"SET", "dst", "x"});
  c_.cmd({"ZADD", "wa:appending", "1", "5:stagedst"});
  const auto report = await(queue::run_appends(*conn_, keys_, 16));
  EXPECT_EQ(report.appended, 0u);
  ASSERT_EQ(report.errors.size(), 1u);
  EXPECT_NE(report.errors[0].find("holds a string"), std::string::npos) << report.errors[0];
  EXPECT_EQ(c_.list("stage"), (Strings{"c1", "c2"}));
  EXPECT_EQ(c_.integer({"ZCARD", "wa:appending"}), 1);
}

// redis::Visitor: replies read in place inside hiredis's tree, in order, each with its index;
// the handler gets arrays as their count only and every other reply as usual.
TEST_F(JobQueueTest, AVisitorReadsEveryReplyInPlace) {
  c_.cmd({"RPUSH", "l", "a", "", "c\r\nd"});
  c_.cmd({"SET", "s", "x"});
  redis::Wire w;
  for (const Strings& cmd : std::vector<Strings>{{"LRANGE", "l", "0", "-1"},
                                                 {"GET", "missing"},
                                                 {"LPUSH", "s", "y"},
                                                 {"LLEN", "l"},
                                                 {"GET", "s"}}) {
    w.command(cmd.size());
    for (const auto& a : cmd)
      w.arg(a);
  }
  struct Seen {
    std::size_t index;
    redis::Reply::Type type;
    std::string str;
    long long integer;
    Strings elements;
  };
  std::vector<Seen> seen;
  queue::Pending p(*conn_, std::move(w), [&](std::size_t i, redis::ReplyView r) {
    Seen s{i, r.type(), std::string(r.str()), r.integer(), {}};
    for (std::size_t e = 0; e < r.size(); ++e)
      s.elements.emplace_back(r[e].str());
    seen.push_back(std::move(s));
  });
  const auto replies = await(p.get());
  ASSERT_EQ(seen.size(), 5u);
  for (std::size_t i = 0; i < seen.size(); ++i)
    EXPECT_EQ(seen[i].index, i);
  EXPECT_EQ(seen[0].type, redis::Reply::Type::array);
  EXPECT_EQ(seen[0].elements, (Strings{"a", "", "c\r\nd"}));
  EXPECT_EQ(seen[1].type, redis::Reply::Type::nil);
  EXPECT_EQ(seen[2].type, redis::Reply::Type::error);
  EXPECT_TRUE(seen[2].str.starts_with("WRONGTYPE")) << seen[2].str;
  EXPECT_EQ(seen[3].type, redis::Reply::Type::integer);
  EXPECT_EQ(seen[3].integer, 3);
  EXPECT_EQ(seen[4].type, redis::Reply::Type::string);
  EXPECT_EQ(seen[4].str, "x");
  ASSERT_EQ(replies.size(), 5u);
  EXPECT_TRUE(replies[0].is_array());
  EXPECT_EQ(replies[0].integer, 3);
  EXPECT_TRUE(replies[0].elements.empty());
  EXPECT_TRUE(replies[1].is_nil());
  EXPECT_TRUE(replies[2].is_error());
  EXPECT_EQ(replies[3].integer, 3);
  EXPECT_EQ(replies[4].str, "x");
}

TEST_F(JobQueueTest, AVisitorThatThrowsTurnsOnlyItsReplyIntoAnError) {
  redis::Wire w;
  w.command(1);
  w.arg("PING");
  w.command(1);
  w.arg("PING");
  queue::Pending p(*conn_, std::move(w), [](std::size_t i, redis::ReplyView) {
    if (i == 0) throw std::runtime_error("boom");
  });
  const auto replies = await(p.get());
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_TRUE(replies[0].is_error());
  EXPECT_EQ(replies[0].str, "reply visitor failed: boom");
  EXPECT_EQ(replies[1].str, "PONG");
  redis::Wire again;  // the connection carries on
  again.command(2);
  again.arg("ECHO");
  again.arg("still here");
  queue::Pending q(*conn_, std::move(again));
  EXPECT_EQ(await(q.get()).at(0).str, "still here");
}

// CONTRACT.md section 1: every job put back on the queue, from any of delayed, reserved (an
// expired lease) or a release at shutdown, gets its notify entry, and every job taken removes
// one: the notify list keeps counting the jobs in the queue, so blocked consumers wake up.
TEST_F(JobQueueTest, EveryJobPutBackGetsItsNotifyEntry) {
  const std::string queue = keys_.queue(), notify = keys_.notify(), delayed = keys_.delayed();
  c_.cmd({"ZADD", delayed, "0.5", "due-1", "0.6", "due-2", "99999999999", "later"});
  c_.cmd({"ZADD", keys_.reserved(), "0.7", "expired"});
  config::Queue q;
  q.batch_size = 1;
  q.lease_seconds = 60;
  q.max_deliveries = 5;
  const queue::TakeResult t = await(queue_.take(1000, q));
  ASSERT_EQ(t.jobs.size(), 1u);
  EXPECT_EQ(t.jobs[0].payload, "expired");  // back at the head, then taken
  EXPECT_EQ(t.recovered, 1u);
  EXPECT_EQ(c_.list(queue), (Strings{"due-1", "due-2"}));  // due jobs at the tail, in order
  EXPECT_EQ(c_.integer({"LLEN", notify}), 2);              // 3 put back, 1 taken
  EXPECT_EQ(c_.integer({"ZCARD", delayed}), 1);

  // Released at shutdown: back at the head, each with its entry.
  EXPECT_EQ(await(queue_.release({"expired"})), 1);
  EXPECT_EQ(c_.list(queue), (Strings{"expired", "due-1", "due-2"}));
  EXPECT_EQ(c_.integer({"LLEN", notify}), 3);
  EXPECT_EQ(c_.integer({"ZCARD", keys_.reserved()}), 0);
}

// CONTRACT.md section 1: the scores of :reserved and :delayed are Laravel's, Unix seconds (a
// fraction for milliseconds). A job Laravel's later() schedules (whole seconds) is moved once
// due and not before; a lease Laravel's pop script wrote expires at its second; the daemon's own
// leases, new and extended, are scored in seconds.
TEST_F(JobQueueTest, ScoresAreUnixSecondsAsLaravelWritesThem) {
  const std::int64_t now_ms = 1764072000123;  // 2025-11-25T12:00:00.123Z
  c_.cmd({"ZADD", keys_.delayed(), "1764072000", "due", "1764072001", "scheduled"});
  c_.cmd({"ZADD", keys_.reserved(), "1764071999.5", "expired", "1764072000.5", "in-hand"});
  config::Queue q;
  q.batch_size = 10;
  q.lease_seconds = 60;
  const queue::TakeResult t = await(queue_.take(now_ms, q));
  ASSERT_EQ(t.jobs.size(), 2u);
  EXPECT_EQ(t.jobs[0].payload, "expired");
  EXPECT_EQ(t.jobs[1].payload, "due");
  EXPECT_EQ(c_.cmd({"ZRANGE", keys_.delayed(), "0", "-1"}).strings(), (Strings{"scheduled"}));
  EXPECT_DOUBLE_EQ(reserved_score("due"), 1764072060.123);
  EXPECT_DOUBLE_EQ(reserved_score("expired"), 1764072060.123);
  EXPECT_DOUBLE_EQ(reserved_score("in-hand"), 1764072000.5);

  await(queue_.extend({"due", "in-hand"}, now_ms + 20000, q));
  EXPECT_DOUBLE_EQ(reserved_score("due"), 1764072080.123);
  EXPECT_DOUBLE_EQ(reserved_score("in-hand"), 1764072080.123);

  // A second later the scheduled job is due.
  const queue::TakeResult later = await(queue_.take(now_ms + 877, q));
  ASSERT_EQ(later.jobs.size(), 1u);
  EXPECT_EQ(later.jobs[0].payload, "scheduled");
  EXPECT_DOUBLE_EQ(reserved_score("scheduled"), 1764072061.000);
}

// Jobs a daemon before contract v2 left in :delayed and :reserved are scored in milliseconds: they
// are rescaled to seconds, so that a retry is still taken at its time and a lease still expires.
TEST_F(JobQueueTest, MillisecondScoresOfAnEarlierVersionAreRescaled) {
  const std::int64_t now_ms = 1764072000123;
  c_.cmd({"ZADD", keys_.delayed(), std::to_string(now_ms - 1000), "old-due",
          std::to_string(now_ms + 3600000), "old-later"});
  c_.cmd({"ZADD", keys_.reserved(), std::to_string(now_ms - 1000), "old-lease"});
  config::Queue q;
  q.batch_size = 10;
  const queue::TakeResult t = await(queue_.take(now_ms, q));
  ASSERT_EQ(t.jobs.size(), 2u);
  EXPECT_EQ(t.jobs[0].payload, "old-lease");
  EXPECT_EQ(t.jobs[1].payload, "old-due");
  EXPECT_DOUBLE_EQ(std::stod(c_.str({"ZSCORE", keys_.delayed(), "old-later"})), 1764075600.123);
}

}  // namespace
}  // namespace wa::test
