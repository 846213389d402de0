// wa-router, the operator's command line: every command against a real Redis, its --json form,
// bad arguments (exit 2), an unreachable Redis and a bad configuration (exit 1), and a dead job
// retried by the command line then decided by a running wa-routerd.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "core/job.hpp"
#include "core/records.hpp"
#include "harness.hpp"

namespace wa::test {
namespace {

namespace json = boost::json;

struct CliRun {
  int rc = -1;
  std::string out;
  std::string err;
  long max_rss_kb = 0;  // its peak resident memory, sampled every 5 ms
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// `wa-router ARGS...` started with `input` on its standard input, its output in `dir`.
pid_t spawn_cli(const TempDir& dir, const std::vector<std::string>& args,
                const std::string& input = "") {
  const std::string in = dir.file("in"), out = dir.file("out"), err = dir.file("err");
  std::ofstream(in, std::ios::binary) << input;
  std::vector<std::string> argv{cli_path()};
  argv.insert(argv.end(), args.begin(), args.end());
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    const int fi = open(in.c_str(), O_RDONLY);
    const int fo = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int fe = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fi, 0);
    dup2(fo, 1);
    dup2(fe, 2);
    std::vector<char*> cargs;
    for (auto& a : argv)
      cargs.push_back(a.data());
    cargs.push_back(nullptr);
    execv(cargs[0], cargs.data());
    _exit(127);
  }
  return pid;
}

// The peak resident memory (VmHWM) of process `pid` so far once it runs wa-router, else 0. (The
// child's getrusage peak would include the test's own memory, which fork copied before exec.)
long peak_rss_kb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  bool cli = false;
  long kb = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("Name:", 0) == 0) cli = line.find("wa-router") != std::string::npos;
    if (line.rfind("VmHWM:", 0) == 0) kb = std::atol(line.c_str() + 6);
  }
  return cli ? kb : 0;
}

// Waits for a spawn_cli process (SIGKILL after 15 s) and collects what it did.
CliRun wait_cli(const TempDir& dir, pid_t pid) {
  CliRun r;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    r.max_rss_kb = std::max(r.max_rss_kb, peak_rss_kb(pid));
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      r.err = "timed out";
      return r;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(dir.file("out"));
  r.err = slurp(dir.file("err"));
  return r;
}

// Runs `wa-router ARGS...` with `input` on its standard input.
CliRun cli(const std::vector<std::string>& args, const std::string& input = "") {
  TempDir dir;
  return wait_cli(dir, spawn_cli(dir, args, input));
}

json::object parse_object(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  EXPECT_FALSE(ec) << "not JSON: " << text;
  if (ec || !v.is_object()) return {};
  return v.get_object();
}

double num(const json::value& v) {
  return v.to_number<double>();
}

// The text with every run of spaces reduced to one (table columns vary in width).
std::string squeeze(const std::string& text) {
  std::string out;
  for (const char ch : text) {
    if (ch == ' ' && !out.empty() && out.back() == ' ') continue;
    out += ch;
  }
  return out;
}

std::string day_string(long long days_ago) {
  const std::time_t t = static_cast<std::time_t>(now_seconds() - days_ago * 86400);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

// A private Redis and a config file for wa-router pointing at it.
class CliTest : public ::testing::Test {
 protected:
  CliTest() : redis_(dir_), c_(redis_.socket()) { write_config(""); }

  void write_config(const std::string& extra) {
    std::ofstream(config_, std::ios::trunc)
        << "redis: {unix_socket: \"" << redis_.socket() << "\"" << extra << "}\n"
        << "metrics: {listen: \"\"}\n";
  }
  CliRun run(std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), {"--config", config_});
    return cli(args, input);
  }

  TempDir dir_;
  RedisServer redis_;
  Client c_;
  std::string config_ = dir_.file("wa-router.yaml");
};

const std::string kJob1 =
    R"({"job_id":"j1","campaign_id":7,"workspace_id":"1","template_mode":"direct","contacts":[1,2,3]})";
const std::string kJob2 =
    R"({"job_id":"j2","campaign_id":"c-8","workspace_id":2,"template_mode":"template","template":{"id":3,"status":"APPROVED"},"contacts_key":"list:8"})";
const std::string kBadJob = R"({"job_id":"bad1","campaign_id":9,"template_mode":"sms"})";

// ---------------------------------------------------------------------------------------------
// Command line errors: exit 2 with usage, before any configuration or Redis is needed.

TEST(CliArgs, HelpAndBadArgumentsExitTwoWithUsage) {
  const CliRun help = cli({"--help"});
  EXPECT_EQ(help.rc, 0);
  for (const char* cmd : {"stats", "report", "dead list", "dead retry", "dead purge", "enqueue"}) {
    EXPECT_NE(help.out.find(cmd), std::string::npos) << cmd;
  }
  for (const std::vector<std::string>& args : {std::vector<std::string>{"report", "--help"},
                                               {"dead", "retry", "--help"},
                                               {"dead", "--help"},
                                               {"enqueue", "-h"},
                                               {"stats", "--help"}}) {
    const CliRun r = cli(args);
    EXPECT_EQ(r.rc, 0) << args[0] << r.err;
    EXPECT_NE(r.out.find("usage: wa-router"), std::string::npos) << r.out;
  }

  const std::string none = "/nonexistent/wa-router.yaml";  // never read for a usage error
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases{
      {{}, "missing command"},
      {{"frobnicate"}, "unknown command \"frobnicate\""},
      {{"dead"}, "missing subcommand"},
      {{"dead", "resurrect"}, "unknown command \"dead resurrect\""},
      {{"stats", "--bogus"}, "unrecognised option '--bogus'"},
      {{"stats", "extra"}, "too many positional options"},
      {{"--limit", "3", "dead", "list"}, "unknown option --limit"},
      {{"dead", "list", "--limit", "many"}, "--limit"},
      {{"dead", "list", "--limit", "-1"}, "--limit"},
      {{"dead", "retry"}, "give either JOB_ID or --all"},
      {{"dead", "retry", "j1", "--all"}, "give either JOB_ID or --all"},
      {{"enqueue"}, "FILE is required"},
      {{"report", "--from", "2026-01-01", "--to", "2026-01-02"}, "--workspace is required"},
      {{"report", "--workspace", "7", "--to", "2026-01-02"}, "--from is required"},
      {{"report", "--workspace", "7", "--from", "2026/01/01", "--to", "2026-01-02"},
       "--from: expected a date YYYY-MM-DD, got \"2026/01/01\""},
      {{"report", "--workspace", "7", "--from", "2026-02-29", "--to", "2026-03-02"},
       "--from: 2026-02-29 is not a calendar date"},
      {{"report", "--workspace", "7", "--from", "2026-01-01", "--to", "2026-13-01"},
       "--to: 2026-13-01 is not a calendar date"},
      {{"report", "--workspace", "7", "--from", "2026-03-02", "--to", "2026-03-01"},
       "--from 2026-03-02 is after --to 2026-03-01"},
      {{"report", "--workspace", "7", "--from", "2025-01-01", "--to", "2026-01-02"},
       "the range spans 367 days; at most 366"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args{"--config", none};
    args.insert(args.end(), c.args.begin(), c.args.end());
    const CliRun r = cli(args);
    EXPECT_EQ(r.rc, 2) << c.message << ": " << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("usage: wa-router"), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
  }
}

// The words of a usage line: "[--limit N] JOB_ID|-" → --limit, N, JOB_ID, -.
std::set<std::string> usage_words(const std::string& usage) {
  std::set<std::string> out;
  std::string word;
  for (const char ch : usage + " ") {
    if (ch == ' ' || ch == '|' || ch == '[' || ch == ']') {
      if (!word.empty()) out.insert(word);
      word.clear();
    } else {
      word += ch;
    }
  }
  return out;
}

// Every option a command accepts (what its --help lists) is in its usage line: by name, or by
// its value's name when it is also the positional argument (JOB_ID for --job-id); and the
// global help shows each command with that same usage.
TEST(CliArgs, EveryOptionIsInTheUsage) {
  const std::string global = cli({"--help"}).out;
  const std::string lead = "usage: wa-router [--config FILE] [--json] ";
  for (const std::string cmd :
       {"stats", "report", "dead list", "dead retry", "dead purge", "enqueue"}) {
    std::vector<std::string> args;
    std::istringstream name_words(cmd);
    for (std::string w; name_words >> w;)
      args.push_back(w);
    args.push_back("--help");
    const CliRun r = cli(args);
    ASSERT_EQ(r.rc, 0) << cmd << r.err;
    const std::string usage = r.out.substr(0, r.out.find('\n'));
    ASSERT_EQ(usage.rfind(lead + cmd, 0), 0u) << usage;
    const std::string synopsis = usage.substr(lead.size());
    EXPECT_NE(global.find("\n  " + synopsis + "\n"), std::string::npos) << synopsis << global;

    const std::set<std::string> words = usage_words(synopsis);
    const std::size_t from = r.out.find("\noptions:\n"), to = r.out.find("global options");
    ASSERT_NE(to, std::string::npos) << r.out;
    if (from == std::string::npos) continue;  // no options of its own
    std::istringstream lines(r.out.substr(from, to - from));
    int options = 0;
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("  --", 0) != 0) continue;
      ++options;
      std::istringstream fields(line);
      std::string option, value;
      fields >> option >> value;
      const bool named_value =
          !value.empty() &&
          value.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ_-") == std::string::npos;
      EXPECT_TRUE(words.contains(option) || (named_value && words.contains(value)))
          << cmd << ": " << option << " is not in \"" << usage << "\"";
    }
    EXPECT_GT(options, 0) << r.out;
  }
}

