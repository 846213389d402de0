// Redis Cluster (CONTRACT.md section 11) on a local 3-master + 3-replica cluster: the fixture
// itself, the start-up check of the prefix, and the daemon's keys and scripts in one slot.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <fstream>

#include "cluster_util.hpp"
#include "fault_util.hpp"
#include "harness.hpp"
#include "queue/job_queue.hpp"
#include "redis/cluster.hpp"
#include "redis/cluster_router.hpp"
#include "redis/connection.hpp"

namespace wa::test {
namespace {

using cluster::LocalCluster;

const std::string kPrefix = "{wa}:";

std::string cluster_yaml(const cluster::Node& n, const std::string& prefix = kPrefix) {
  return "redis: {cluster: true, host: 127.0.0.1, port: " + std::to_string(n.port()) +
         ", prefix: \"" + prefix + "\"}\n";
}

// A reply of the test's client as the slot router's tree.
redis::cluster::Tree tree_of(const Reply& r) {
  using K = redis::cluster::Tree::Kind;
  redis::cluster::Tree t;
  switch (r.type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
      t.kind = K::string;
      break;
    case REDIS_REPLY_ERROR:
      t.kind = K::error;
      break;
    case REDIS_REPLY_INTEGER:
      t.kind = K::integer;
      break;
    case REDIS_REPLY_ARRAY:
      t.kind = K::array;
      break;
    default:
      t.kind = K::nil;
  }
  t.str = r.str;
  t.integer = r.integer;
  for (const Reply& e : r.elements)
    t.elements.push_back(tree_of(e));
  return t;
}

// The slot router driven by a real cluster: CLUSTER SLOTS of `asked` gives the slot's master.
redis::cluster::Step resolve_at(LocalCluster& c, redis::cluster::SlotRouter& router) {
  redis::cluster::Step s = router.start();
  while (s.kind == redis::cluster::Step::Kind::ask_slots) {
    int asked = -1;
    for (int i = 0; i < c.size(); ++i) {
      if (c.node(i).port() == s.node.port) asked = i;
    }
    s = asked < 0
            ? router.on_unreachable()
            : router.on_slots_reply(tree_of(c.node(asked).client().cmd({"CLUSTER", "SLOTS"})));
  }
  return s;
}

TEST(ClusterFixture, AKeyFollowsItsSlotsMasterThroughAFailover) {
  TempDir dir;
  LocalCluster c(dir);
  const int slot = redis::cluster::key_slot(kPrefix + "x");
  ASSERT_EQ(c.node(0).client().cmd({"CLUSTER", "KEYSLOT", kPrefix + "x"}).integer, slot);
  const int m = c.master_of(slot);
  ASSERT_GE(m, 0);
  ASSERT_EQ(c.node(m).client().str({"SET", kPrefix + "x", "hello"}), "OK");

  // Another master redirects, naming the slot's master.
  const int other = c.master_of((slot + 8192) % redis::cluster::kSlots);
  ASSERT_NE(other, m);
  const Reply moved = c.node(other).client().cmd({"GET", kPrefix + "x"});
  const auto redirect = redis::cluster::parse_redirect(moved.str, {"127.0.0.1", 1});
  ASSERT_TRUE(redirect) << moved.str;
  EXPECT_EQ(redirect->slot, slot);
  EXPECT_EQ(redirect->to.port, c.node(m).port());

  redis::cluster::SlotRouter router({{"127.0.0.1", c.node(other).port()}}, slot);
  EXPECT_EQ(resolve_at(c, router).node, (redis::cluster::Address{"127.0.0.1", c.node(m).port()}));

  const int r = c.replica_of(m);
  ASSERT_GE(r, 0);
  ASSERT_EQ(c.node(m).client().integer({"WAIT", "1", "2000"}), 1);
  ASSERT_TRUE(c.failover(r));
  EXPECT_EQ(c.master_of(slot), r);
  EXPECT_EQ(c.node(r).client().str({"GET", kPrefix + "x"}), "hello");
  EXPECT_EQ(c.node(m).role(), "slave");
  const Reply after = c.node(m).client().cmd({"GET", kPrefix + "x"});
  EXPECT_EQ(after.str, "MOVED " + std::to_string(slot) + " " + c.node(r).address());
  // The router follows that MOVED: the node it names is asked first, and masters the slot.
  EXPECT_EQ(router.on_error_reply(after.str).kind, redis::cluster::Reaction::resolve_again);
  const redis::cluster::Step s = resolve_at(c, router);
  EXPECT_EQ(s.kind, redis::cluster::Step::Kind::use_master);
  EXPECT_EQ(s.node.port, c.node(r).port());
  EXPECT_EQ(router.seeds().front().port, c.node(r).port());
}

TEST(Cluster, PrefixWithoutHashTagIsAStartUpError) {
  TempDir dir;
  const std::string yaml =
      "redis: {cluster: true, host: 127.0.0.1, port: " + std::to_string(fault::free_port()) +
      ", prefix: laravel_database_}\n";
  const std::string path = dir.file("cluster.yaml");
  std::ofstream(path) << yaml;

  const auto started = std::chrono::steady_clock::now();
  std::string out;
  EXPECT_NE(run_daemon({"--config", path, "--check-config"}, &out), 0) << out;
  EXPECT_NE(out.find("hash tag"), std::string::npos) << out;
  EXPECT_NE(out.find("prefix: \"{wa}:\""), std::string::npos) << out;

  Daemon d(dir, "", yaml);
  d.start();
  const int rc = d.wait(std::chrono::seconds(5));
  EXPECT_NE(rc, 0) << d.log();
  EXPECT_NE(rc, -2000) << "still running after 5 s\n" << d.log();
  EXPECT_NE(d.log().find("hash tag"), std::string::npos) << d.log();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(8));
}

// Every key the daemon touches carries the hash-tagged prefix, so every script and transaction
// runs on one slot: pointed at the slot's master, it serves as on a single server (Redis 7
// refuses a script or MULTI that touches keys of another slot with CROSSSLOT, or keys of
// another node).
TEST(Cluster, OnTheSlotsMasterEveryScriptStaysInOneSlot) {
  TempDir dir;
  LocalCluster c(dir);
  const int m = c.master_of(redis::cluster::key_slot(kPrefix));
  ASSERT_GE(m, 0);
  Client& a = c.node(m).client();
  fault::seed_two_sessions(a, kPrefix);
  constexpr int kJobs = 60, kPer = 3;
  fault::push_jobs(a, 1, kJobs, kPer, kPrefix);
  for (int i = 0; i < 20; ++i) {
    a.cmd({"RPUSH", kPrefix + "wa:events",
           R"({"session_id":"s1","workspace_id":"1","provider":"webjs","status":"delivered"})"});
  }

  Daemon d(dir, "", cluster_yaml(c.node(m)) + "health: {check_interval: 0.5}\n");
  d.start();
  ASSERT_TRUE(wait_until(
      [&] { return fault::results_len(a, kPrefix) >= kJobs && fault::drained(a, kPrefix); },
      std::chrono::seconds(20)))
      << d.log();
  ASSERT_TRUE(wait_until([&] {
    return a.integer({"LLEN", kPrefix + "wa:events"}) == 0;
  })) << d.log();
  ASSERT_TRUE(wait_until([&] {
    return !a.cmd({"HGET", kPrefix + "wa:session:s1", "health_updated_at"}).nil();
  })) << d.log();
  EXPECT_TRUE(fault::audit_jobs(a, 1, kJobs, kPer, kPrefix));
  EXPECT_EQ(d.stop(), 0) << d.log();
  for (const char* bad : {"CROSSSLOT", "non local key", "MOVED"}) {
    EXPECT_EQ(d.log().find(bad), std::string::npos) << bad << "\n" << d.log();
  }
}

// The pacer's scripts too (they build dispatch keys from the prefix in Lua): on the slot's
// master every contact is released into the ready list, in order.
TEST(Cluster, OnTheSlotsMasterThePacerReleasesInOneSlot) {
  TempDir dir;
  LocalCluster c(dir);
  const int m = c.master_of(redis::cluster::key_slot(kPrefix));
  ASSERT_GE(m, 0);
  Client& a = c.node(m).client();
  a.cmd({"SET", kPrefix + "wa:lock:health", "held-by-test", "PX", "600000"});
  seed_session(a, {.id = "s1", .primary = true, .health = 95}, kPrefix);
  a.cmd({"HSET", kPrefix + "wa:workspace:1:pacing", "rate_per_hour", "36000"});
  a.cmd({"RPUSH", kPrefix + fault::kQueue, fault::job_payload(7, 20)});
  a.cmd({"RPUSH", kPrefix + fault::kNotify, "1"});

  Daemon d(dir, "", cluster_yaml(c.node(m)) + "pacing: {enabled: true}\n");
  d.start();
  std::vector<std::string> released;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (released.size() < 20 && std::chrono::steady_clock::now() < until) {
    const Reply r = a.cmd({"BLPOP", kPrefix + "wa:ready:s1", "1"});
    if (r.elements.size() == 2) released.push_back(r.elements[1].str);
  }
  ASSERT_EQ(released.size(), 20u) << d.log();
  for (std::size_t i = 0; i < released.size(); ++i) {
    EXPECT_NE(released[i].find("\"contact\":\"" + std::to_string(700 + i) + "\""),
              std::string::npos)
        << released[i];
  }
  EXPECT_EQ(d.stop(), 0) << d.log();
  for (const char* bad : {"CROSSSLOT", "non local key", "MOVED"}) {
    EXPECT_EQ(d.log().find(bad), std::string::npos) << bad << "\n" << d.log();
  }
}

// The daemon is pointed at a node that is not the slot's master (it asks it for the master,
// redis/resolve.hpp), and the slot's master fails over mid-run: the old master answers MOVED,
// the connections find the new one, and every job is decided exactly once.
TEST(Cluster, EveryJobDecidedExactlyOnceThroughAFailover) {
  TempDir dir;
  LocalCluster c(dir);
  const int m = c.master_of(redis::cluster::key_slot(kPrefix));
  ASSERT_GE(m, 0);
  const int seed = c.master_of((redis::cluster::key_slot(kPrefix) + 8192) % redis::cluster::kSlots);
  ASSERT_NE(seed, m);
  Client& a = c.node(m).client();
  fault::seed_two_sessions(a, kPrefix);
  constexpr int kFirst = 1, kBefore = 150, kAfter = 150, kPer = 3;
  fault::push_jobs(a, kFirst, kBefore, kPer, kPrefix);
  a.cmd({"WAIT", "1", "2000"});

  Daemon d(dir, "",
           cluster_yaml(c.node(seed)) +
               "queue: {lease_seconds: 2, batch_size: 16, max_deliveries: 5}\n");
  d.start();
  ASSERT_TRUE(wait_until([&] { return fault::results_len(a, kPrefix) >= 20; })) << d.log();

  const int r = c.replica_of(m);
  ASSERT_GE(r, 0);
  ASSERT_TRUE(c.failover(r));
  Client& b = c.node(r).client();
  fault::push_jobs(b, kFirst + kBefore, kAfter, kPer, kPrefix);

  ASSERT_TRUE(wait_until(
      [&] {
        return fault::results_len(b, kPrefix) >= kBefore + kAfter && fault::drained(b, kPrefix);
      },
      std::chrono::seconds(40)))
      << "results on the new master: " << fault::results_len(b, kPrefix) << "\n"
      << d.log();
  EXPECT_TRUE(fault::audit_jobs(b, kFirst, kBefore + kAfter, kPer, kPrefix));
  // It followed the MOVED to the new master, and said so.
  EXPECT_NE(d.log().find("connected to cluster (seed " + c.node(seed).address() + ", slot " +
                         std::to_string(redis::cluster::key_slot(kPrefix)) + ") at " +
                         c.node(r).address()),
            std::string::npos)
      << d.log();
  EXPECT_EQ(d.stop(), 0) << d.log();
}

// Pointed at a replica of the slot's master, then at another master (no failover): the daemon
// asks that node for the slot's master, works there, and /healthz names it.
TEST(Cluster, PointedAtAReplicaOrAnotherMasterItDecidesJobs) {
  TempDir dir;
  LocalCluster c(dir);
  const int slot = redis::cluster::key_slot(kPrefix);
  const int m = c.master_of(slot);
  ASSERT_GE(m, 0);
  const int replica = c.replica_of(m);
  const int other = c.master_of((slot + 8192) % redis::cluster::kSlots);
  ASSERT_GE(replica, 0);
  ASSERT_NE(other, m);
  Client& a = c.node(m).client();
  fault::seed_two_sessions(a, kPrefix);
  constexpr int kJobs = 40, kPer = 2;
  int first = 1;
  for (const int seed : {replica, other}) {
    fault::push_jobs(a, first, kJobs, kPer, kPrefix);
    const int port = fault::free_port();
    Daemon d(dir, "",
             cluster_yaml(c.node(seed)) + "metrics: {listen: \"127.0.0.1:" + std::to_string(port) +
                 "\"}\n");
    d.start();
    ASSERT_TRUE(wait_until(
        [&] {
          return fault::results_len(a, kPrefix) >= first - 1 + kJobs && fault::drained(a, kPrefix);
        },
        std::chrono::seconds(20)))
        << d.log();
    std::optional<fault::HttpResponse> health;
    ASSERT_TRUE(wait_until([&] {
      health = fault::http_get(port, "/healthz");
      return health && health->status == 200;
    })) << d.log();
    EXPECT_EQ(health->body, "ok\nredis: cluster master " + c.node(m).address() + " for slot " +
                                std::to_string(slot) + "\n");
    EXPECT_EQ(d.stop(), 0) << d.log();
    EXPECT_NE(d.log().find("at " + c.node(m).address()), std::string::npos) << d.log();
    for (const char* bad : {"CROSSSLOT", "MOVED", "READONLY"}) {
      EXPECT_EQ(d.log().find(bad), std::string::npos) << bad << "\n" << d.log();
    }
    first += kJobs;
  }
  EXPECT_TRUE(fault::audit_jobs(a, 1, 2 * kJobs, kPer, kPrefix));
}

// A finish script that reaches a node which is not the slot's master (its connection has not
// seen the failover yet) ran nowhere: it throws like a lost connection, so the batch is decided
// again at once, rather than `failed` (the jobs would wait for their leases to expire, and each
// expiry counts towards queue.max_deliveries).
TEST(Cluster, AFinishScriptAnsweredWithMovedIsRetriedNotFailed) {
  TempDir dir;
  LocalCluster c(dir);
  const int slot = redis::cluster::key_slot(kPrefix);
  const int other = c.master_of((slot + 8192) % redis::cluster::kSlots);
  ASSERT_NE(other, c.master_of(slot));
  boost::asio::io_context io;
  redis::Endpoint ep;  // a direct connection: it does not follow the MOVED itself
  ep.host = "127.0.0.1";
  ep.port = c.node(other).port();
  auto conn = redis::Connection::create(io.get_executor(), ep, "finish");
  conn->start();
  for (int i = 0; i < 200 && !conn->ready(); ++i)
    io.run_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(conn->ready());
  const queue::Keys keys(kPrefix, "wa-campaigns");
  const queue::JobQueue q(*conn, keys);
  queue::TxJob j;
  j.payload = R"({"job_id":"j1"})";
  j.marker = keys.decided("j1", "0");
  j.results.push_back("result-j1");
  const std::vector<queue::TxJob> jobs{j, j};
  auto f = boost::asio::co_spawn(io, q.finish_by_script(jobs, 600, 1000), boost::asio::use_future);
  while (f.wait_for(std::chrono::seconds(0)) != std::future_status::ready)
    io.run_for(std::chrono::milliseconds(5));
  try {
    f.get();
    ADD_FAILURE() << "finished without an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("MOVED " + std::to_string(slot)), std::string::npos)
        << e.what();
  }
  conn->stop();
  io.run_for(std::chrono::milliseconds(20));
}

}  // namespace
}  // namespace wa::test
