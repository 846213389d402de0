#include "harness.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace wa::test {

namespace fs = std::filesystem;

namespace {

// `files`: the child's RLIMIT_NOFILE (soft, hard), when given.
pid_t spawn(const std::vector<std::string>& argv, const std::string& out_file,
            std::optional<std::pair<rlim_t, rlim_t>> files = std::nullopt) {
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    setpgid(0, 0);
    if (files) {
      const rlimit lim{files->first, files->second};
      if (setrlimit(RLIMIT_NOFILE, &lim) != 0) _exit(126);
    }
    if (!out_file.empty()) {
      const int fd = open(out_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
      }
    }
    std::vector<char*> args;
    for (const auto& a : argv)
      args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  return pid;
}

int wait_exit(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      if (WIFSIGNALED(status)) return -WTERMSIG(status);
      return -1000;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -2000;  // did not exit in time
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// Starts redis-server with `argv` (the program name first) and waits until it answers PING on
// `socket`; kills it and throws, pointing at `log`, when it does not.
pid_t start_redis(const std::vector<std::string>& argv, const std::string& socket,
                  const std::string& out_file, const std::string& log) {
  unlink(socket.c_str());
  const pid_t pid = spawn(argv, out_file);
  Client probe(socket);
  const bool up = wait_until([&] {
    try {
      return probe.cmd({"PING"}).str == "PONG";
    } catch (...) {
      return false;
    }
  });
  if (up) return pid;
  ::kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  throw std::runtime_error("redis-server did not start (see " + log + ")");
}

// SIGTERM, then waits (SIGKILL after 10 s); `pid` is -1 afterwards.
void stop_redis(pid_t& pid) {
  if (pid <= 0) return;
  ::kill(pid, SIGTERM);
  wait_exit(pid, std::chrono::seconds(10));
  pid = -1;
}

// A write to a Redis that was killed must fail with EPIPE, not kill the test.
[[maybe_unused]] const bool kSigpipeIgnored = [] {
  ::signal(SIGPIPE, SIG_IGN);
  return true;
}();

Reply convert(const redisReply* r) {
  Reply out;
  out.type = r->type;
  if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS ||
      r->type == REDIS_REPLY_ERROR) {
    out.str.assign(r->str, r->len);
  } else if (r->type == REDIS_REPLY_INTEGER) {
    out.integer = r->integer;
  } else if (r->type == REDIS_REPLY_ARRAY) {
    for (std::size_t i = 0; i < r->elements; ++i)
      out.elements.push_back(convert(r->element[i]));
  }
  return out;
}

}  // namespace

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "wa-test-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::vector<std::string> Reply::strings() const {
  std::vector<std::string> out;
  for (const auto& e : elements)
    out.push_back(e.str);
  return out;
}

Client::~Client() {
  if (c_) redisFree(c_);
}

Reply Client::cmd(const std::vector<std::string>& args) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (c_ == nullptr) {
      c_ = redisConnectUnix(socket_.c_str());
      if (c_ == nullptr || c_->err) {
        const std::string err = c_ ? c_->errstr : "oom";
        if (c_) redisFree(c_);
        c_ = nullptr;
        throw std::runtime_error("test client cannot connect to " + socket_ + ": " + err);
      }
    }
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(
        redisCommandArgv(c_, static_cast<int>(argv.size()), argv.data(), lens.data()));
    if (r == nullptr) {
      redisFree(c_);
      c_ = nullptr;
      continue;
    }
    Reply out = convert(r);
    freeReplyObject(r);
    return out;
  }
  throw std::runtime_error("test client lost the connection to " + socket_);
}

std::vector<std::string> Client::list(const std::string& key) {
  return cmd({"LRANGE", key, "0", "-1"}).strings();
}

RedisServer::RedisServer(const TempDir& dir, bool appendonly, std::vector<std::string> extra)
    : dir_(dir),
      appendonly_(appendonly),
      extra_(std::move(extra)),
      socket_(dir.file("redis.sock")) {
  start();
}

RedisServer::~RedisServer() {
  if (pid_ > 0) {
    ::kill(pid_, SIGCONT);
    stop();
  }
}

