#include "redis/stream.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <stdexcept>

#include "redis/connect_fsm.hpp"

namespace wa::redis {

void Stream::close() noexcept {
  error_code ignored;
  if (auto* t = tls()) {
    t->next_layer().close(ignored);  // no TLS close_notify: the connection is being dropped
  } else {
    std::visit([&](auto& s) { s.lowest_layer().close(ignored); }, s_);
  }
}

namespace {

void load(const char* what, const std::string& file, const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("cannot use ") + what + " \"" + file + "\": " + e.what());
  }
}

}  // namespace

std::unique_ptr<asio::ssl::context> make_tls_context(const Tls& tls) {
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                   asio::ssl::context::no_tlsv1_1);
  if (tls.ca_file.empty()) {
    ctx->set_default_verify_paths();
  } else {
    load("ca_file", tls.ca_file, [&] { ctx->load_verify_file(tls.ca_file); });
  }
  if (!tls.cert_file.empty()) {
    load("cert_file", tls.cert_file, [&] { ctx->use_certificate_chain_file(tls.cert_file); });
  }
  if (!tls.key_file.empty()) {
    load("key_file", tls.key_file,
         [&] { ctx->use_private_key_file(tls.key_file, asio::ssl::context::pem); });
  }
  ctx->set_verify_mode(tls.verify ? asio::ssl::verify_peer : asio::ssl::verify_none);
  return ctx;
}

void prepare_tls(Stream::Tls& s, const Tls& tls, const std::string& host) {
  const std::string& name = tls.server_name.empty() ? host : tls.server_name;
  SSL* ssl = s.native_handle();
  const bool ip = is_ip_literal(name);
  if (!ip) SSL_set_tlsext_host_name(ssl, name.c_str());
  if (!tls.verify) return;
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  if (ip) {
    X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
  } else {
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    X509_VERIFY_PARAM_set1_host(param, name.c_str(), 0);
  }
}

std::string verify_failure(Stream::Tls& s, const Tls& tls) {
  if (!tls.verify) return "";
  const long result = SSL_get_verify_result(s.native_handle());
  if (result == X509_V_OK) return "";
  return X509_verify_cert_error_string(result);
}

}  // namespace wa::redis
