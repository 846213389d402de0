#include "redis/resolve.hpp"

#include <charconv>

namespace wa::redis {

std::string Target::where() const {
  if (!unix_socket.empty()) return "unix:" + unix_socket;
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

ResolveFsm::ResolveFsm(const Endpoint& ep)
    : mode_(ep.sentinels.empty() ? Mode::direct : Mode::sentinel),
      direct_{ep.host, ep.port, ep.unix_socket},
      master_name_(ep.master_name) {
  for (const auto& [host, port] : ep.sentinels)
    sentinels_.push_back(Target{host, port, ""});
}

ResolveFsm::Action ResolveFsm::start() {
  last_problem_.clear();
  if (mode_ == Mode::direct) return {Action::Kind::connect, direct_, ""};
  return ask(0);
}

ResolveFsm::Action ResolveFsm::ask(std::size_t index) {
  index_ = index;
  if (index < sentinels_.size()) return {Action::Kind::ask_sentinel, sentinels_[index], ""};
  return {Action::Kind::fail,
          {},
          "no Sentinel answered for master \"" + master_name_ + "\" (" + last_problem_ + ")"};
}

ResolveFsm::Action ResolveFsm::on_sentinel_down(std::string_view why) {
  if (mode_ != Mode::sentinel || index_ >= sentinels_.size()) return {};
  last_problem_ = "Sentinel " + sentinels_[index_].where() + ": " + std::string(why);
  return ask(index_ + 1);
}

ResolveFsm::Action ResolveFsm::on_sentinel_reply(error_code ec, const std::vector<Reply>& replies) {
  if (mode_ != Mode::sentinel || index_ >= sentinels_.size()) return {};
  const Target& s = sentinels_[index_];
  const bool shaped =
      !ec && replies.size() == 1 && replies[0].is_array() && replies[0].elements.size() == 2;
  int port = 0;
  if (shaped) {
    const std::string& p = replies[0].elements[1].str;
    const auto [end, perr] = std::from_chars(p.data(), p.data() + p.size(), port);
    if (perr != std::errc() || end != p.data() + p.size()) port = 0;
  }
  if (!shaped || port <= 0 || port > 65535 || replies[0].elements[0].str.empty()) {
    last_problem_ = ec ? "Sentinel " + s.where() + ": " + ec.message()
                       : "Sentinel " + s.where() + " does not know master \"" + master_name_ + "\"";
    return ask(index_ + 1);
  }
  return {Action::Kind::connect, Target{replies[0].elements[0].str, port, ""}, ""};
}

Command ResolveFsm::query() const {
  return {"SENTINEL", "get-master-addr-by-name", master_name_};
}

Endpoint sentinel_endpoint(const Endpoint& server, const Target& t) {
  Endpoint e;
  e.host = t.host;
  e.port = t.port;
  e.username = server.sentinel_username;
  e.password = server.sentinel_password;
  e.tls = server.sentinel_tls;
  e.connect_timeout = server.connect_timeout;
  e.command_timeout = server.command_timeout;
  e.sentinel_probe = true;
  return e;
}

}  // namespace wa::redis