void RedisServer::start() {
  std::vector<std::string> argv{"redis-server",
                                "--port",
                                "0",
                                "--unixsocket",
                                socket_,
                                "--unixsocketperm",
                                "700",
                                "--dir",
                                dir_.path(),
                                "--save",
                                "",
                                "--enable-debug-command",
                                "local",
                                "--maxmemory-policy",
                                "noeviction"};
  if (appendonly_) {
    argv.insert(argv.end(), {"--appendonly", "yes", "--appendfsync", "always"});
  } else {
    argv.insert(argv.end(), {"--appendonly", "no"});
  }
  argv.insert(argv.end(), extra_.begin(), extra_.end());
  pid_ = start_redis(argv, socket_, dir_.file("redis.log"), dir_.file("redis.log"));
}

void RedisServer::kill(int sig) {
  if (pid_ <= 0) return;
  ::kill(pid_, sig);
  if (sig == SIGKILL) {
    int status;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }
}

void RedisServer::stop() {
  stop_redis(pid_);
}

TcpRedis::TcpRedis(const TempDir& dir, const std::string& name, int port,
                   std::vector<std::string> args)
    : port_(port), socket_(dir.file(name + ".sock")) {
  fs::create_directories(dir.file(name));
  std::vector<std::string> argv{"redis-server"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--port", std::to_string(port), "--bind", "127.0.0.1", "--unixsocket",
                           socket_, "--save", "", "--appendonly", "no", "--dir", dir.file(name),
                           "--logfile", dir.file(name + ".log")});
  pid_ = start_redis(argv, socket_, "", dir.file(name + ".log"));
}

void TcpRedis::stop() {
  stop_redis(pid_);
}

Daemon::Daemon(const TempDir& dir, std::string redis_socket, std::string yaml, std::string name)
    : dir_(dir),
      socket_(std::move(redis_socket)),
      yaml_(std::move(yaml)),
      name_(std::move(name)),
      config_(dir.file(name_ + ".yaml")),
      log_(dir.file(name_ + ".log")) {
  write_config(base_config() + yaml_);
}

Daemon::~Daemon() {
  if (pid_ > 0) kill();
}

std::string Daemon::base_config() const {
  // Only sections the caller's yaml does not set, so that it can override them whole.
  std::string out;
  if (yaml_.find("redis:") == std::string::npos)
    out += "redis: {unix_socket: \"" + socket_ + "\"}\n";
  if (yaml_.find("metrics:") == std::string::npos) out += "metrics: {listen: \"\"}\n";
  if (yaml_.find("logging:") == std::string::npos) out += "logging: {level: debug}\n";
  // The tests written for v1 read the dispatch lists the daemon writes: pacing (which drains
  // them into ready lists) is on only where a test says so.
  if (yaml_.find("pacing:") == std::string::npos) out += "pacing: {enabled: false}\n";
  return out;
}

void Daemon::write_config(const std::string& yaml) const {
  std::ofstream(config_, std::ios::trunc) << yaml;
}

void Daemon::start() {
  pid_ = spawn({daemon_path(), "--config", config_}, log_, file_limit_);
}

void Daemon::signal(int sig) {
  if (pid_ > 0) ::kill(pid_, sig);
}

int Daemon::stop(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -3000;
  ::kill(pid_, SIGTERM);
  const int rc = wait_exit(pid_, timeout);
  pid_ = -1;
  return rc;
}

int Daemon::wait(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -3000;
  const int rc = wait_exit(pid_, timeout);
  pid_ = -1;
  return rc;
}

void Daemon::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

