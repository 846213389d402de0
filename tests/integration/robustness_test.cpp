// Robustness next to a real application: the metrics listener under idle and excess connections
// with few file descriptors, /healthz naming what Redis refuses, and the consumers' blocking
// waits on the notify list.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>

#include <fstream>
#include <sstream>

#include "fault_util.hpp"
#include "harness.hpp"

namespace wa::test {
namespace {

using namespace fault;
using namespace std::chrono_literals;

std::string metrics_yaml(int port, const std::string& extra = "") {
  return "metrics: {listen: \"127.0.0.1:" + std::to_string(port) + "\"" + extra +
         "}\nhealth: {check_interval: 120}\n";
}

int status_of(int port, const std::string& path) {
  const auto r = http_get(port, path);
  return r ? r->status : 0;
}

std::string body_of(int port, const std::string& path) {
  const auto r = http_get(port, path);
  return r ? r->body : std::string();
}

// A TCP connection to 127.0.0.1:port that sends nothing unless told; closed at destruction.
class Idle {
 public:
  explicit Idle(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      throw std::runtime_error("cannot connect to port " + std::to_string(port));
    }
  }
  ~Idle() { ::close(fd_); }
  Idle(const Idle&) = delete;
  Idle& operator=(const Idle&) = delete;
  void send(const std::string& bytes) {
    ASSERT_EQ(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }
  // True once the peer closed the connection (EOF or reset); reads and drops any data.
  bool closed() {
    char buf[4096];
    while (true) {
      const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
      if (n == 0) return true;
      if (n < 0) return errno != EAGAIN && errno != EWOULDBLOCK;
    }
  }

 private:
  int fd_ = -1;
};

// The process's user + system CPU time in seconds (/proc/PID/stat fields 14 and 15).
double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream rest(stat.substr(stat.rfind(')') + 2));  // after "pid (comm) "
  std::string field;
  long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoll(field);
    if (i == 15) stime = std::stoll(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// "Max open files  SOFT  HARD  files" of /proc/PID/limits.
std::string open_files_limits(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/limits");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Max open files", 0) == 0) return line;
  }
  return "";
}

// ---- the metrics listener ----

TEST(HttpListener, IdleConnectionsBeyondTheFileLimitNeverStarveRedis) {
  TempDir dir;
  RedisServer redis(dir);
  Client c(redis.socket());
  seed_two_sessions(c);
  const int port = free_port();
  Daemon d(dir, redis.socket(), metrics_yaml(port, ", idle_timeout: 1"));
  d.set_file_limit(128, 128);
  d.start();
  ASSERT_TRUE(wait_until([&] { return status_of(port, "/healthz") == 200; })) << d.log();

  // Three times the daemon's file limit, all idle.
  std::vector<std::unique_ptr<Idle>> idle;
  for (int i = 0; i < 384; ++i)
    idle.push_back(std::make_unique<Idle>(port));
  // The daemon must connect to Redis again meanwhile.
  c.cmd({"CLIENT", "KILL", "TYPE", "normal"});
  const double cpu_before = cpu_seconds(d.pid());
  sleep_ms(3000);
  const double cpu = cpu_seconds(d.pid()) - cpu_before;
  EXPECT_LT(cpu, 0.6) << "CPU seconds over 3 s: the accept loop spins\n" << d.log();

  push_jobs(c, 1, 200, 3);
  ASSERT_TRUE(wait_until([&] { return results_len(c) >= 200; }, 20s))
      << results_len(c) << " of 200 jobs decided\n"
      << d.log().substr(0, 20000);
  EXPECT_TRUE(wait_until([&] { return drained(c); })) << d.log();
  EXPECT_TRUE(audit_jobs(c, 1, 200, 3));

  // The daemon closed every one of them: the idle ones after metrics.idle_timeout, the others
  // over metrics.max_connections at once.
  EXPECT_TRUE(wait_until(
      [&] { return std::all_of(idle.begin(), idle.end(), [](auto& s) { return s->closed(); }); },
      5s));
  EXPECT_NE(d.log().find("closing new ones"), std::string::npos) << d.log();
  EXPECT_EQ(status_of(port, "/healthz"), 200);
  EXPECT_EQ(d.stop(), 0) << d.log();
}

