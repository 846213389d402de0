// The appender: stage lists registered by the finish script (their dispatch list existed) are
// appended in bounded steps (queue/appends). Any daemon may do it; each step is atomic.
#include <spdlog/spdlog.h>

#include "daemon/daemon.hpp"
#include "queue/appends.hpp"

namespace wa::daemon {

asio::awaitable<void> Daemon::append_loop() {
  constexpr double kPollSeconds = 0.2;
  constexpr std::size_t kEntries = 16;
  while (!stopping_) {
    double pause = kPollSeconds;
    try {
      if (conn_->ready()) {
        const auto report = co_await queue::run_appends(*conn_, keys_, kEntries);
        for (const auto& e : report.errors) {
          metrics_.loop_errors.Increment();
          warn_once("appending a stage list: " + e, wall_now());
        }
        if (report.appended > 0) {
          spdlog::debug("appended {} stage lists to their dispatch lists", report.appended);
          pause = 0;  // there may be more
        }
      }
    } catch (const std::exception& e) {
      metrics_.loop_errors.Increment();
      spdlog::warn("appending stage lists: {}", e.what());
    }
    if (pause > 0) co_await sleep(append_timer_, pause);
  }
}

}  // namespace wa::daemon
