// TLS and ACL users end to end (CONTRACT.md section 11): a redis-server with a TLS port and
// throw-away certificates made with openssl, and wa-routerd deciding jobs through it; a
// certificate that does not verify is one log line saying so, and nothing is decided.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

#include "fault_util.hpp"
#include "harness.hpp"

namespace wa::test {
namespace {

using fault::free_port;
using fault::http_get;
using fault::HttpResponse;

void sh(const std::string& cmd) {
  ASSERT_EQ(std::system((cmd + " >/dev/null 2>&1").c_str()), 0) << cmd;
}

// A CA, a server certificate for 127.0.0.1 and localhost, a client certificate, and a second
// CA that signed none of them.
void make_certificates(const TempDir& d) {
  const std::string key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  const std::string p = d.path() + "/";
  std::ofstream(p + "san.cnf") << "subjectAltName=IP:127.0.0.1,DNS:localhost\n";
  for (const std::string ca : {"ca", "ca2"}) {
    sh("openssl req -x509 " + key + " -keyout " + p + ca + ".key -out " + p + ca +
       ".crt -days 2 -subj /CN=wa-test-" + ca);
  }
  for (const std::string who : {"server", "client"}) {
    sh("openssl req " + key + " -keyout " + p + who + ".key -out " + p + who +
       ".csr -subj /CN=wa-test-" + who);
    sh("openssl x509 -req -in " + p + who + ".csr -CA " + p + "ca.crt -CAkey " + p +
       "ca.key -CAcreateserial -days 2 -out " + p + who + ".crt" +
       (who == "server" ? " -extfile " + p + "san.cnf" : ""));
  }
}

// `wa-router --config <yaml> ARGS...`: its exit code, standard output and standard error.
struct CliRun {
  int rc = -1;
  std::string out;
  std::string err;
};
CliRun run_cli(const TempDir& d, const std::string& yaml, const std::string& args) {
  const std::string cfg = d.file("cli.yaml"), out = d.file("cli.out"), err = d.file("cli.err");
  std::ofstream(cfg) << yaml;
  const int st = std::system(
      ("timeout 20 " + cli_path() + " --config " + cfg + " " + args + " >" + out + " 2>" + err)
          .c_str());
  CliRun r;
  r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  std::ifstream o(out), e(err);
  r.out.assign(std::istreambuf_iterator<char>(o), {});
  r.err.assign(std::istreambuf_iterator<char>(e), {});
  return r;
}

class Tls : public ::testing::Test {
 protected:
  void start_redis(bool client_certs) {
    make_certificates(dir_);
    port_ = free_port();
    redis_ = std::make_unique<RedisServer>(
        dir_, false,
        std::vector<std::string>{"--tls-port", std::to_string(port_), "--bind", "127.0.0.1",
                                 "--tls-cert-file", file("server.crt"), "--tls-key-file",
                                 file("server.key"), "--tls-ca-cert-file", file("ca.crt"),
                                 "--tls-auth-clients", client_certs ? "yes" : "no"});
    c_ = std::make_unique<Client>(redis_->socket());
    seed_session(*c_, {.id = "s1", .primary = true});
  }
  std::string file(const std::string& name) const { return dir_.file(name); }
  std::string redis_yaml(const std::string& host, const std::string& tls) const {
    return "redis: {host: " + host + ", port: " + std::to_string(port_) + ", tls: {" + tls + "}}\n";
  }
  void push_job(const std::string& id) {
    c_->cmd(
        {"RPUSH", "queues:wa-campaigns",
         R"({"job_id":")" + id +
             R"(","campaign_id":1,"workspace_id":"1","template_mode":"direct","contacts":[5]})"});
  }
  bool decided(long long n) {
    return wait_until([&] { return c_->integer({"LLEN", "wa:results"}) == n; });
  }