TEST(HttpListener, ClosesIdleAndSlowConnectionsAfterTheIdleTimeout) {
  TempDir dir;
  RedisServer redis(dir);
  const int port = free_port();
  Daemon d(dir, redis.socket(), metrics_yaml(port, ", idle_timeout: 1"));
  d.start();
  ASSERT_TRUE(wait_until([&] { return status_of(port, "/healthz") == 200; })) << d.log();

  Idle silent(port);
  Idle slow(port);
  slow.send("GET /metrics HTTP/1.1\r\nHost: x\r\n");  // the header never ends
  Idle kept(port);
  kept.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");  // answered, then kept alive
  sleep_ms(500);
  EXPECT_FALSE(silent.closed());
  EXPECT_FALSE(slow.closed());
  EXPECT_FALSE(kept.closed());
  EXPECT_TRUE(wait_until([&] { return silent.closed() && slow.closed() && kept.closed(); }, 3s));
  EXPECT_EQ(d.stop(), 0) << d.log();
}

TEST(HttpListener, ConnectionsOverTheLimitAreClosedAtOnce) {
  TempDir dir;
  RedisServer redis(dir);
  const int port = free_port();
  Daemon d(dir, redis.socket(), metrics_yaml(port, ", idle_timeout: 3, max_connections: 4"));
  d.start();
  ASSERT_TRUE(wait_until([&] { return status_of(port, "/healthz") == 200; })) << d.log();

  std::vector<std::unique_ptr<Idle>> held;
  for (int i = 0; i < 4; ++i)
    held.push_back(std::make_unique<Idle>(port));
  sleep_ms(200);  // all four accepted
  Idle over(port);
  EXPECT_TRUE(wait_until([&] { return over.closed(); }, 1s));
  EXPECT_FALSE(held[0]->closed());
  EXPECT_EQ(status_of(port, "/healthz"), 0);  // refused too while four are open
  EXPECT_NE(d.log().find("4 connections open (metrics.max_connections)"), std::string::npos)
      << d.log();

  held.clear();  // closed by the client: room again
  EXPECT_TRUE(wait_until([&] { return status_of(port, "/healthz") == 200; }, 2s)) << d.log();
  EXPECT_EQ(d.stop(), 0) << d.log();
}

TEST(HttpListener, SoftFileLimitIsRaisedToTheHardOne) {
  TempDir dir;
  RedisServer redis(dir);
  Daemon d(dir, redis.socket());
  d.set_file_limit(64, 1024);
  d.start();
  ASSERT_TRUE(wait_until([&] { return d.log().find("wa-routerd started") != std::string::npos; }))
      << d.log();
  const std::string line = open_files_limits(d.pid());
  std::istringstream words(line.substr(std::string("Max open files").size()));
  std::string soft, hard;
  words >> soft >> hard;
  EXPECT_EQ(soft, "1024") << line;
  EXPECT_EQ(hard, "1024") << line;
  EXPECT_EQ(d.stop(), 0) << d.log();
}

// ---- /healthz and what Redis refuses ----

TEST(RedisHealth, WrongPasswordIsNamedInTheLogAndHealthz) {
  TempDir dir;
  RedisServer redis(dir);
  Client c(redis.socket());
  c.cmd({"CONFIG", "SET", "requirepass", "the-right-one"});
  const int port = free_port();
  Daemon d(dir, redis.socket(),
           "redis: {unix_socket: \"" + redis.socket() + "\", password: not-this-one}\n" +
               metrics_yaml(port));
  d.start();
  ASSERT_TRUE(wait_until([&] { return status_of(port, "/healthz") == 503; })) << d.log();
  ASSERT_TRUE(wait_until([&] {
    return body_of(port, "/healthz").find("WRONGPASS") != std::string::npos;
  })) << body_of(port, "/healthz");
  EXPECT_NE(body_of(port, "/healthz").find("authentication failed: WRONGPASS"), std::string::npos)
      << body_of(port, "/healthz");
  EXPECT_NE(d.log().find("authentication failed: WRONGPASS"), std::string::npos) << d.log();

  // The password fixed on the server side: connected and healthy.
  c.cmd({"CONFIG", "SET", "requirepass", "not-this-one"});
  EXPECT_TRUE(wait_until([&] { return status_of(port, "/healthz") == 200; }, 10s)) << d.log();
  EXPECT_EQ(d.stop(), 0) << d.log();
}

TEST(RedisHealth, NoPasswordWhereOneIsNeededIsNamed) {
  TempDir dir;
  RedisServer redis(dir);
  Client c(redis.socket());
  c.cmd({"CONFIG", "SET", "requirepass", "secret"});
  const int port = free_port();
  Daemon d(dir, redis.socket(), metrics_yaml(port));
  d.start();
  ASSERT_TRUE(wait_until([&] {
    return body_of(port, "/healthz").find("authentication failed: NOAUTH") != std::string::npos;
  })) << body_of(port, "/healthz")
      << d.log();
  EXPECT_NE(d.log().find("authentication failed: NOAUTH"), std::string::npos) << d.log();
  EXPECT_EQ(d.stop(), 0) << d.log();
}

