// The byte stream under one Redis connection, owned by Asio: TCP, a unix socket, or TLS over
// TCP. Reads and writes are dispatched to whichever it is.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <memory>
#include <string>
#include <utility>
#include <variant>

#include "redis/endpoint.hpp"

namespace wa::redis {

namespace asio = boost::asio;

class Stream {
 public:
  using Tcp = asio::ip::tcp::socket;
  using Unix = asio::local::stream_protocol::socket;
  using Tls = asio::ssl::stream<Tcp>;

  explicit Stream(Tcp s) : s_(std::move(s)) {}
  explicit Stream(Unix s) : s_(std::move(s)) {}
  Stream(asio::any_io_executor ex, asio::ssl::context& ctx)
      : s_(std::in_place_type<Tls>, ex, ctx) {}

  Tcp& tcp() {
    return std::holds_alternative<Tls>(s_) ? std::get<Tls>(s_).next_layer() : std::get<Tcp>(s_);
  }
  Unix& unix_socket() { return std::get<Unix>(s_); }
  Tls* tls() { return std::get_if<Tls>(&s_); }

  template <typename Buffer, typename Handler>
  void async_read_some(const Buffer& b, Handler&& h) {
    std::visit([&](auto& s) { s.async_read_some(b, std::forward<Handler>(h)); }, s_);
  }
  template <typename Buffer, typename Handler>
  void async_write(const Buffer& b, Handler&& h) {
    std::visit([&](auto& s) { asio::async_write(s, b, std::forward<Handler>(h)); }, s_);
  }
  void close() noexcept;

 private:
  std::variant<Tcp, Unix, Tls> s_;
};

// An OpenSSL context for `tls` (CA file or the system's store, client certificate and key,
// peer verification on or off). Throws std::runtime_error naming the file that failed.
std::unique_ptr<asio::ssl::context> make_tls_context(const Tls& tls);
// Before the handshake: SNI and the name (or IP address) the certificate must carry.
void prepare_tls(Stream::Tls& s, const Tls& tls, const std::string& host);
// After a failed handshake: OpenSSL's reason when the certificate did not verify, else "".
std::string verify_failure(Stream::Tls& s, const Tls& tls);

}  // namespace wa::redis