  TempDir dir_;
  int port_ = 0;
  std::unique_ptr<RedisServer> redis_;
  std::unique_ptr<Client> c_;
};

TEST_F(Tls, VerifiedServerRunsJobs) {
  start_redis(false);
  push_job("tls-1");
  Daemon d(dir_, redis_->socket(),
           redis_yaml("localhost", "enabled: true, ca_file: " + file("ca.crt")));
  d.start();
  ASSERT_TRUE(decided(1)) << d.log();
  EXPECT_EQ(c_->list("wa:dispatch:1:s1"), std::vector<std::string>{"5"});
  EXPECT_NE(d.log().find("tls:localhost:"), std::string::npos) << d.log();
  EXPECT_EQ(d.stop(), 0) << d.log();
}

TEST_F(Tls, MutualTlsWithAClientCertificate) {
  start_redis(true);
  push_job("mtls-1");
  {
    Daemon without(dir_, redis_->socket(),
                   redis_yaml("127.0.0.1", "enabled: true, ca_file: " + file("ca.crt")), "without");
    without.start();
    ASSERT_TRUE(wait_until([&] {
      return without.log().find("redis: not connected") != std::string::npos;
    })) << without.log();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    EXPECT_EQ(c_->integer({"LLEN", "wa:results"}), 0) << without.log();
    EXPECT_EQ(without.stop(), 0);
  }
  Daemon d(dir_, redis_->socket(),
           redis_yaml("127.0.0.1", "enabled: true, ca_file: " + file("ca.crt") + ", cert_file: " +
                                       file("client.crt") + ", key_file: " + file("client.key")));
  d.start();
  ASSERT_TRUE(decided(1)) << d.log();
  EXPECT_EQ(d.stop(), 0) << d.log();
}

// Each line of the log that mentions the failure says it whole.
void expect_verification_failure(Daemon& d, Client& c) {
  ASSERT_TRUE(wait_until([&] {
    return d.log().find("certificate verification failed") != std::string::npos;
  })) << d.log();
  const std::string log = d.log();
  const auto at = log.find("certificate verification failed");
  const std::string line =
      log.substr(log.rfind('\n', at) + 1, log.find('\n', at) - log.rfind('\n', at) - 1);
  EXPECT_NE(line.find("redis: not connected: TLS to 127.0.0.1:"), std::string::npos) << line;
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_EQ(c.integer({"LLEN", "wa:results"}), 0);
  EXPECT_EQ(c.integer({"LLEN", "queues:wa-campaigns"}), 1);
  EXPECT_TRUE(d.running());
}

TEST_F(Tls, AnUnknownCaIsACertificateVerificationFailure) {
  start_redis(false);
  push_job("ca-1");
  Daemon d(dir_, redis_->socket(),
           redis_yaml("127.0.0.1", "enabled: true, ca_file: " + file("ca2.crt")));
  d.start();
  expect_verification_failure(d, *c_);
  EXPECT_EQ(d.stop(), 0) << d.log();
}

TEST_F(Tls, AnotherServerNameIsACertificateVerificationFailure) {
  start_redis(false);
  push_job("name-1");
  Daemon d(dir_, redis_->socket(),
           redis_yaml("127.0.0.1", "enabled: true, ca_file: " + file("ca.crt") +
                                       ", server_name: redis.example.com"));
  d.start();
  expect_verification_failure(d, *c_);
  EXPECT_NE(d.log().find("hostname mismatch"), std::string::npos) << d.log();
  EXPECT_EQ(d.stop(), 0) << d.log();
}

// The command line reaches Redis like the daemon (redis.tls): a verified server answers, a
// certificate from another CA is refused, naming the verification failure (exit 1).
TEST_F(Tls, TheCliUsesTlsAndNamesAVerificationFailure) {
  start_redis(false);
  push_job("cli-1");
  CliRun r = run_cli(dir_, redis_yaml("localhost", "enabled: true, ca_file: " + file("ca.crt")),
                     "--json stats");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("\"queue\""), std::string::npos) << r.out;
  r = run_cli(dir_, redis_yaml("127.0.0.1", "enabled: true, ca_file: " + file("ca.crt")),
              "dead list");
  EXPECT_EQ(r.rc, 0) << r.err;

  r = run_cli(dir_, redis_yaml("127.0.0.1", "enabled: true, ca_file: " + file("ca2.crt")), "stats");
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("cannot connect to Redis at 127.0.0.1:" + std::to_string(port_)),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("certificate verification failed"), std::string::npos) << r.err;
  EXPECT_EQ(c_->integer({"LLEN", "queues:wa-campaigns"}), 1);
}

TEST_F(Tls, VerifyFalseConnectsAnyway) {
  start_redis(false);
  push_job("nv-1");
  Daemon d(
      dir_, redis_->socket(),
      redis_yaml("127.0.0.1", "enabled: true, ca_file: " + file("ca2.crt") + ", verify: false"));
  d.start();
  ASSERT_TRUE(decided(1)) << d.log();
  EXPECT_EQ(d.stop(), 0) << d.log();
}