TEST(RedisHealth, RefusedWritesMakeHealthz503UntilFixed) {
  TempDir dir;
  RedisServer redis(dir);
  Client c(redis.socket());
  seed_two_sessions(c);
  const int port = free_port();
  Daemon d(dir, redis.socket(), metrics_yaml(port));
  d.start();
  ASSERT_TRUE(wait_until([&] { return status_of(port, "/healthz") == 200; })) << d.log();

  // maxmemory reached: reads pass, writes fail with OOM.
  c.cmd({"CONFIG", "SET", "maxmemory", "1"});
  ASSERT_TRUE(wait_until([&] { return status_of(port, "/healthz") == 503; }, 5s)) << d.log();
  EXPECT_NE(body_of(port, "/healthz").find("OOM"), std::string::npos) << body_of(port, "/healthz");
  c.cmd({"CONFIG", "SET", "maxmemory", "0"});
  ASSERT_TRUE(wait_until([&] { return status_of(port, "/healthz") == 200; }, 10s)) << d.log();

  // A read-only replica (of a master that is not there).
  c.cmd({"REPLICAOF", "127.0.0.1", std::to_string(free_port())});
  ASSERT_TRUE(wait_until([&] { return status_of(port, "/healthz") == 503; }, 5s)) << d.log();
  EXPECT_NE(body_of(port, "/healthz").find("READONLY"), std::string::npos)
      << body_of(port, "/healthz");
  c.cmd({"REPLICAOF", "NO", "ONE"});
  ASSERT_TRUE(wait_until([&] { return status_of(port, "/healthz") == 200; }, 10s)) << d.log();

  // And jobs flow again.
  push_jobs(c, 1, 20, 2);
  EXPECT_TRUE(wait_until([&] { return results_len(c) >= 20 && drained(c); })) << d.log();
  EXPECT_TRUE(audit_jobs(c, 1, 20, 2));
  EXPECT_EQ(d.stop(), 0) << d.log();
}

// ---- the blocking wait on the notify list ----

// wa_redis_timeouts_total and wa_redis_reconnects_total lines with a value other than 0.
std::vector<std::string> nonzero_redis_counters(const std::string& metrics) {
  std::vector<std::string> out;
  std::istringstream in(metrics);
  std::string line;
  while (std::getline(in, line)) {
    const bool counter = line.rfind("wa_redis_timeouts_total", 0) == 0 ||
                         line.rfind("wa_redis_reconnects_total", 0) == 0;
    if (counter && line.substr(line.rfind(' ') + 1) != "0") out.push_back(line);
  }
  return out;
}

// Connections of the daemon blocked in BLPOP now (CLIENT LIST: cmd=blpop, flags with a b).
int blocked_waits(Client& c) {
  std::istringstream in(c.str({"CLIENT", "LIST"}));
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    const auto flags = line.find(" flags=");
    if (line.find("cmd=blpop") == std::string::npos || flags == std::string::npos) continue;
    const std::string f = line.substr(flags + 7, line.find(' ', flags + 1) - flags - 7);
    if (f.find('b') != std::string::npos) ++n;
  }
  return n;
}

TEST(BlockingWait, AnIdleDaemonNeverTimesOutAndTakesNewJobsAtOnce) {
  TempDir dir;
  RedisServer redis(dir);
  Client c(redis.socket());
  seed_two_sessions(c);
  const int port = free_port();
  Daemon d(dir, redis.socket(), metrics_yaml(port));
  d.start();
  ASSERT_TRUE(wait_until([&] { return status_of(port, "/healthz") == 200; })) << d.log();

  // Every consumer waits on a connection of its own: several are blocked at the same moment.
  EXPECT_TRUE(wait_until([&] { return blocked_waits(c) >= 4; }, 3s)) << c.str({"CLIENT", "LIST"});
  sleep_ms(8000);
  EXPECT_EQ(d.log().find("timed out"), std::string::npos) << d.log();
  const std::string metrics = body_of(port, "/metrics");
  ASSERT_NE(metrics.find("wa_redis_timeouts_total{connection=\"tx1\"}"), std::string::npos)
      << metrics;
  EXPECT_EQ(nonzero_redis_counters(metrics), std::vector<std::string>{}) << d.log();

  for (int i = 1; i <= 3; ++i) {
    const auto pushed = std::chrono::steady_clock::now();
    push_jobs(c, i, 1, 2);
    ASSERT_TRUE(wait_until([&] { return results_len(c) >= i; }, 5s)) << d.log();
    EXPECT_LT(std::chrono::steady_clock::now() - pushed, 1s) << "job " << i;
    sleep_ms(300);
  }
  EXPECT_TRUE(audit_jobs(c, 1, 3, 2));
  EXPECT_EQ(d.stop(), 0) << d.log();
}

}  // namespace
}  // namespace wa::test
