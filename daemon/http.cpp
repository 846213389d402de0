#include "daemon/http.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <stdexcept>

namespace wa::daemon {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

tcp::endpoint parse_listen(const std::string& address) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) throw std::invalid_argument("expected host:port");
  std::string host = address.substr(0, colon);
  const std::string port = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host == "localhost") host = "127.0.0.1";
  boost::system::error_code ec;
  const auto ip = asio::ip::make_address(host, ec);
  if (ec) throw std::invalid_argument("bad host \"" + host + "\"");
  int p = 0;
  try {
    p = std::stoi(port);
  } catch (...) {
    throw std::invalid_argument("bad port \"" + port + "\"");
  }
  if (p < 1 || p > 65535) throw std::invalid_argument("bad port \"" + port + "\"");
  return {ip, static_cast<unsigned short>(p)};
}

HttpEndpoint::HttpEndpoint(asio::any_io_executor ex, Handlers h)
    : ex_(std::move(ex)), handlers_(std::move(h)) {}

void HttpEndpoint::listen(const std::string& address) {
  tcp::endpoint ep;
  try {
    ep = parse_listen(address);
  } catch (const std::exception& e) {
    throw std::runtime_error("metrics.listen: " + address + ": " + e.what());
  }
  auto acceptor = std::make_shared<tcp::acceptor>(ex_);
  boost::system::error_code ec;
  acceptor->open(ep.protocol(), ec);
  if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor->bind(ep, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error("metrics.listen: cannot listen on " + address + ": " + ec.message());
  close();
  acceptor_ = acceptor;
  address_ = address;
  asio::co_spawn(ex_, accept_loop(acceptor), asio::detached);
}

void HttpEndpoint::close() {
  if (acceptor_) {
    boost::system::error_code ec;
    acceptor_->close(ec);
    acceptor_.reset();
  }
}

asio::awaitable<void> HttpEndpoint::accept_loop(std::shared_ptr<tcp::acceptor> acceptor) {
  while (acceptor->is_open()) {
    boost::system::error_code ec;
    tcp::socket socket =
        co_await acceptor->async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (!acceptor->is_open()) break;
      continue;
    }
    asio::co_spawn(ex_, serve(std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> HttpEndpoint::serve(tcp::socket socket) {
  beast::flat_buffer buffer;
  boost::system::error_code ec;
  for (int served = 0; served < 100; ++served) {
    http::request<http::string_body> req;
    co_await http::async_read(socket, buffer, req, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    http::response<http::string_body> res;
    res.version(req.version());
    res.keep_alive(req.keep_alive());
    res.set(http::field::server, "wa-routerd");
    const std::string target(req.target());
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      res.result(http::status::method_not_allowed);
      res.body() = "only GET\n";
    } else if (target == "/metrics") {
      res.result(http::status::ok);
      res.set(http::field::content_type, "text/plain; version=0.0.4");
      res.body() = handlers_.metrics();
    } else if (target == "/healthz") {
      const std::string why = handlers_.health();
      res.result(why.empty() ? http::status::ok : http::status::service_unavailable);
      res.set(http::field::content_type, "text/plain");
      res.body() = why.empty() ? "ok\n" : why + "\n";
    } else {
      res.result(http::status::not_found);
      res.body() = "not found: try /metrics or /healthz\n";
    }
    res.prepare_payload();
    co_await http::async_write(socket, res, asio::redirect_error(asio::use_awaitable, ec));
    if (ec || !res.keep_alive()) break;
  }
  socket.shutdown(tcp::socket::shutdown_both, ec);
}

}  // namespace wa::daemon