// A Sentinel on a TLS port with a password, monitoring a master that has a TLS port only.
class TlsSentinel {
 public:
  TlsSentinel(const TempDir& d, int port, int master_port) {
    {
      std::ofstream conf(d.file("sentinel.conf"));
      conf << "port 0\ntls-port " << port << "\nbind 127.0.0.1\ndir " << d.path() << "\nlogfile "
           << d.file("sentinel.log") << "\ntls-cert-file " << d.file("server.crt")
           << "\ntls-key-file " << d.file("server.key") << "\ntls-ca-cert-file " << d.file("ca.crt")
           << "\ntls-auth-clients no\ntls-replication yes\nrequirepass spw\n"
           << "sentinel monitor mymaster 127.0.0.1 " << master_port << " 1\n";
    }
    pid_ = fork();
    if (pid_ == 0) {
      execlp("redis-server", "redis-server", d.file("sentinel.conf").c_str(), "--sentinel",
             static_cast<char*>(nullptr));
      _exit(127);
    }
  }
  ~TlsSentinel() {
    ::kill(pid_, SIGTERM);
    int st;
    waitpid(pid_, &st, 0);
  }

 private:
  pid_t pid_ = -1;
};

TEST_F(Tls, SentinelsOverTlsWithTheirOwnPassword) {
  make_certificates(dir_);
  const int master = free_port(), sentinel_port = free_port();
  redis_ = std::make_unique<RedisServer>(
      dir_, false,
      std::vector<std::string>{"--tls-port", std::to_string(master), "--bind", "127.0.0.1",
                               "--tls-cert-file", file("server.crt"), "--tls-key-file",
                               file("server.key"), "--tls-ca-cert-file", file("ca.crt"),
                               "--tls-auth-clients", "no", "--tls-replication", "yes"});
  c_ = std::make_unique<Client>(redis_->socket());
  seed_session(*c_, {.id = "s1", .primary = true});
  push_job("sen-1");
  TlsSentinel sentinel(dir_, sentinel_port, master);
  const std::string common =
      "redis: {sentinels: [\"127.0.0.1:" + std::to_string(sentinel_port) +
      "\"], master_name: mymaster, tls: {enabled: true, ca_file: " + file("ca.crt") +
      "}, sentinel_password: spw, sentinel_tls: ";
  {
    Daemon wrong(dir_, "", common + "{enabled: true, ca_file: " + file("ca2.crt") + "}}\n",
                 "wrong");
    wrong.start();
    ASSERT_TRUE(wait_until([&] {
      return wrong.log().find("certificate verification failed") != std::string::npos;
    })) << wrong.log();
    EXPECT_EQ(c_->integer({"LLEN", "wa:results"}), 0);
    EXPECT_EQ(wrong.stop(), 0);
  }
  Daemon d(dir_, "", common + "{enabled: true, ca_file: " + file("ca.crt") + "}}\n");
  d.start();
  ASSERT_TRUE(decided(1)) << d.log();
  EXPECT_NE(d.log().find("via Sentinel) at 127.0.0.1:" + std::to_string(master)), std::string::npos)
      << d.log();
  EXPECT_EQ(d.stop(), 0) << d.log();
  // The command line asks the same Sentinels, with the same settings.
  CliRun r =
      run_cli(dir_, common + "{enabled: true, ca_file: " + file("ca.crt") + "}}\n", "--json stats");
  EXPECT_EQ(r.rc, 0) << r.err;
  r = run_cli(dir_, common + "{enabled: true, ca_file: " + file("ca2.crt") + "}}\n", "stats");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("cannot connect to Redis at master \"mymaster\" (via Sentinel)"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("certificate verification failed"), std::string::npos) << r.err;
}

// The narrowest ACL rules the daemon needs (README, "Redis ACL user"), for prefix app_.
const std::vector<std::string> kAclRules{"on", "+@all", "-@dangerous", "~app_*", "&app_*"};