bool Daemon::running() {
  if (pid_ <= 0) return false;
  int status;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

std::string Daemon::log() const {
  std::ifstream in(log_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() > deadline) return done();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

int run_daemon(const std::vector<std::string>& args, std::string* output) {
  TempDir dir;
  std::vector<std::string> argv{daemon_path()};
  argv.insert(argv.end(), args.begin(), args.end());
  const pid_t pid = spawn(argv, dir.file("out"));
  const int rc = wait_exit(pid, std::chrono::seconds(20));
  if (output) {
    std::ifstream in(dir.file("out"));
    std::stringstream ss;
    ss << in.rdbuf();
    *output = ss.str();
  }
  return rc;
}

int shell(const std::string& cmd, std::string& out) {
  out.clear();
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return -1;
  char buf[512];
  while (fgets(buf, sizeof buf, p))
    out += buf;
  const int st = pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

long long now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void seed_session(Client& c, const SessionSpec& s, const std::string& prefix) {
  const long long now = now_seconds();
  std::vector<std::string> args{"HSET",
                                prefix + "wa:session:" + s.id,
                                "workspace_id",
                                s.workspace,
                                "uuid",
                                "uuid-" + s.id,
                                "phone_number",
                                "+1555" + s.id,
                                "provider_type",
                                s.provider,
                                "status",
                                s.status,
                                "is_active",
                                s.active ? "1" : "0",
                                "is_primary",
                                s.primary ? "1" : "0",
                                "created_at",
                                std::to_string(now - 86400),
                                "last_connected_at",
                                std::to_string(now - 86400)};
  if (s.last_activity_ago >= 0) {
    args.insert(args.end(), {"last_activity_at", std::to_string(now - s.last_activity_ago)});
  }
  if (s.health) {
    args.insert(
        args.end(),
        {"health_score", std::to_string(*s.health), "health_updated_at", std::to_string(now),
         "health_metrics",
         R"({"connection_stability":100,"message_success_rate":100,"recent_activity":100,"error_rate":0,"response_time":90,"uptime":100})"});
  }
  c.cmd(args);
  c.cmd({"SADD", prefix + "wa:workspaces", s.workspace});
  c.cmd({"SADD", prefix + "wa:workspace:" + s.workspace + ":sessions", s.id});
}

void seed_meta(Client& c, const std::string& workspace, bool configured,
               const std::map<std::string, std::string>& extra, const std::string& prefix) {
  std::vector<std::string> args{"HSET", prefix + "wa:workspace:" + workspace + ":meta",
                                "configured", configured ? "1" : "0"};
  for (const auto& [k, v] : extra)
    args.insert(args.end(), {k, v});
  c.cmd(args);
  c.cmd({"SADD", prefix + "wa:workspaces", workspace});
}

Subscriber::Subscriber(const std::string& socket, const std::string& channel) {
  c_ = redisConnectUnix(socket.c_str());
  if (c_ == nullptr || c_->err) {
    const std::string err = c_ ? c_->errstr : "oom";
    if (c_) redisFree(c_);
    c_ = nullptr;
    throw std::runtime_error("subscriber cannot connect to " + socket + ": " + err);
  }
  auto* r =
      static_cast<redisReply*>(redisCommand(c_, "SUBSCRIBE %b", channel.data(), channel.size()));
  if (r == nullptr) throw std::runtime_error("SUBSCRIBE " + channel + " failed");
  freeReplyObject(r);  // the subscription confirmation
}

Subscriber::~Subscriber() {
  if (c_) redisFree(c_);
}

std::optional<std::string> Subscriber::next(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    void* raw = nullptr;
    if (redisGetReplyFromReader(c_, &raw) != REDIS_OK) {
      throw std::runtime_error("subscriber: bad reply");
    }
    if (raw != nullptr) {
      auto* r = static_cast<redisReply*>(raw);
      std::optional<std::string> out;
      if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
          r->element[0]->type == REDIS_REPLY_STRING &&
          std::string(r->element[0]->str, r->element[0]->len) == "message") {
        out.emplace(r->element[2]->str, r->element[2]->len);
      }
      freeReplyObject(r);
      if (out) return out;
      continue;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p{c_->fd, POLLIN, 0};
    const int n = poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno != EINTR) throw std::runtime_error("subscriber: poll failed");
    if (n > 0 && redisBufferRead(c_) != REDIS_OK) {
      throw std::runtime_error("subscriber: connection lost");
    }
  }
}

std::string daemon_path() {
  return WA_DAEMON_PATH;
}
std::string cli_path() {
  return WA_CLI_PATH;
}

}  // namespace wa::test