// ---------------------------------------------------------------------------------------------
// Redis unreachable, configuration errors: exit 1 naming the address or the key.

TEST(CliErrors, UnreachableRedisAndBadConfigExitOne) {
  TempDir dir;
  const std::string unix_cfg = dir.file("unix.yaml"), tcp_cfg = dir.file("tcp.yaml"),
                    bad_cfg = dir.file("bad.yaml");
  std::ofstream(unix_cfg) << "redis: {unix_socket: \"" << dir.file("nobody.sock") << "\"}\n";
  std::ofstream(tcp_cfg) << "redis: {host: 127.0.0.1, port: 1}\n";
  std::ofstream(bad_cfg) << "redis: {port: high}\nqueue: {nmae: x}\n";

  CliRun r = cli({"--config", unix_cfg, "stats"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("cannot connect to Redis at unix:" + dir.file("nobody.sock")),
            std::string::npos)
      << r.err;
  r = cli({"--config", tcp_cfg, "--json", "dead", "list"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("cannot connect to Redis at 127.0.0.1:1: Connection refused\n"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("cannot connect", r.err.find("cannot connect") + 1), std::string::npos)
      << r.err;  // said once
  EXPECT_EQ(r.out, "");

  r = cli({"--config", bad_cfg, "stats"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("redis.port: expected an integer 1-65535, got \"high\""), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("queue.nmae: unknown key"), std::string::npos) << r.err;

  r = cli({"--config", dir.file("missing.yaml"), "dead", "purge"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find(dir.file("missing.yaml") + ": cannot open"), std::string::npos) << r.err;
}

TEST_F(CliTest, PasswordAndDatabaseAreUsed) {
  c_.cmd({"CONFIG", "SET", "requirepass", "s3cret"});  // this connection stays authenticated
  write_config(", password: wrong");
  CliRun r = run({"stats"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("AUTH failed (redis.password)"), std::string::npos) << r.err;

  write_config(", password: s3cret, db: 3");
  r = run({"enqueue", "-"}, kJob1);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(c_.integer({"LLEN", "queues:wa-campaigns"}), 0);
  c_.cmd({"SELECT", "3"});
  EXPECT_EQ(c_.integer({"LLEN", "queues:wa-campaigns"}), 1);
  c_.cmd({"SELECT", "0"});
  c_.cmd({"CONFIG", "SET", "requirepass", ""});
}

// ---------------------------------------------------------------------------------------------
// stats

TEST_F(CliTest, StatsCountsQueueDecisionsAndSessions) {
  c_.cmd({"RPUSH", "queues:wa-campaigns", kJob1, kJob2});
  c_.cmd({"ZADD", "queues:wa-campaigns:delayed", "1", "delayed-job"});
  c_.cmd({"ZADD", "queues:wa-campaigns:reserved", "1", "reserved-job"});
  c_.cmd({"RPUSH", "queues:wa-campaigns:dead", core::dead_entry_json(kBadJob, "bad", 0)});
  const std::string now = core::iso8601(static_cast<double>(now_seconds()));
  const std::string old = core::iso8601(static_cast<double>(now_seconds() - 7200));
  for (const auto& [type, reason, at] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"webjs", "primary_session", now},
           {"webjs", "secondary_session", now},
           {"meta_api", "standard_template", old},
           {"queue", "no_provider_available", now}}) {
    c_.cmd({"RPUSH", "wa:results",
            R"({"job_id":"x","type":")" + type + R"(","reason":")" + reason +
                R"(","selected_at":")" + at + R"("})"});
  }
  c_.cmd({"RPUSH", "wa:results", R"({"event":"dead","job_id":"d","campaign_id":1})",
          R"({"event":"provider_switch","campaign_id":1})", "not json"});
  seed_session(c_, {.id = "s1", .workspace = "1", .health = 95});
  seed_session(c_, {.id = "s2", .workspace = "1", .status = "disconnected", .health = 70});
  seed_session(c_, {.id = "s3", .workspace = "2", .health = 12});
  seed_session(c_, {.id = "s4", .workspace = "2"});      // no health yet
  c_.cmd({"SADD", "wa:workspace:2:sessions", "ghost"});  // no hash
  c_.cmd({"RPUSH", "wa:events", "{}"});

  const CliRun r = run({"stats"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("Queue queues:wa-campaigns"), std::string::npos) << r.out;
  const std::string table = squeeze(r.out);
  EXPECT_NE(table.find(" pending 2\n"), std::string::npos) << r.out;
  EXPECT_NE(table.find(" webjs 2\n"), std::string::npos) << r.out;
  EXPECT_NE(table.find(" health 80-100 1\n"), std::string::npos) << r.out;
  EXPECT_NE(table.find(" health unknown 2 1 without a session hash\n"), std::string::npos) << r.out;
  EXPECT_NE(table.find("Sessions (5 in 2 workspaces, 3 connected)"), std::string::npos) << r.out;

  const CliRun j = run({"stats", "--json"});
  ASSERT_EQ(j.rc, 0) << j.err;
  const json::object o = parse_object(j.out);
  const auto& q = o.at("queue").as_object();
  EXPECT_EQ(q.at("pending").as_int64(), 2);
  EXPECT_EQ(q.at("delayed").as_int64(), 1);
  EXPECT_EQ(q.at("reserved").as_int64(), 1);
  EXPECT_EQ(q.at("dead").as_int64(), 1);
  const auto& res = o.at("results").as_object();
  EXPECT_EQ(res.at("records").as_int64(), 7);
  EXPECT_EQ(res.at("scanned").as_int64(), 7);
  EXPECT_EQ(res.at("unreadable").as_int64(), 1);
  const auto& dec = res.at("decisions").as_object();
  EXPECT_EQ(dec.at("total").as_int64(), 4);
  EXPECT_EQ(dec.at("by_type").at("webjs").as_int64(), 2);
  EXPECT_EQ(dec.at("by_type").at("meta_api").as_int64(), 1);
  EXPECT_EQ(dec.at("by_type").at("queue").as_int64(), 1);
  EXPECT_EQ(dec.at("by_reason").at("primary_session").as_int64(), 1);
  EXPECT_EQ(dec.at("last_hour").as_int64(), 3);
  EXPECT_EQ(dec.at("last_24h").as_int64(), 4);
  EXPECT_EQ(res.at("events").at("dead").as_int64(), 1);
  EXPECT_EQ(res.at("events").at("provider_switch").as_int64(), 1);
  const auto& s = o.at("sessions").as_object();
  EXPECT_EQ(s.at("workspaces").as_int64(), 2);
  EXPECT_EQ(s.at("total").as_int64(), 5);
  EXPECT_EQ(s.at("connected").as_int64(), 3);
  EXPECT_EQ(s.at("missing").as_int64(), 1);
  std::map<std::string, std::int64_t> bands;
  for (const auto& b : s.at("health_bands").as_array()) {
    bands[std::string(b.at("band").as_string())] = b.at("count").as_int64();
  }
  EXPECT_EQ(bands, (std::map<std::string, std::int64_t>{
                       {"80-100", 1}, {"60-79", 1}, {"0-59", 1}, {"unknown", 2}}));
  EXPECT_EQ(o.at("events_backlog").as_int64(), 1);

  // --results-limit counts the newest records only.
  const json::object lim = parse_object(run({"stats", "--json", "--results-limit", "3"}).out);
  EXPECT_EQ(lim.at("results").at("scanned").as_int64(), 3);
  EXPECT_EQ(lim.at("results").at("decisions").at("total").as_int64(), 0);
}

TEST_F(CliTest, StatsFollowsPrefixQueueNameAndThresholds) {
  write_config(
      ", prefix: \"laravel_database_\"}\nqueue: {name: bulk}\n"
      "health: {min_score_primary: 90, min_score_secondary: 50");
  c_.cmd({"RPUSH", "laravel_database_queues:bulk", kJob1});
  c_.cmd({"RPUSH", "queues:wa-campaigns", kJob1, kJob1});  // not this daemon's queue
  seed_session(c_, {.id = "s1", .health = 85}, "laravel_database_");
  c_.cmd({"HSET", "laravel_database_wa:pace:s1", "rate_per_hour", "500"});
  c_.cmd({"ZADD", "laravel_database_wa:backlog:s1", "1", "7"});
  c_.cmd({"RPUSH", "laravel_database_wa:dispatch:7:s1", "1", "2"});
  c_.cmd({"RPUSH", "wa:dispatch:7:s1", "3"});  // not this prefix's
  const CliRun r = run({"--json", "stats"});
  ASSERT_EQ(r.rc, 0) << r.err;
  const json::object o = parse_object(r.out);
  EXPECT_EQ(o.at("queue").at("key").as_string(), "laravel_database_queues:bulk");
  EXPECT_EQ(o.at("queue").at("pending").as_int64(), 1);
  const auto& bands = o.at("sessions").at("health_bands").as_array();
  ASSERT_EQ(bands.size(), 4u);
  EXPECT_EQ(bands[0].at("band").as_string(), "90-100");
  EXPECT_EQ(bands[1].at("band").as_string(), "50-89");
  EXPECT_EQ(bands[1].at("count").as_int64(), 1);
  const auto& pace = o.at("pacing").at("targets").at(0).as_object();
  EXPECT_EQ(num(pace.at("rate_per_hour")), 500);
  EXPECT_EQ(pace.at("backlog").at("contacts").as_int64(), 2);
}

// The pacing part (CONTRACT.md section 8): each session's pace hash as the pacer wrote it, the
// contacts waiting in its backlog's dispatch lists and its ready list, the next release (its
// score in wa:pace:due), Meta targets that have a pace, and the paused campaigns.
TEST_F(CliTest, StatsShowsEachTargetsPaceBacklogAndNextRelease) {
  seed_session(c_, {.id = "s1", .workspace = "1", .health = 95});
  seed_session(c_, {.id = "s2", .workspace = "1", .health = 90});  // never paced
  seed_meta(c_, "1", true);
  seed_meta(c_, "2", true);  // no Meta pace: no row
  c_.cmd({"SADD", "wa:workspaces", "2"});
  const long long now_ms = static_cast<long long>(now_seconds() * 1000);
  c_.cmd({"HSET", "wa:pace:s1", "rate_per_hour", "3600", "factor", "0.5", "day", day_string(0),
          "released_today", "12", "cap_today", "50", "next_at", std::to_string(now_ms + 30000),
          "last_campaign", "7"});
  c_.cmd({"ZADD", "wa:backlog:s1", "1", "7", "2", "c-8", "3", "9"});
  c_.cmd({"RPUSH", "wa:dispatch:7:s1", "1", "2", "3"});
  c_.cmd({"RPUSH", "wa:dispatch:c-8:s1", "4", "5"});
  c_.cmd({"RPUSH", "wa:dispatch:9:s1", "6"});
  c_.cmd({"RPUSH", "wa:dispatch:7:s2", "10"});  // another target's list: not s1's backlog
  c_.cmd({"SADD", "wa:campaigns:paused", "c-8", "other"});
  c_.cmd({"RPUSH", "wa:ready:s1", R"({"campaign_id":7,"contact":"0","released_at":"x"})"});
  c_.cmd({"ZADD", "wa:pace:due", std::to_string(now_ms + 30000), "s1"});
  c_.cmd({"HSET", "wa:pace:meta_api:1", "rate_per_hour", "288000", "factor", "1", "day",
          day_string(0), "released_today", "30", "next_at", std::to_string(now_ms)});
  c_.cmd({"ZADD", "wa:backlog:meta_api:1", "1", "7"});
  c_.cmd({"RPUSH", "wa:dispatch:7:meta_api", "20", "21"});
  c_.cmd({"ZADD", "wa:pace:due", std::to_string(now_ms - 5000), "meta_api:1"});
  // s3 used up today's cap; s4 waits only for a paused campaign.
  seed_session(c_, {.id = "s3", .workspace = "1", .health = 95});
  seed_session(c_, {.id = "s4", .workspace = "1", .health = 95});
  c_.cmd({"HSET", "wa:pace:s3", "rate_per_hour", "100", "day", day_string(0), "released_today", "5",
          "cap_today", "5"});
  c_.cmd({"ZADD", "wa:backlog:s3", "1", "11"});
  c_.cmd({"RPUSH", "wa:dispatch:11:s3", "1", "2"});
  c_.cmd({"ZADD", "wa:pace:due", std::to_string(now_ms + 60000), "s3"});
  c_.cmd({"ZADD", "wa:backlog:s4", "1", "c-8"});
  c_.cmd({"RPUSH", "wa:dispatch:c-8:s4", "1"});
  c_.cmd({"ZADD", "wa:pace:due", std::to_string(now_ms + 1000), "s4"});

  const CliRun r = run({"stats"});
  ASSERT_EQ(r.rc, 0) << r.err;
  const std::string table = squeeze(r.out);
  EXPECT_NE(table.find("Pacing (targets due: 4, paused campaigns: 2)"), std::string::npos) << r.out;
  EXPECT_NE(table.find(" target rate/h factor released/cap waiting ready next release backlog\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(table.find(" s1 3600 0.50 12/50 6 1 in "), std::string::npos) << r.out;
  EXPECT_NE(table.find(" s 3 campaigns, 1 paused\n"), std::string::npos) << r.out;
  EXPECT_NE(table.find(" s2 - - - 0 0 -\n"), std::string::npos) << r.out;
  EXPECT_NE(table.find(" s3 100 - 5/5 2 0 next day 1 campaign, cap reached\n"), std::string::npos)
      << r.out;
  EXPECT_NE(table.find(" s4 - - - 1 0 paused 1 campaign, 1 paused\n"), std::string::npos) << r.out;
  EXPECT_NE(table.find(" meta_api:1 288000 1.00 30/- 2 0 now 1 campaign\n"), std::string::npos)
      << r.out;
  EXPECT_EQ(table.find("meta_api:2"), std::string::npos) << r.out;

  const json::object o = parse_object(run({"--json", "stats"}).out);
  const auto& p = o.at("pacing").as_object();
  EXPECT_EQ(p.at("enabled").as_bool(), true);
  EXPECT_EQ(p.at("paused_campaigns").as_int64(), 2);
  EXPECT_EQ(p.at("due_targets").as_int64(), 4);
  const auto& rows = p.at("targets").as_array();
  ASSERT_EQ(rows.size(), 5u);
  const auto& s1 = rows[0].as_object();
  EXPECT_EQ(s1.at("target").as_string(), "s1");
  EXPECT_EQ(s1.at("kind").as_string(), "webjs");
  EXPECT_EQ(num(s1.at("rate_per_hour")), 3600);
  EXPECT_EQ(num(s1.at("factor")), 0.5);
  EXPECT_EQ(s1.at("day").as_string(), day_string(0));
  EXPECT_EQ(s1.at("released_today").as_int64(), 12);
  EXPECT_EQ(s1.at("cap_today").as_int64(), 50);
  EXPECT_EQ(s1.at("backlog").at("campaigns").as_int64(), 3);
  EXPECT_EQ(s1.at("backlog").at("counted").as_int64(), 3);
  EXPECT_EQ(s1.at("backlog").at("complete").as_bool(), true);
  EXPECT_EQ(s1.at("backlog").at("paused").as_int64(), 1);
  EXPECT_EQ(s1.at("backlog").at("contacts").as_int64(), 6);
  EXPECT_EQ(s1.at("ready").as_int64(), 1);
  EXPECT_EQ(s1.at("cap_reached").as_bool(), false);
  EXPECT_EQ(s1.at("next_release_at").as_string(),
            core::iso8601(static_cast<double>(now_ms + 30000) / 1000.0));
  EXPECT_GT(num(s1.at("next_release_in_s")), 20);
  EXPECT_LE(num(s1.at("next_release_in_s")), 30);
  const auto& s2 = rows[1].as_object();
  EXPECT_EQ(s2.at("target").as_string(), "s2");
  EXPECT_TRUE(s2.at("rate_per_hour").is_null());
  EXPECT_TRUE(s2.at("next_release_at").is_null());
  EXPECT_EQ(s2.at("backlog").at("contacts").as_int64(), 0);
  EXPECT_EQ(rows[2].at("cap_reached").as_bool(), true);
  EXPECT_EQ(rows[3].at("backlog").at("paused").as_int64(), 1);
  const auto& m = rows[4].as_object();
  EXPECT_EQ(m.at("target").as_string(), "meta_api:1");
  EXPECT_EQ(m.at("kind").as_string(), "meta_api");
  EXPECT_TRUE(m.at("cap_today").is_null());
  EXPECT_EQ(m.at("backlog").at("contacts").as_int64(), 2);
  EXPECT_EQ(num(m.at("next_release_in_s")), 0);
}

// A backlog of more campaigns than stats looks at: the first 100 are counted and the output
// says there are more; pacing off says so and reads no target.
TEST_F(CliTest, StatsCountsTheFirstHundredCampaignsOfABacklog) {
  seed_session(c_, {.id = "s1", .health = 95});
  std::vector<std::string> zadd{"ZADD", "wa:backlog:s1"};
  for (int i = 1; i <= 150; ++i) {
    zadd.push_back(std::to_string(i));
    zadd.push_back("c" + std::to_string(i));
    c_.cmd({"RPUSH", "wa:dispatch:c" + std::to_string(i) + ":s1", "a", "b"});
  }
  c_.cmd(zadd);
  const CliRun r = run({"stats"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(squeeze(r.out).find(" s1 - - - 200+ 0 - 100+ campaigns\n"), std::string::npos) << r.out;
  const json::object o = parse_object(run({"--json", "stats"}).out);
  const auto& b = o.at("pacing").at("targets").at(0).at("backlog").as_object();
  EXPECT_EQ(b.at("campaigns").as_int64(), 150);
  EXPECT_EQ(b.at("counted").as_int64(), 100);
  EXPECT_EQ(b.at("complete").as_bool(), false);
  EXPECT_EQ(b.at("contacts").as_int64(), 200);

  write_config("}\npacing: {enabled: false");
  const CliRun off = run({"stats"});
  ASSERT_EQ(off.rc, 0) << off.err;
  EXPECT_NE(off.out.find("Pacing off (pacing.enabled: false)"), std::string::npos) << off.out;
  const json::object oo = parse_object(run({"--json", "stats"}).out);
  EXPECT_EQ(oo.at("pacing").at("enabled").as_bool(), false);
  EXPECT_TRUE(oo.at("pacing").at("targets").as_array().empty());
}

// ---------------------------------------------------------------------------------------------
// report

TEST_F(CliTest, ReportComputesRatesAndWinnerFromDailyCounters) {
  const std::string d0 = day_string(2), d1 = day_string(1), d2 = day_string(0);
  c_.cmd({"HSET", "wa:stats:daily:7:webjs:" + d0, "total", "100", "successful", "90", "delivered",
          "80", "read", "40", "failed", "10", "delivery_time_sum", "150000", "delivery_time_count",
          "75"});
  c_.cmd({"HSET", "wa:stats:daily:7:webjs:" + d2, "total", "100", "successful", "80", "delivered",
          "70", "read", "30", "failed", "20", "delivery_time_sum", "50000", "delivery_time_count",
          "25"});
  c_.cmd({"HSET", "wa:stats:daily:7:meta_api:" + d1, "total", "50", "successful", "49", "delivered",
          "45", "read", "20", "failed", "1", "delivery_time_sum", "40000.5", "delivery_time_count",
          "45"});
  // Outside the range or another workspace: not counted.
  c_.cmd({"HSET", "wa:stats:daily:7:webjs:" + day_string(3), "total", "1000", "successful", "0"});
  c_.cmd({"HSET", "wa:stats:daily:8:meta_api:" + d1, "total", "1000", "successful", "0"});

  const CliRun j = run({"report", "--workspace", "7", "--from", d0, "--to", d2, "--json"});
  ASSERT_EQ(j.rc, 0) << j.err;
  const json::object o = parse_object(j.out);
  EXPECT_EQ(o.at("days").as_int64(), 3);
  const auto& web = o.at("providers").at("webjs").as_object();
  EXPECT_EQ(web.at("total").as_int64(), 200);
  EXPECT_EQ(web.at("successful").as_int64(), 170);
  EXPECT_EQ(web.at("delivered").as_int64(), 150);
  EXPECT_EQ(web.at("read").as_int64(), 70);
  EXPECT_EQ(web.at("failed").as_int64(), 30);
  EXPECT_DOUBLE_EQ(num(web.at("success_rate")), 85.0);
  EXPECT_DOUBLE_EQ(num(web.at("delivery_rate")), 75.0);
  EXPECT_DOUBLE_EQ(num(web.at("read_rate")), 35.0);
  EXPECT_DOUBLE_EQ(num(web.at("avg_delivery_time_ms")), 2000.0);
  const auto& meta = o.at("providers").at("meta_api").as_object();
  EXPECT_EQ(meta.at("total").as_int64(), 50);
  EXPECT_DOUBLE_EQ(num(meta.at("success_rate")), 98.0);
  EXPECT_DOUBLE_EQ(num(meta.at("delivery_rate")), 90.0);
  EXPECT_DOUBLE_EQ(num(meta.at("read_rate")), 40.0);
  EXPECT_NEAR(num(meta.at("avg_delivery_time_ms")), 40000.5 / 45, 1e-9);
  const auto& cmp = o.at("comparison").as_object();
  EXPECT_EQ(cmp.at("winner").as_string(), "meta_api");
  EXPECT_EQ(cmp.at("result").as_string(), "meta_api");
  EXPECT_DOUBLE_EQ(num(cmp.at("success_rate_difference")), -13.0);
  EXPECT_EQ(o.at("daily").as_array().size(), 3u);

  const CliRun h = run({"report", "--workspace", "7", "--from", d0, "--to", d2});
  ASSERT_EQ(h.rc, 0) << h.err;
  const std::string table = squeeze(h.out);
  EXPECT_NE(table.find(" messages 200 50\n"), std::string::npos) << h.out;
  EXPECT_NE(table.find(" success rate 85.00% 98.00%\n"), std::string::npos) << h.out;
  EXPECT_NE(table.find(" delivery rate 75.00% 90.00%\n"), std::string::npos) << h.out;
  EXPECT_NE(table.find(" read rate 35.00% 40.00%\n"), std::string::npos) << h.out;
  EXPECT_NE(table.find(" avg delivery time 2000 ms 889 ms\n"), std::string::npos) << h.out;
  EXPECT_NE(h.out.find("Winner: meta_api (success rate 98.00% vs 85.00%"), std::string::npos)
      << h.out;
}

TEST_F(CliTest, ReportSaysSoOnTieMissingDataAndOneSidedData) {
  const std::string d = day_string(0);
  // No data at all.
  CliRun r = run({"--json", "report", "--workspace", "7", "--from", d, "--to", d});
  ASSERT_EQ(r.rc, 0) << r.err;
  json::object o = parse_object(r.out);
  EXPECT_EQ(o.at("comparison").at("result").as_string(), "no_data");
  EXPECT_TRUE(o.at("comparison").at("winner").is_null());
  EXPECT_TRUE(o.at("providers").at("webjs").at("success_rate").is_null());
  r = run({"report", "--workspace", "7", "--from", d, "--to", d});
  EXPECT_NE(r.out.find("No winner: neither provider has messages"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("n/a"), std::string::npos);

  // One provider only.
  c_.cmd({"HSET", "wa:stats:daily:7:webjs:" + d, "total", "10", "successful", "9"});
  o = parse_object(run({"--json", "report", "--workspace", "7", "--from", d, "--to", d}).out);
  EXPECT_EQ(o.at("comparison").at("result").as_string(), "incomplete");
  EXPECT_TRUE(o.at("comparison").at("winner").is_null());

  // Tie: 9/10 and 18/20.
  c_.cmd({"HSET", "wa:stats:daily:7:meta_api:" + d, "total", "20", "successful", "18"});
  o = parse_object(run({"--json", "report", "--workspace", "7", "--from", d, "--to", d}).out);
  EXPECT_EQ(o.at("comparison").at("result").as_string(), "tie");
  EXPECT_TRUE(o.at("comparison").at("winner").is_null());
  r = run({"report", "--workspace", "7", "--from", d, "--to", d});
  EXPECT_NE(r.out.find("Tie: both providers have a success rate of 90.00%"), std::string::npos)
      << r.out;

  // A range older than the retention period gets a note.
  o = parse_object(
      run({"--json", "report", "--workspace", "7", "--from", "2020-01-01", "--to", "2020-01-02"})
          .out);
  ASSERT_EQ(o.at("notes").as_array().size(), 1u);
  EXPECT_NE(std::string(o.at("notes").at(0).as_string()).find("retention_period_days"),
            std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// dead list / retry / purge

TEST_F(CliTest, DeadListShowsEntries) {
  c_.cmd({"RPUSH", "queues:wa-campaigns:dead",
          core::dead_entry_json(kJob1, "not served after 10 attempts", 1700000000),
          core::dead_entry_json(kBadJob, "template_mode: bad", 1700000001),
          core::dead_entry_json(std::string("\xff\xfe not utf-8"), "not JSON", 1700000002),
          "garbage"});
  CliRun r = run({"dead", "list"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("queues:wa-campaigns:dead: 4 dead jobs"), std::string::npos) << r.out;
  EXPECT_NE(squeeze(r.out).find("0 2023-11-14T22:13:20.000Z j1 7 1 not served after 10 attempts"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("not served after 10 attempts"), std::string::npos) << r.out;

  r = run({"dead", "list", "--json", "--payload"});
  ASSERT_EQ(r.rc, 0) << r.err;
  json::object o = parse_object(r.out);
  EXPECT_EQ(o.at("total").as_int64(), 4);
  const auto& e = o.at("entries").as_array();
  ASSERT_EQ(e.size(), 4u);
  EXPECT_EQ(e[0].at("job_id").as_string(), "j1");
  EXPECT_EQ(e[0].at("campaign_id").as_int64(), 7);
  EXPECT_EQ(e[0].at("workspace_id").as_string(), "1");
  EXPECT_EQ(e[0].at("valid").as_bool(), true);
  EXPECT_EQ(e[0].at("attempts").as_int64(), 0);
  EXPECT_EQ(e[0].at("payload").as_string(), kJob1);
  EXPECT_EQ(e[0].at("failed_at").as_string(), "2023-11-14T22:13:20.000Z");
  EXPECT_EQ(e[1].at("job_id").as_string(), "bad1");
  EXPECT_EQ(e[1].at("campaign_id").as_int64(), 9);
  EXPECT_EQ(e[1].at("valid").as_bool(), false);
  EXPECT_EQ(e[1].at("error").as_string(), "template_mode: bad");
  EXPECT_EQ(e[2].at("encoding").as_string(), "base64");
  EXPECT_EQ(e[2].at("job_id").as_string(), core::derive_job_id(std::string("\xff\xfe not utf-8")));
  EXPECT_EQ(e[3].at("readable").as_bool(), false);

  o = parse_object(run({"--json", "dead", "list", "--limit", "1"}).out);
  EXPECT_EQ(o.at("total").as_int64(), 4);
  EXPECT_EQ(o.at("shown").as_int64(), 1);
  EXPECT_FALSE(o.at("entries").at(0).as_object().contains("payload"));
}

TEST_F(CliTest, DeadRetryMovesEntriesAtomicallyAndClearsMarkers) {
  const std::string other = core::dead_entry_json(kJob2, "e", 1);
  c_.cmd({"RPUSH", "queues:wa-campaigns:dead", core::dead_entry_json(kJob1, "e", 1), other,
          core::dead_entry_json(kBadJob, "e", 1)});
  c_.cmd({"RPUSH", "queues:wa-campaigns", "already-queued"});
  c_.cmd({"RPUSH", "queues:wa-campaigns:notify", "1"});
  c_.cmd({"SET", "wa:decided:j1:0", "1"});
  c_.cmd({"SET", "wa:decided:j1:3", "1"});  // another attempt: kept

  CliRun r = run({"dead", "retry", "j1"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("retried 1 dead job onto queues:wa-campaigns: j1"), std::string::npos)
      << r.out;
  EXPECT_EQ(c_.list("queues:wa-campaigns"), (std::vector<std::string>{"already-queued", kJob1}));
  EXPECT_EQ(c_.integer({"LLEN", "queues:wa-campaigns:notify"}), 2);
  EXPECT_EQ(c_.integer({"EXISTS", "wa:decided:j1:0"}), 0);
  EXPECT_EQ(c_.integer({"EXISTS", "wa:decided:j1:3"}), 1);
  EXPECT_EQ(c_.integer({"LLEN", "queues:wa-campaigns:dead"}), 2);

  r = run({"dead", "retry", "j1"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("no dead entry has job_id \"j1\""), std::string::npos) << r.err;

  // --all skips invalid payloads (they would go straight back to dead).
  r = run({"--json", "dead", "retry", "--all"});
  ASSERT_EQ(r.rc, 0) << r.err;
  json::object o = parse_object(r.out);
  EXPECT_EQ(o.at("retried").as_int64(), 1);
  EXPECT_EQ(o.at("job_ids"), (json::array{"j2"}));
  ASSERT_EQ(o.at("skipped").as_array().size(), 1u);
  EXPECT_EQ(o.at("skipped").at(0).at("job_id").as_string(), "bad1");
  EXPECT_EQ(c_.list("queues:wa-campaigns"),
            (std::vector<std::string>{"already-queued", kJob1, kJob2}));
  EXPECT_EQ(c_.list("queues:wa-campaigns:dead"),
            (std::vector<std::string>{core::dead_entry_json(kBadJob, "e", 1)}));

  r = run({"--json", "dead", "retry", "--all", "--include-invalid"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(parse_object(r.out).at("retried").as_int64(), 1);
  EXPECT_EQ(c_.integer({"LLEN", "queues:wa-campaigns:dead"}), 0);
  EXPECT_EQ(c_.integer({"LLEN", "queues:wa-campaigns"}), 4);
  EXPECT_EQ(c_.integer({"LLEN", "queues:wa-campaigns:notify"}), 4);
}

TEST_F(CliTest, DeadRetryDecodesBase64PayloadsAndHandlesDerivedIds) {
  const std::string binary = std::string("\xff{not utf-8");
  const std::string no_id =
      R"({"campaign_id":5,"workspace_id":"1","template_mode":"direct","contacts":[9]})";
  c_.cmd({"RPUSH", "queues:wa-campaigns:dead", core::dead_entry_json(binary, "not JSON", 1),
          core::dead_entry_json(no_id, "e", 1), core::dead_entry_json(no_id, "e", 2)});
  const std::string binary_id = core::derive_job_id(binary);
  CliRun r = run({"dead", "retry", binary_id});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.err.find("warning: job " + binary_id + " is not a valid job"), std::string::npos)
      << r.err;
  EXPECT_EQ(c_.list("queues:wa-campaigns"), (std::vector<std::string>{binary}));

  // Two dead entries of the same derived id: both go back.
  r = run({"--json", "dead", "retry", core::derive_job_id(no_id)});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(parse_object(r.out).at("retried").as_int64(), 2);
  EXPECT_EQ(c_.list("queues:wa-campaigns"), (std::vector<std::string>{binary, no_id, no_id}));
  EXPECT_EQ(c_.integer({"LLEN", "queues:wa-campaigns:dead"}), 0);
}

TEST_F(CliTest, DeadPurgeRemovesEverythingAndCounts) {
  c_.cmd({"RPUSH", "queues:wa-campaigns:dead", "a", "b", "c"});
  CliRun r = run({"dead", "purge"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "purged 3 dead entries from queues:wa-campaigns:dead\n");
  EXPECT_EQ(c_.integer({"EXISTS", "queues:wa-campaigns:dead"}), 0);
  r = run({"dead", "purge", "--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(parse_object(r.out).at("purged").as_int64(), 0);
}

constexpr const char* kDeadKey = "queues:wa-campaigns:dead";
constexpr const char* kHeldKey = "queues:wa-campaigns:dead:held";

// RPUSH key entries..., 1000 per command.
void push_all(Client& c, const std::string& key, const std::vector<std::string>& entries) {
  for (std::size_t at = 0; at < entries.size(); at += 1000) {
    std::vector<std::string> cmd{"RPUSH", key};
    cmd.insert(cmd.end(), entries.begin() + static_cast<std::ptrdiff_t>(at),
               entries.begin() + static_cast<std::ptrdiff_t>(std::min(entries.size(), at + 1000)));
    c.cmd(cmd);
  }
}

// A valid job and an invalid one (no workspace_id, a bad template_mode), padded with an unknown
// field of `pad` bytes.
std::string valid_job(const std::string& id, std::size_t pad = 0) {
  return R"({"job_id":")" + id +
         R"(","campaign_id":7,"workspace_id":"1","template_mode":"direct","contacts":[1],"pad":")" +
         std::string(pad, 'x') + "\"}";
}
std::string invalid_job(const std::string& id, std::size_t pad = 0) {
  return R"({"job_id":")" + id + R"(","campaign_id":9,"template_mode":"sms","pad":")" +
         std::string(pad, 'x') + "\"}";
}

// 20,000 dead entries of 3 KB, the 10,000 invalid ones first: every valid one is retried exactly
// once, in order, its notify entry pushed and its marker deleted, the invalid ones stay in order
// and are reported; in a few seconds (retrying each entry where it stood made Redis scan the
// invalid ones in front of it every time: 10.7 s for small entries) and in memory bounded by the
// page (the whole list was read, parsed and copied: 11 times its size).
TEST_F(CliTest, DeadRetryAllIsLinearAndPagedWhenInvalidEntriesComeFirst) {
  constexpr int kEach = 10000;
  constexpr std::size_t kPad = 3000;  // a 60 MB dead list
  std::vector<std::string> invalid, valid, entries;
  for (int i = 0; i < kEach; ++i) {
    invalid.push_back(
        core::dead_entry_json(invalid_job("bad-" + std::to_string(i), kPad), "invalid", 1));
    valid.push_back(valid_job("ok-" + std::to_string(i), kPad));
  }
  entries = invalid;
  for (const std::string& v : valid)
    entries.push_back(core::dead_entry_json(v, "not served", 1));
  push_all(c_, kDeadKey, entries);
  c_.cmd({"SET", "wa:decided:ok-5:0", "1"});
  c_.cmd({"SET", "wa:decided:bad-5:bad", "1"});

  const auto start = std::chrono::steady_clock::now();
  const CliRun r = run({"--json", "dead", "retry", "--all"});
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(r.rc, 0) << r.err;
  // (Time and memory say linear and paged in a plain build; AddressSanitizer multiplies both.)
#if !defined(__SANITIZE_ADDRESS__)
  EXPECT_LT(took, std::chrono::seconds(5))
      << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms";
  EXPECT_LT(r.max_rss_kb, 48 * 1024) << "KB";
#else
  (void)took;
#endif

  const json::object o = parse_object(r.out);
  EXPECT_EQ(o.at("retried").as_int64(), kEach);
  EXPECT_EQ(o.at("vanished").as_int64(), 0);
  const json::array& ids = o.at("job_ids").as_array();
  const json::array& skipped = o.at("skipped").as_array();
  ASSERT_EQ(ids.size(), static_cast<std::size_t>(kEach));
  ASSERT_EQ(skipped.size(), static_cast<std::size_t>(kEach));
  for (int i = 0; i < kEach; ++i) {
    ASSERT_EQ(ids[i].as_string(), "ok-" + std::to_string(i));
    ASSERT_EQ(skipped[i].at("index").as_int64(), i);
    ASSERT_EQ(skipped[i].at("job_id").as_string(), "bad-" + std::to_string(i));
  }
  EXPECT_TRUE(c_.list("queues:wa-campaigns") == valid);  // each once, in order
  EXPECT_EQ(c_.integer({"LLEN", "queues:wa-campaigns:notify"}), kEach);
  EXPECT_TRUE(c_.list(kDeadKey) == invalid);
  EXPECT_EQ(c_.integer({"EXISTS", kHeldKey}), 0);
  EXPECT_EQ(c_.integer({"EXISTS", "wa:decided:ok-5:0"}), 0);
  EXPECT_EQ(c_.integer({"EXISTS", "wa:decided:bad-5:bad"}), 1);  // not retried: kept
}

// A retry killed in the middle: every entry is in the queue or in the dead list exactly once,
// in its order; the dead list shows the entries the retry held first; the next retry puts them
// back and finishes.
TEST_F(CliTest, DeadRetryKilledMidwayLosesDoublesAndReordersNothing) {
  constexpr int kPairs = 20000;
  std::vector<std::string> valid, entries;
  for (int i = 0; i < kPairs; ++i) {
    valid.push_back(valid_job("ok-" + std::to_string(i)));
    entries.push_back(core::dead_entry_json(invalid_job("bad-" + std::to_string(i)), "e", 1));
    entries.push_back(core::dead_entry_json(valid.back(), "e", 1));
  }
  push_all(c_, kDeadKey, entries);

  TempDir out;
  const pid_t pid = spawn_cli(out, {"--config", config_, "dead", "retry", "--all"});
  ASSERT_TRUE(wait_until([&] { return c_.integer({"LLEN", "queues:wa-campaigns"}) >= 2000; }));
  ::kill(pid, SIGKILL);
  wait_cli(out, pid);

  const std::vector<std::string> queued = c_.list("queues:wa-campaigns");
  const std::size_t n = queued.size();
  ASSERT_LT(n, static_cast<std::size_t>(kPairs)) << "the retry was over before it was killed";
  EXPECT_TRUE(queued == std::vector<std::string>(valid.begin(), valid.begin() + n));
  EXPECT_EQ(c_.integer({"LLEN", "queues:wa-campaigns:notify"}), static_cast<long long>(n));
  std::vector<std::string> left, left_ids;  // the entries not retried, in their order
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (i % 2 == 1 && i / 2 < n) continue;
    left.push_back(entries[i]);
    left_ids.push_back((i % 2 == 0 ? "bad-" : "ok-") + std::to_string(i / 2));
  }
  std::vector<std::string> seen = c_.list(kHeldKey);
  EXPECT_GE(seen.size(), n);  // at least the invalid entries in front of the retried ones
  for (const std::string& e : c_.list(kDeadKey))
    seen.push_back(e);
  EXPECT_TRUE(seen == left);

  json::object o = parse_object(run({"--json", "dead", "list", "--limit", "0"}).out);
  EXPECT_EQ(o.at("total").as_int64(), static_cast<long long>(left.size()));
  ASSERT_EQ(o.at("entries").as_array().size(), left.size());
  for (std::size_t i = 0; i < left.size(); ++i) {
    ASSERT_EQ(o.at("entries").at(i).at("index").as_int64(), static_cast<long long>(i));
    ASSERT_EQ(o.at("entries").at(i).at("job_id").as_string(), left_ids[i]);
  }

  const CliRun r = run({"--json", "dead", "retry", "--all"});
  ASSERT_EQ(r.rc, 0) << r.err;
  o = parse_object(r.out);
  EXPECT_EQ(o.at("retried").as_int64(), kPairs - static_cast<long long>(n));
  EXPECT_EQ(o.at("skipped").as_array().size(), static_cast<std::size_t>(kPairs));
  EXPECT_TRUE(c_.list("queues:wa-campaigns") == valid);
  EXPECT_EQ(c_.integer({"LLEN", "queues:wa-campaigns:notify"}), kPairs);
  std::vector<std::string> invalid;
  for (std::size_t i = 0; i < entries.size(); i += 2)
    invalid.push_back(entries[i]);
  EXPECT_TRUE(c_.list(kDeadKey) == invalid);
  EXPECT_EQ(c_.integer({"EXISTS", kHeldKey}), 0);
}

// Entries a killed retry held: counted and listed first by stats and dead list, put back in
// front of the dead list by the next retry, deleted by purge.
TEST_F(CliTest, HeldEntriesOfAKilledRetryAreListedFirstAndPutBack) {
  const std::string a = core::dead_entry_json(kJob1, "e", 1),
                    b = core::dead_entry_json(kBadJob, "e", 1),
                    c = core::dead_entry_json(kJob2, "e", 1);
  c_.cmd({"RPUSH", kHeldKey, a, b});
  c_.cmd({"RPUSH", kDeadKey, c});

  json::object o = parse_object(run({"--json", "dead", "list"}).out);
  EXPECT_EQ(o.at("total").as_int64(), 3);
  ASSERT_EQ(o.at("entries").as_array().size(), 3u);
  EXPECT_EQ(o.at("entries").at(0).at("job_id").as_string(), "j1");
  EXPECT_EQ(o.at("entries").at(1).at("job_id").as_string(), "bad1");
  EXPECT_EQ(o.at("entries").at(2).at("job_id").as_string(), "j2");
  EXPECT_EQ(o.at("entries").at(2).at("index").as_int64(), 2);
  o = parse_object(run({"--json", "dead", "list", "--limit", "1"}).out);
  EXPECT_EQ(o.at("shown").as_int64(), 1);
  EXPECT_EQ(parse_object(run({"--json", "stats"}).out).at("queue").at("dead").as_int64(), 3);

  CliRun r = run({"dead", "retry", "j2"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(c_.list("queues:wa-campaigns"), (std::vector<std::string>{kJob2}));
  EXPECT_EQ(c_.list(kDeadKey), (std::vector<std::string>{a, b}));
  EXPECT_EQ(c_.integer({"EXISTS", kHeldKey}), 0);

  c_.cmd({"RPUSH", kHeldKey, "x"});
  r = run({"dead", "purge"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "purged 3 dead entries from queues:wa-campaigns:dead\n");
  EXPECT_EQ(c_.integer({"EXISTS", kHeldKey}), 0);
}

// Purging 200,000 entries of 1 KB: Redis frees them in the background, so no command of the
// purge takes 10 ms (DEL freed them in the script: 15-20 ms here). One entry per list node, as
// for entries over 8 KB (big inline contact lists): freeing a list costs Redis per node.
TEST_F(CliTest, DeadPurgeOfAHugeListKeepsRedisResponsive) {
  c_.cmd({"CONFIG", "SET", "list-max-listpack-size", "1"});
  std::vector<std::string> entries;
  for (int i = 0; i < 200000; ++i)
    entries.push_back(std::to_string(i) + std::string(1000, 'x'));
  push_all(c_, kDeadKey, entries);
  c_.cmd({"CONFIG", "SET", "slowlog-log-slower-than", "10000"});
  c_.cmd({"SLOWLOG", "RESET"});

  const CliRun r = run({"--json", "dead", "purge"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(parse_object(r.out).at("purged").as_int64(), 200000);
  EXPECT_EQ(c_.integer({"EXISTS", kDeadKey}), 0);
  const Reply slow = c_.cmd({"SLOWLOG", "GET", "10"});
  std::string commands;
  for (const Reply& e : slow.elements) {
    if (e.elements.size() > 3) commands += e.elements[3].strings().front() + " ";
  }
  EXPECT_TRUE(slow.elements.empty()) << "slower than 10 ms: " << commands;
}

// ---------------------------------------------------------------------------------------------
// enqueue

TEST_F(CliTest, EnqueuePushesArraysJsonLinesAndStdinLikePushRaw) {
  // An array from a file: bytes kept exactly (spacing, key order).
  const std::string spaced =
      "{ \"job_id\": \"a1\", \"campaign_id\": 1, \"workspace_id\": \"1\",\n"
      "  \"template_mode\": \"direct\", \"contacts\": [1, 2], \"extra\": {\"x\": [1.50]} }";
  const std::string file = dir_.file("jobs.json");
  std::ofstream(file) << "[\n  " << spaced << ",\n  " << kJob2 << "\n]\n";
  CliRun r = run({"enqueue", file});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "enqueued 2 jobs onto queues:wa-campaigns: a1, j2\n");
  EXPECT_EQ(c_.list("queues:wa-campaigns"), (std::vector<std::string>{spaced, kJob2}));
  EXPECT_EQ(c_.list("queues:wa-campaigns:notify"), (std::vector<std::string>{"1", "1"}));

  // JSON lines on stdin, --json.
  r = run({"--json", "enqueue", "-"}, kJob1 + "\n\n" + kJob2 + "\n");
  ASSERT_EQ(r.rc, 0) << r.err;
  json::object o = parse_object(r.out);
  EXPECT_EQ(o.at("enqueued").as_int64(), 2);
  EXPECT_EQ(o.at("job_ids"), (json::array{"j1", "j2"}));
  EXPECT_EQ(c_.integer({"LLEN", "queues:wa-campaigns"}), 4);
  EXPECT_EQ(c_.integer({"LLEN", "queues:wa-campaigns:notify"}), 4);

  // One object; a prefixed queue with another name.
  write_config(", prefix: \"app_\"}\nqueue: {name: bulk");
  r = run({"enqueue", "-"}, kJob1);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(c_.list("app_queues:bulk"), (std::vector<std::string>{kJob1}));
  EXPECT_EQ(c_.list("app_queues:bulk:notify"), (std::vector<std::string>{"1"}));
}

TEST_F(CliTest, EnqueueRejectsInvalidJobsUnlessSkipInvalid) {
  const std::string input = kJob1 + "\n" + kBadJob + "\n" + kJob2 + "\n";
  CliRun r = run({"enqueue", "-"}, input);
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("job 2 (line 2) is invalid: workspace_id: required"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("template_mode: expected \"direct\" or \"template\", got \"sms\""),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("nothing enqueued"), std::string::npos) << r.err;
  EXPECT_EQ(c_.integer({"EXISTS", "queues:wa-campaigns"}), 0);
  EXPECT_EQ(c_.integer({"EXISTS", "queues:wa-campaigns:notify"}), 0);

  r = run({"--json", "enqueue", "-"}, input);
  EXPECT_EQ(r.rc, 1);
  json::object o = parse_object(r.out);
  EXPECT_EQ(o.at("enqueued").as_int64(), 0);
  ASSERT_EQ(o.at("invalid").as_array().size(), 1u);
  EXPECT_EQ(o.at("invalid").at(0).at("line").as_int64(), 2);
  EXPECT_EQ(o.at("invalid").at(0).at("job_id").as_string(), "bad1");

  r = run({"enqueue", "-", "--skip-invalid"}, input);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("enqueued 2 jobs"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("skipped 1 invalid job"), std::string::npos) << r.out;
  EXPECT_EQ(c_.list("queues:wa-campaigns"), (std::vector<std::string>{kJob1, kJob2}));

  // Not JSON at all, and an unreadable file.
  r = run({"enqueue", "-"}, "[" + kJob1 + ",");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("input line 1: unterminated JSON value"), std::string::npos) << r.err;
  r = run({"enqueue", dir_.file("nope.json")});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("cannot read " + dir_.file("nope.json")), std::string::npos) << r.err;
  EXPECT_EQ(c_.integer({"LLEN", "queues:wa-campaigns"}), 2);
}

// ---------------------------------------------------------------------------------------------
// End to end: a job dies (no session), the operator fixes the cause and retries it, and a
// running wa-routerd decides it. Without clearing the job's decided marker, the daemon would
// take the retried job for a duplicate and drop it.

TEST_F(CliTest, DeadRetryIsDecidedByARunningDaemon) {
  Daemon d(dir_, redis_.socket(), "retry: {max_attempts: 1}\n");
  d.start();
  ASSERT_EQ(run({"enqueue", "-"}, kJob1).rc, 0);
  ASSERT_TRUE(wait_until([&] {
    return c_.integer({"LLEN", "queues:wa-campaigns:dead"}) == 1;
  })) << d.log();
  const json::object dead = parse_object(run({"--json", "dead", "list"}).out);
  EXPECT_EQ(dead.at("entries").at(0).at("job_id").as_string(), "j1");
  EXPECT_NE(std::string(dead.at("entries").at(0).at("error").as_string()).find("not served"),
            std::string::npos);
  EXPECT_EQ(c_.integer({"EXISTS", "wa:decided:j1:0"}), 1);

  seed_session(c_, {.id = "s1", .primary = true, .health = 95});
  const CliRun r = run({"dead", "retry", "j1"});
  ASSERT_EQ(r.rc, 0) << r.err;
  ASSERT_TRUE(wait_until([&] { return c_.list("wa:dispatch:7:s1").size() == 3; })) << d.log();
  EXPECT_EQ(c_.list("wa:dispatch:7:s1"), (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_EQ(c_.integer({"LLEN", "queues:wa-campaigns:dead"}), 0);
  EXPECT_EQ(c_.integer({"LLEN", "queues:wa-campaigns"}), 0);

  const json::object s = parse_object(run({"--json", "stats"}).out);
  EXPECT_EQ(s.at("results").at("decisions").at("by_type").at("webjs").as_int64(), 1);
  EXPECT_EQ(s.at("results").at("decisions").at("by_type").at("queue").as_int64(), 1);
  EXPECT_EQ(s.at("results").at("events").at("dead").as_int64(), 1);
  EXPECT_EQ(s.at("queue").at("dead").as_int64(), 0);
  EXPECT_EQ(d.stop(), 0) << d.log();
}

}  // namespace
}  // namespace wa::test
