// wa-routerd: decides how a WhatsApp CRM sends its bulk campaigns (see README.md).
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <systemd/sd-daemon.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/program_options.hpp>
#include <csignal>
#include <iostream>
#include <sstream>

#include "config/config.hpp"
#include "daemon/daemon.hpp"
#include "daemon/http.hpp"
#include "daemon/logging.hpp"
#include "daemon/metrics.hpp"

#ifndef WA_VERSION
#define WA_VERSION "0.0.0"
#endif

namespace po = boost::program_options;

namespace {

// Raises the soft limit on open files to the hard one (systemd's default soft limit is 1024):
// the daemon uses epoll, never select(), and its Redis connections must never lack one.
void raise_file_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= lim.rlim_max) return;
  const rlim_t before = lim.rlim_cur;
  lim.rlim_cur = lim.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &lim) != 0) {
    // An unlimited hard limit cannot be the soft one: the kernel's ceiling (nr_open) is.
    lim.rlim_cur = std::min<rlim_t>(lim.rlim_max, 1 << 20);
    if (setrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  }
  spdlog::debug("open files limit raised from {} to {}", before, lim.rlim_cur);
}

wa::daemon::HttpEndpoint::Limits http_limits(const wa::config::Metrics& m) {
  wa::daemon::HttpEndpoint::Limits l;
  l.idle_timeout = std::chrono::milliseconds(static_cast<long long>(m.idle_timeout * 1000.0));
  l.max_connections = static_cast<std::size_t>(m.max_connections);
  return l;
}

// What the command line asks for: run on `cfg`, or exit with `exit_code`.
struct Startup {
  int exit_code = -1;  // >= 0: exit with it
  std::string path;
  wa::config::Config cfg;
};
Startup exit_with(int code) {
  Startup s;
  s.exit_code = code;
  return s;
}

Startup parse_command_line(int argc, char** argv) {
  po::options_description opts("wa-routerd options");
  opts.add_options()("help,h", "show this help and exit")("version", "print the version and exit")(
      "config,c", po::value<std::string>()->value_name("FILE"), "the YAML configuration file")(
      "check-config", "validate the configuration file and exit (0 valid, 1 invalid)");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, opts), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << "wa-routerd: " << e.what() << "\n" << opts << "\n";
    return exit_with(2);
  }
  if (vm.count("help")) {
    std::cout << "usage: wa-routerd --config FILE [--check-config]\n\n" << opts << "\n";
    return exit_with(0);
  }
  if (vm.count("version")) {
    std::cout << "wa-routerd " << WA_VERSION << "\n";
    return exit_with(0);
  }
  if (!vm.count("config")) {
    std::cerr << "wa-routerd: --config FILE is required (see --help)\n";
    return exit_with(2);
  }
  Startup s;
  s.path = vm["config"].as<std::string>();
  try {
    s.cfg = wa::config::load_from_file(s.path);
  } catch (const wa::config::ConfigError& e) {
    std::cerr << "wa-routerd: invalid configuration:\n" << e.what() << "\n";
    return exit_with(1);
  }
  if (vm.count("check-config")) {
    std::cout << s.path << ": ok\n";
    s.exit_code = 0;
  }
  return s;
}

// Moves the endpoint to `listen` after a reload ("": off); `serving` is the address it serves,
// compared against rather than the previous file, which may name an address never bound.
void follow_listen(wa::daemon::HttpEndpoint& http, const std::string& listen,
                   std::string& serving) {
  if (listen == serving) return;
  try {
    if (listen.empty()) {
      http.close();
      spdlog::info("metrics: endpoint closed");
    } else {
      http.listen(listen);  // binds the new address before closing the old one
      spdlog::info("metrics: serving /metrics, /healthz and /status on {}", listen);
    }
    serving = listen;
  } catch (const std::exception& e) {
    spdlog::error("reload: {}; metrics stay {}", e.what(),
                  serving.empty() ? std::string("off") : "on " + serving);
  }
}

}  // namespace

int main(int argc, char** argv) {
  Startup start = parse_command_line(argc, argv);
  if (start.exit_code >= 0) return start.exit_code;
  const std::string& path = start.path;
  const wa::config::Config& cfg = start.cfg;

  std::signal(SIGPIPE, SIG_IGN);  // a write to a closed socket is an error, not a signal
  wa::daemon::setup_logging(cfg.logging);
  raise_file_limit();

  boost::asio::io_context io(1);
  wa::daemon::Daemon daemon(io, cfg, path);
  wa::daemon::HttpEndpoint http(io.get_executor(), {
                                                       [&] {
                                                         daemon.sample_metrics();
                                                         return daemon.metrics().render();
                                                       },
                                                       [&] { return daemon.health_problem(); },
                                                       [&] { return daemon.status_json(); },
                                                       [&] { return daemon.health_note(); },
                                                   });
  std::string serving;  // the address the endpoint serves ("": off)
  http.set_limits(http_limits(cfg.metrics));
  if (!cfg.metrics.listen.empty()) {
    try {
      http.listen(cfg.metrics.listen);
      serving = cfg.metrics.listen;
      spdlog::info("metrics: serving /metrics, /healthz and /status on {}", cfg.metrics.listen);
    } catch (const std::exception& e) {
      spdlog::critical("{}", e.what());
      return 1;
    }
  }

  boost::asio::signal_set stop_signals(io, SIGTERM, SIGINT);
  boost::asio::signal_set reload_signal(io, SIGHUP);
  stop_signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    spdlog::info("signal {}: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    daemon.request_stop();
    http.close();
    reload_signal.cancel();
  });
  std::function<void()> wait_reload = [&] {
    reload_signal.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      daemon.reload();
      http.set_limits(http_limits(daemon.config().metrics));
      follow_listen(http, daemon.config().metrics.listen, serving);
      wait_reload();
    });
  };
  wait_reload();

  daemon.start();
  io.run();
  stop_signals.cancel();
  return 0;
}
