#include "redis/connect_fsm.hpp"

#include <boost/asio/ip/address.hpp>

namespace wa::redis {

bool is_ip_literal(std::string_view host) noexcept {
  error_code ec;
  (void)boost::asio::ip::make_address(std::string(host), ec);
  return !ec;
}

ConnectFsm::ConnectFsm(const Endpoint& ep, Target target, std::string_view client_name)
    : target_(std::move(target)),
      tls_(ep.tls.enabled && target_.unix_socket.empty()),
      has_auth_(!ep.password.empty()),
      check_role_(!ep.sentinels.empty() && !ep.sentinel_probe) {
  if (has_auth_ && ep.username.empty()) hello_.push_back({"AUTH", ep.password});
  if (has_auth_ && !ep.username.empty()) hello_.push_back({"AUTH", ep.username, ep.password});
  if (ep.db != 0 && !ep.sentinel_probe) hello_.push_back({"SELECT", std::to_string(ep.db)});
  hello_.push_back({"CLIENT", "SETNAME", "wa-routerd:" + std::string(client_name)});
  hello_.push_back({"PING"});  // fails with LOADING while Redis loads its data set
  if (check_role_) hello_.push_back({"ROLE"});
}

ConnectFsm::Action ConnectFsm::start() {
  message_.clear();
  if (target_.unix_socket.empty() && !is_ip_literal(target_.host)) return Action::lookup;
  return Action::connect;
}

ConnectFsm::Action ConnectFsm::fail(std::string message) {
  message_ = std::move(message);
  return Action::fail;
}

ConnectFsm::Action ConnectFsm::on_lookup(error_code ec) {
  if (ec) return fail("cannot resolve " + target_.host + ": " + ec.message());
  return Action::connect;
}

ConnectFsm::Action ConnectFsm::on_connect(error_code ec) {
  if (ec) return fail("cannot connect to " + target_.where() + ": " + ec.message());
  return tls_ ? Action::tls_handshake : Action::hello;
}

ConnectFsm::Action ConnectFsm::on_tls(error_code ec, std::string_view verify_error) {
  if (!verify_error.empty()) {
    return fail("TLS to " + target_.where() +
                ": certificate verification failed: " + std::string(verify_error));
  }
  if (ec) return fail("TLS handshake with " + target_.where() + " failed: " + ec.message());
  return Action::hello;
}

ConnectFsm::Action ConnectFsm::on_hello(error_code ec, const std::vector<Reply>& replies) {
  if (ec) return fail("handshake with " + target_.where() + " failed: " + ec.message());
  std::string problem = judge(replies);
  if (!problem.empty()) return fail(std::move(problem));
  return Action::ready;
}

ConnectFsm::Action ConnectFsm::on_timeout() {
  return fail("connecting to " + target_.where() + " timed out");
}

// "" when the handshake's replies say the server is ready for us.
std::string ConnectFsm::judge(const std::vector<Reply>& replies) const {
  if (replies.size() != hello_.size()) return "handshake: unexpected number of replies";
  for (std::size_t i = 0; i < replies.size(); ++i) {
    const Reply& r = replies[i];
    if (!r.is_error()) continue;
    // A wrong password (the AUTH reply) or none where one is needed (NOAUTH to the rest).
    const bool auth =
        (i == 0 && has_auth_) || r.str.starts_with("NOAUTH") || r.str.starts_with("WRONGPASS");
    return (auth ? "authentication failed: " : "Redis refused the handshake: ") + r.str;
  }
  if (check_role_) {
    const Reply& role = replies.back();
    if (!role.is_array() || role.elements.empty() || role.elements[0].str != "master") {
      return target_.where() + " is not a master (yet): asking the Sentinels again";
    }
  }
  return "";
}

}  // namespace wa::redis
