// High availability: the daemon finds the master through Redis Sentinel and follows a failover
// while jobs flow; every job is decided exactly once on the new master.
#include <gtest/gtest.h>

#include <fstream>

#include "fault_util.hpp"
#include "harness.hpp"

namespace wa::test {
namespace {

using fault::audit_jobs;
using fault::free_port;
using fault::push_jobs;

// Runs redis-cli against a TCP port and returns its output.
std::string cli(int port, const std::string& args) {
  std::string out;
  shell("redis-cli -p " + std::to_string(port) + " " + args, out);
  return out;
}

TEST(Sentinel, FollowsAFailoverWithoutLosingAJob) {
  TempDir dir;
  const int p_master = free_port(), p_replica = free_port(), p_sentinel = free_port();
  TcpRedis master(dir, "master", p_master);
  TcpRedis replica(dir, "replica", p_replica,
                   {"--replicaof", "127.0.0.1", std::to_string(p_master)});
  {
    std::ofstream conf(dir.file("sentinel.conf"));
    conf << "sentinel monitor mymaster 127.0.0.1 " << p_master
         << " 1\nsentinel down-after-milliseconds mymaster 1000\n"
         << "sentinel failover-timeout mymaster 5000\n";
  }
  TcpRedis sentinel(dir, "sentinel", p_sentinel, {dir.file("sentinel.conf"), "--sentinel"});

  Client a(master.socket()), b(replica.socket());
  ASSERT_TRUE(wait_until([&] {
    try {
      return a.cmd({"PING"}).str == "PONG" &&
             b.cmd({"INFO", "replication"}).str.find("master_link_status:up") != std::string::npos;
    } catch (...) {
      return false;
    }
  })) << "master/replica did not start";
  ASSERT_TRUE(wait_until(
      [&] {
        return cli(p_sentinel, "SENTINEL replicas mymaster").find(std::to_string(p_replica)) !=
               std::string::npos;
      },
      std::chrono::seconds(15)))
      << "the Sentinel did not discover the replica";

  fault::seed_two_sessions(a);
  constexpr int kFirst = 1, kBefore = 150, kAfter = 150, kPer = 3;
  push_jobs(a, kFirst, kBefore, kPer);
  a.cmd({"WAIT", "1", "2000"});

  Daemon d(dir, "",
           "redis: {sentinels: [\"127.0.0.1:" + std::to_string(p_sentinel) +
               "\"], master_name: mymaster}\nqueue: {lease_seconds: 2, batch_size: 16, "
               "max_deliveries: 5}\n");
  d.start();
  ASSERT_TRUE(wait_until([&] { return fault::results_len(a) >= 20; })) << d.log();

  // Fail over while jobs flow, then keep pushing to whichever server is master now.
  // The Sentinel refuses (NOGOODSLAVE) until it has fresh INFO from the replica: ask again.
  std::string answer;
  ASSERT_TRUE(wait_until(
      [&] {
        answer = cli(p_sentinel, "SENTINEL FAILOVER mymaster");
        return answer.find("OK") != std::string::npos;
      },
      std::chrono::seconds(15)))
      << answer;
  ASSERT_TRUE(wait_until(
      [&] {
        return cli(p_sentinel, "SENTINEL get-master-addr-by-name mymaster")
                       .find(std::to_string(p_replica)) != std::string::npos &&
               b.cmd({"ROLE"}).elements.at(0).str == "master";
      },
      std::chrono::seconds(20)))
      << "the failover did not complete";
  push_jobs(b, kFirst + kBefore, kAfter, kPer);

  ASSERT_TRUE(
      wait_until([&] { return fault::results_len(b) >= kBefore + kAfter && fault::drained(b); },
                 std::chrono::seconds(40)))
      << "results on the new master: " << fault::results_len(b) << "\n"
      << d.log();
  EXPECT_TRUE(audit_jobs(b, kFirst, kBefore + kAfter, kPer));
  EXPECT_NE(d.log().find("via Sentinel) at 127.0.0.1:" + std::to_string(p_replica)),
            std::string::npos)
      << d.log();
  EXPECT_EQ(d.stop(), 0) << d.log();
}

}  // namespace
}  // namespace wa::test
