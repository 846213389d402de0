// The operator endpoint at metrics.listen: GET /metrics (Prometheus text format) and
// GET /healthz (200 while the loop runs and Redis is reachable, else 503 with the reason).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <memory>
#include <string>

namespace wa::daemon {

namespace asio = boost::asio;

class HttpEndpoint {
 public:
  struct Handlers {
    std::function<std::string()> metrics;
    // Empty string: healthy; otherwise the reason it is not.
    std::function<std::string()> health;
  };

  HttpEndpoint(asio::any_io_executor ex, Handlers h);
  // Binds "host:port"; throws std::runtime_error naming the address when it cannot.
  void listen(const std::string& address);
  void close();
  const std::string& address() const noexcept { return address_; }

 private:
  asio::awaitable<void> accept_loop(std::shared_ptr<asio::ip::tcp::acceptor> acceptor);
  asio::awaitable<void> serve(asio::ip::tcp::socket socket);

  asio::any_io_executor ex_;
  Handlers handlers_;
  std::shared_ptr<asio::ip::tcp::acceptor> acceptor_;
  std::string address_;
};

// Splits "host:port" / "[v6]:port"; throws std::invalid_argument.
asio::ip::tcp::endpoint parse_listen(const std::string& address);

}  // namespace wa::daemon