class Acl : public ::testing::Test {
 protected:
  Acl() : redis_(dir_), c_(redis_.socket()) {
    std::vector<std::string> setuser{"ACL", "SETUSER", "router", "reset", ">pw1"};
    setuser.insert(setuser.end(), kAclRules.begin(), kAclRules.end());
    EXPECT_EQ(c_.cmd(setuser).str, "OK");
    seed_session(c_, {.id = "s1", .primary = true}, "app_");
  }
  std::string yaml(const std::string& password, const std::string& more = "") const {
    return "redis: {unix_socket: \"" + redis_.socket() +
           "\", prefix: app_, username: router, password: " + password + "}\n" + more;
  }
  void push_job(const std::string& id) {
    c_.cmd(
        {"RPUSH", "app_queues:wa-campaigns",
         R"({"job_id":")" + id +
             R"(","campaign_id":1,"workspace_id":"1","template_mode":"direct","contacts":[5]})"});
  }
  bool decided(long long n) {
    return wait_until([&] { return c_.integer({"LLEN", "app_wa:results"}) == n; });
  }

  TempDir dir_;
  RedisServer redis_;
  Client c_;
};

TEST_F(Acl, AUserWithTheReadmeRulesRunsJobs) {
  push_job("acl-1");
  const int http = free_port();
  Daemon d(dir_, redis_.socket(),
           yaml("pw1", "pacing: {enabled: true}\nmetrics: {listen: \"127.0.0.1:" +
                           std::to_string(http) + "\"}\n"));
  d.start();
  ASSERT_TRUE(decided(1)) << d.log();
  // CONFIG is refused to this user (the start-up check): that is no health problem.
  const auto health = http_get(http, "/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200) << health->body;
  push_job("acl-2");
  ASSERT_TRUE(decided(2)) << d.log();
  EXPECT_EQ(d.log().find("NOPERM"), std::string::npos) << d.log();
  EXPECT_EQ(d.stop(), 0) << d.log();
  EXPECT_EQ(d.log().find("NOPERM"), std::string::npos) << d.log();
}

// The command line authenticates as the ACL user (redis.username); a wrong password is named.
TEST_F(Acl, TheCliLogsInAsTheAclUser) {
  push_job("cli-acl-1");
  CliRun r = run_cli(dir_, yaml("pw1"), "stats");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("Queue"), std::string::npos) << r.out;
  r = run_cli(dir_, yaml("pw1"), "dead list");
  EXPECT_EQ(r.rc, 0) << r.err;

  r = run_cli(dir_, yaml("wrong"), "stats");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("AUTH failed (redis.username, redis.password): WRONGPASS"),
            std::string::npos)
      << r.err;
}

TEST_F(Acl, AWrongPasswordIsNamedInTheLogAndHealthz) {
  push_job("wp-1");
  const int http = free_port();
  Daemon d(dir_, redis_.socket(),
           yaml("wrong", "metrics: {listen: \"127.0.0.1:" + std::to_string(http) + "\"}\n"));
  d.start();
  ASSERT_TRUE(wait_until([&] {
    return d.log().find("authentication failed: WRONGPASS") != std::string::npos;
  })) << d.log();
  std::optional<HttpResponse> health;
  ASSERT_TRUE(wait_until([&] {
    health = http_get(http, "/healthz");
    return health && health->body.find("WRONGPASS") != std::string::npos;
  })) << (health ? health->body : "no answer");
  EXPECT_EQ(health->status, 503);
  EXPECT_EQ(c_.integer({"LLEN", "app_wa:results"}), 0);
  EXPECT_EQ(d.stop(), 0) << d.log();
}

TEST_F(Acl, ARotatedPasswordAppliesAtTheNextReconnect) {
  push_job("rot-1");
  Daemon d(dir_, redis_.socket(), yaml("pw1"));
  d.start();
  ASSERT_TRUE(decided(1)) << d.log();
  EXPECT_EQ(c_.cmd({"ACL", "SETUSER", "router", "resetpass", ">pw2"}).str, "OK");
  d.write_config(d.base_config() + yaml("pw2"));
  d.signal(SIGHUP);
  ASSERT_TRUE(wait_until([&] {
    return d.log().find("new Redis credentials") != std::string::npos;
  })) << d.log();
  c_.cmd({"CLIENT", "KILL", "USER", "router"});
  push_job("rot-2");
  ASSERT_TRUE(decided(2)) << d.log();
  EXPECT_EQ(d.stop(), 0) << d.log();
}

}  // namespace
}  // namespace wa::test
