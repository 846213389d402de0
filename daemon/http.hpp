// The operator endpoint at metrics.listen: GET /metrics (Prometheus text format),
// GET /healthz (200 while the loop runs and Redis takes commands, else 503 with the reason), and
// the status page: GET /status (one self-contained HTML page) and GET /status.json.
//
// It never costs the daemon its own work: a connection that sends no whole request within the
// idle timeout, or does not take its response within it, is closed; at most max_connections
// are served at once (more are accepted and closed at once); and when accepting fails (out of
// file descriptors, say) the listener pauses, 100 ms doubling to 1 s, instead of spinning.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <set>
#include <string>

namespace wa::daemon {

namespace asio = boost::asio;

class HttpEndpoint {
 public:
  struct Handlers {
    std::function<std::string()> metrics;
    // Empty string: healthy; otherwise the reason it is not.
    std::function<std::string()> health;
    // The /status.json document; throws when it cannot be read (a 503 with the reason). Unset:
    // no status page.
    std::function<asio::awaitable<std::string>()> status;
    // A line /healthz adds after its verdict ("redis: cluster master ..."); unset or "": none.
    std::function<std::string()> health_note;
  };
  struct Limits {
    // From the connection's opening or its previous response to a whole request read, and
    // for writing a response.
    std::chrono::milliseconds idle_timeout{5000};
    std::size_t max_connections = 64;
  };

  HttpEndpoint(asio::any_io_executor ex, Handlers h);
  // Applies to the connections accepted from now on and to the next request of the others.
  void set_limits(const Limits& limits) { limits_ = limits; }
  // Binds "host:port"; throws std::runtime_error naming the address when it cannot. Connections
  // accepted on a previous address are still served.
  void listen(const std::string& address);
  // Stops listening and closes every connection.
  void close();
  const std::string& address() const noexcept { return address_; }

 private:
  struct Listener;
  asio::awaitable<void> accept_loop(std::shared_ptr<Listener> listener);
  asio::awaitable<void> serve(asio::ip::tcp::socket socket);
  // Closes a connection over the limit (logged once per run of them).
  void refuse(asio::ip::tcp::socket& socket);
  void stop_listening();

  asio::any_io_executor ex_;
  Handlers handlers_;
  Limits limits_;
  std::shared_ptr<Listener> listener_;
  std::set<boost::beast::tcp_stream*> open_;  // the connections being served
  bool refusing_ = false;                     // the last connection accepted was over the limit
  std::string address_;
};

// Splits "host:port" / "[v6]:port"; throws std::invalid_argument.
asio::ip::tcp::endpoint parse_listen(const std::string& address);

}  // namespace wa::daemon
