// The systemd notification protocol as the daemon speaks it (Type=notify, WatchdogSec,
// ExecReload=kill -HUP): READY=1 at start, watchdog pings from the loop, RELOADING=1 then READY=1
// on SIGHUP, STOPPING=1 on SIGTERM. The test plays systemd's part on a datagram socket.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "harness.hpp"

namespace wa::test {
namespace {

class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    path.copy(a.sun_path, sizeof a.sun_path - 1);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    timeval tv{0, 100000};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~NotifySocket() { close(fd_); }

  // Collects messages until one contains `needle` or the timeout passes.
  bool wait_for(const std::string& needle, std::chrono::milliseconds timeout) {
    return wait_until(
        [&] {
          char buf[4096];
          const ssize_t n = recv(fd_, buf, sizeof buf, 0);
          if (n > 0) messages_.emplace_back(buf, static_cast<std::size_t>(n));
          for (const auto& m : messages_) {
            if (m.find(needle) != std::string::npos) return true;
          }
          return false;
        },
        timeout);
  }
  void clear() { messages_.clear(); }
  std::string all() const {
    std::string out;
    for (const auto& m : messages_)
      out += "[" + m + "] ";
    return out;
  }

 private:
  std::string path_;
  int fd_ = -1;
  std::vector<std::string> messages_;
};

TEST(Systemd, NotifiesReadyWatchdogReloadingAndStopping) {
  TempDir dir;
  RedisServer redis(dir);
  NotifySocket notify(dir.file("notify.sock"));
  setenv("NOTIFY_SOCKET", dir.file("notify.sock").c_str(), 1);
  setenv("WATCHDOG_USEC", "200000", 1);  // the daemon pings at half of it
  Daemon d(dir, redis.socket());
  d.start();
  unsetenv("NOTIFY_SOCKET");
  unsetenv("WATCHDOG_USEC");

  ASSERT_TRUE(notify.wait_for("READY=1", std::chrono::seconds(5))) << notify.all() << d.log();
  notify.clear();
  EXPECT_TRUE(notify.wait_for("WATCHDOG=1", std::chrono::seconds(2))) << notify.all();
  notify.clear();
  d.signal(SIGHUP);
  ASSERT_TRUE(notify.wait_for("RELOADING=1", std::chrono::seconds(5))) << notify.all();
  EXPECT_TRUE(notify.wait_for("READY=1", std::chrono::seconds(5))) << notify.all();
  notify.clear();
  d.signal(SIGTERM);
  EXPECT_TRUE(notify.wait_for("STOPPING=1", std::chrono::seconds(5))) << notify.all();
  EXPECT_EQ(d.wait(), 0) << d.log();
}

}  // namespace
}  // namespace wa::test
