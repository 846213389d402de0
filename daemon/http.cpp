#include "daemon/http.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <stdexcept>

#include "daemon/status_page.hpp"

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

namespace {

constexpr int kMaxRequestsPerConnection = 100;
constexpr std::size_t kMaxRequestBody = 4096;  // GET and HEAD only: a body is never needed
constexpr auto kAcceptPauseMin = std::chrono::milliseconds(100);
constexpr auto kAcceptPauseMax = std::chrono::milliseconds(1000);

http::response<http::string_body> respond(const HttpEndpoint::Handlers& handlers,
                                          const http::request<http::string_body>& req) {
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
    res.body() = handlers.metrics();
  } else if (target == "/healthz") {
    const std::string why = handlers.health();
    res.result(why.empty() ? http::status::ok : http::status::service_unavailable);
    res.set(http::field::content_type, "text/plain");
    res.body() = why.empty() ? "ok\n" : why + "\n";
    const std::string note = handlers.health_note ? handlers.health_note() : "";
    if (!note.empty()) res.body() += note + "\n";
  } else {
    res.result(http::status::not_found);
    res.body() = "not found: try /metrics, /healthz, /status or /status.json\n";
  }
  res.prepare_payload();
  return res;
}

http::response<http::string_body> base_response(const http::request<http::string_body>& req) {
  http::response<http::string_body> res;
  res.version(req.version());
  res.keep_alive(req.keep_alive());
  res.set(http::field::server, "wa-routerd");
  res.set(http::field::cache_control, "no-store");
  return res;
}

// GET /status: the page names no other host, and the browser is told to load nothing from one.
http::response<http::string_body> status_page(const http::request<http::string_body>& req) {
  auto res = base_response(req);
  res.result(http::status::ok);
  res.set(http::field::content_type, "text/html; charset=utf-8");
  res.set("Content-Security-Policy",
          "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
          "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'");
  res.set("X-Content-Type-Options", "nosniff");
  res.body() = std::string(status_page_html());
  res.prepare_payload();
  return res;
}

// GET /status.json: the document, or 503 with the reason it cannot be read.
asio::awaitable<http::response<http::string_body>> status_json(
    const HttpEndpoint::Handlers& handlers, const http::request<http::string_body>& req) {
  auto res = base_response(req);
  std::string error;
  try {
    res.body() = co_await handlers.status();
  } catch (const std::exception& e) {
    error = e.what();
  }
  res.set(http::field::content_type, "application/json");
  res.set("X-Content-Type-Options", "nosniff");
  res.result(error.empty() ? http::status::ok : http::status::service_unavailable);
  if (!error.empty()) res.body() = boost::json::serialize(boost::json::object{{"error", error}});
  res.prepare_payload();
  co_return res;
}

// The status page's paths (a query string is ignored), or the other paths.
asio::awaitable<http::response<http::string_body>> respond_any(
    const HttpEndpoint::Handlers& handlers, const http::request<http::string_body>& req) {
  const std::string target(req.target());
  const std::string path = target.substr(0, target.find('?'));
  const bool get = req.method() == http::verb::get || req.method() == http::verb::head;
  if (get && handlers.status && path == "/status") co_return status_page(req);
  if (get && handlers.status && path == "/status.json")
    co_return co_await status_json(handlers, req);
  co_return respond(handlers, req);
}

}  // namespace

struct HttpEndpoint::Listener {
  explicit Listener(const asio::any_io_executor& ex) : acceptor(ex), pause(ex) {}
  tcp::acceptor acceptor;
  asio::steady_timer pause;  // between failed accepts
};

HttpEndpoint::HttpEndpoint(asio::any_io_executor ex, Handlers h)
    : ex_(std::move(ex)), handlers_(std::move(h)) {}

void HttpEndpoint::listen(const std::string& address) {
  tcp::endpoint ep;
  try {
    ep = parse_listen(address);
  } catch (const std::exception& e) {
    throw std::runtime_error("metrics.listen: " + address + ": " + e.what());
  }
  auto listener = std::make_shared<Listener>(ex_);
  tcp::acceptor& acceptor = listener->acceptor;
  boost::system::error_code ec;
  acceptor.open(ep.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error("metrics.listen: cannot listen on " + address + ": " + ec.message());
  stop_listening();
  listener_ = listener;
  address_ = address;
  asio::co_spawn(ex_, accept_loop(listener), asio::detached);
}

void HttpEndpoint::stop_listening() {
  if (listener_) {
    boost::system::error_code ec;
    listener_->acceptor.close(ec);
    listener_->pause.cancel();
    listener_.reset();
  }
}

void HttpEndpoint::close() {
  stop_listening();
  for (beast::tcp_stream* s : open_)
    s->close();  // their coroutines end with operation_aborted and leave open_
}

void HttpEndpoint::refuse(tcp::socket& socket) {
  boost::system::error_code ec;
  socket.close(ec);
  if (refusing_) return;
  refusing_ = true;
  spdlog::warn("metrics: {} connections open (metrics.max_connections): closing new ones",
               open_.size());
}

asio::awaitable<void> HttpEndpoint::accept_loop(std::shared_ptr<Listener> listener) {
  tcp::acceptor& acceptor = listener->acceptor;
  auto pause = kAcceptPauseMin;
  while (acceptor.is_open()) {
    boost::system::error_code ec;
    tcp::socket socket =
        co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (!acceptor.is_open()) break;
    if (ec) {
      // Out of file descriptors (EMFILE, ENFILE) or memory, say: the connection stays in the
      // backlog and accepting again at once would fail again at once.
      if (pause == kAcceptPauseMin) {
        spdlog::warn("metrics: cannot accept a connection: {}; pausing", ec.message());
      }
      listener->pause.expires_after(pause);
      co_await listener->pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      pause = std::min(pause * 2, kAcceptPauseMax);
      continue;
    }
    pause = kAcceptPauseMin;
    if (open_.size() >= limits_.max_connections) {
      refuse(socket);
      continue;
    }
    refusing_ = false;
    asio::co_spawn(ex_, serve(std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> HttpEndpoint::serve(tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  open_.insert(&stream);
  struct Leave {
    std::set<beast::tcp_stream*>& open;
    beast::tcp_stream* stream;
    ~Leave() { open.erase(stream); }
  } leave{open_, &stream};
  beast::flat_buffer buffer;
  boost::system::error_code ec;
  for (int served = 0; served < kMaxRequestsPerConnection; ++served) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(kMaxRequestBody);
    // An idle connection (and one sending its request too slowly) is closed by the stream.
    stream.expires_after(limits_.idle_timeout);
    co_await http::async_read(stream, buffer, parser,
                              asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    auto res = co_await respond_any(handlers_, parser.get());
    stream.expires_after(limits_.idle_timeout);
    co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
    if (ec || !res.keep_alive()) break;
  }
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
}

}  // namespace wa::daemon
