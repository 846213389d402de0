// Test harness for integration tests: a private redis-server on a unix socket in a temporary
// directory, a synchronous hiredis client, and wa-routerd run as a child process.
#pragma once

#include <hiredis/hiredis.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace wa::test {

// A fresh temporary directory, removed with everything in it at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const noexcept { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct Reply {
  int type = REDIS_REPLY_NIL;
  std::string str;
  long long integer = 0;
  std::vector<Reply> elements;
  bool nil() const noexcept { return type == REDIS_REPLY_NIL; }
  std::vector<std::string> strings() const;
};

// A synchronous client (reconnects on demand, so it survives a Redis restart).
class Client {
 public:
  explicit Client(std::string socket) : socket_(std::move(socket)) {}
  ~Client();
  Reply cmd(const std::vector<std::string>& args);
  Reply cmd(std::initializer_list<std::string> args) { return cmd(std::vector<std::string>(args)); }
  long long integer(std::initializer_list<std::string> args) { return cmd(args).integer; }
  std::string str(std::initializer_list<std::string> args) { return cmd(args).str; }
  std::vector<std::string> list(const std::string& key);  // LRANGE key 0 -1

 private:
  std::string socket_;
  redisContext* c_ = nullptr;
};

class RedisServer {
 public:
  // appendonly: persist with AOF (fsync always) so a SIGKILL + restart keeps the data.
  // extra: more redis-server options (a TLS port, say).
  explicit RedisServer(const TempDir& dir, bool appendonly = false,
                       std::vector<std::string> extra = {});
  ~RedisServer();
  const std::string& socket() const noexcept { return socket_; }
  void start();
  void kill(int sig);  // SIGKILL, SIGSTOP, SIGCONT...
  void stop();         // SIGTERM and wait
  bool running() const noexcept { return pid_ > 0; }

 private:
  const TempDir& dir_;
  bool appendonly_;
  std::vector<std::string> extra_;
  std::string socket_;
  pid_t pid_ = -1;
};

// A redis-server child (a cluster node or a Sentinel too) on 127.0.0.1:`port`, with a unix socket
// dir/NAME.sock for the test's own Client, its working directory dir/NAME and its log
// dir/NAME.log, saving nothing. `args` come first on its command line (a config file has to be
// the first of them, as in {"sentinel.conf", "--sentinel"}). The constructor waits until it
// answers PING and throws when it does not; the destructor stops it.
class TcpRedis {
 public:
  TcpRedis(const TempDir& dir, const std::string& name, int port,
           std::vector<std::string> args = {});
  ~TcpRedis() { stop(); }
  TcpRedis(const TcpRedis&) = delete;
  TcpRedis& operator=(const TcpRedis&) = delete;
  void stop();  // SIGTERM and wait
  int port() const noexcept { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::string& socket() const noexcept { return socket_; }

 private:
  int port_;
  std::string socket_;
  pid_t pid_ = -1;
};

// wa-routerd as a child process with stderr captured to a file.
class Daemon {
 public:
  // `yaml` is appended to a generated config that points at `redis_socket` and turns metrics
  // off; later keys of the same section are not merged, so pass whole sections you override.
  Daemon(const TempDir& dir, std::string redis_socket, std::string yaml = "",
         std::string name = "daemon");
  ~Daemon();
  void start();
  // The open-files limit (soft, hard) the next start() gives the process.
  void set_file_limit(rlim_t soft, rlim_t hard) { file_limit_ = std::make_pair(soft, hard); }
  pid_t pid() const noexcept { return pid_; }
  void signal(int sig);
  // SIGTERM, then waits; returns the exit status (or -signal when killed by one).
  int stop(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // Waits for the process to exit on its own (no signal sent); returns the exit status as
  // stop() does, or -2000 after killing it when it did not exit in time.
  int wait(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  void kill();  // SIGKILL, reaped
  bool running();
  std::string log() const;
  const std::string& config_path() const noexcept { return config_; }
  void write_config(const std::string& yaml) const;  // replaces the whole file
  std::string base_config() const;

 private:
  const TempDir& dir_;
  std::string socket_;
  std::string yaml_;
  std::string name_;
  std::string config_;
  std::string log_;
  std::optional<std::pair<rlim_t, rlim_t>> file_limit_;
  pid_t pid_ = -1;
};

// Polls `done` every 20 ms until it returns true or the timeout passes; returns its last value.
bool wait_until(const std::function<bool()>& done,
                std::chrono::milliseconds timeout = std::chrono::seconds(10));

// Runs `wa-routerd ARGS...` to completion; returns the exit status and fills output.
int run_daemon(const std::vector<std::string>& args, std::string* output);

// Runs a shell command; returns its exit status and fills `out` with its stdout and stderr.
int shell(const std::string& cmd, std::string& out);

// Unix time now (seconds).
long long now_seconds();

// Builders for the app's data (CONTRACT.md section 2).
struct SessionSpec {
  std::string id;
  std::string workspace = "1";
  std::string status = "connected";
  bool active = true;
  bool primary = false;
  std::string provider = "webjs";
  long long last_activity_ago = 60;  // seconds; < 0: never active
  std::optional<int> health;         // stored health_score (with neutral metrics) if set
};
// `prefix`: the config's redis.prefix, put before every key written.
void seed_session(Client& c, const SessionSpec& s, const std::string& prefix = "");
void seed_meta(Client& c, const std::string& workspace, bool configured,
               const std::map<std::string, std::string>& extra = {},
               const std::string& prefix = "");

// A second connection subscribed to one channel (SUBSCRIBE), for messages the daemon PUBLISHes.
class Subscriber {
 public:
  Subscriber(const std::string& socket, const std::string& channel);
  ~Subscriber();
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;
  // The next message published on the channel, or nullopt when none comes within `timeout`.
  std::optional<std::string> next(std::chrono::milliseconds timeout);

 private:
  redisContext* c_ = nullptr;
};

std::string daemon_path();
// The wa-router command line binary.
std::string cli_path();

}  // namespace wa::test
