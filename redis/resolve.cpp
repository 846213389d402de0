#include "redis/resolve.hpp"

#include <charconv>

namespace wa::redis {

std::string Target::where() const {
  if (!unix_socket.empty()) return "unix:" + unix_socket;
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

namespace {

ResolveFsm::Mode mode_of(const Endpoint& ep) {
  if (ep.cluster) return ResolveFsm::Mode::cluster;
  return ep.sentinels.empty() ? ResolveFsm::Mode::direct : ResolveFsm::Mode::sentinel;
}

}  // namespace

ResolveFsm::ResolveFsm(const Endpoint& ep)
    : mode_(mode_of(ep)), direct_{ep.host, ep.port, ep.unix_socket}, master_name_(ep.master_name) {
  for (const auto& [host, port] : ep.sentinels)
    sentinels_.push_back(Target{host, port, ""});
  if (mode_ == Mode::cluster) {
    router_.emplace(std::vector<cluster::Address>{{ep.host, ep.port}}, ep.cluster_slot);
  }
}

ResolveFsm::Action ResolveFsm::start() {
  last_problem_.clear();
  if (mode_ == Mode::direct) return {Action::Kind::connect, direct_, ""};
  if (mode_ == Mode::cluster) return follow(router_->start());
  return ask(0);
}

ResolveFsm::Action ResolveFsm::follow(const cluster::Step& s) {
  const Target t{s.node.host, s.node.port, ""};
  switch (s.kind) {
    case cluster::Step::Kind::ask_slots:
      return {Action::Kind::ask_node, t, ""};
    case cluster::Step::Kind::use_master:
      return {Action::Kind::connect, t, ""};
    case cluster::Step::Kind::none_reachable:
      break;
  }
  std::string why = router_->failures();
  while (!why.empty() && why.back() == '\n')
    why.pop_back();
  for (char& c : why) {
    if (c == '\n') c = ';';
  }
  return {Action::Kind::fail,
          {},
          "no cluster node named the master of slot " + std::to_string(router_->slot()) + " (" +
              why + ")"};
}

ResolveFsm::Action ResolveFsm::on_node_down(std::string_view why) {
  if (mode_ != Mode::cluster) return {};
  return follow(router_->on_unreachable(why));
}

ResolveFsm::Action ResolveFsm::on_node_reply(error_code ec, const std::vector<Reply>& replies) {
  if (mode_ != Mode::cluster) return {};
  if (ec) return follow(router_->on_unreachable(ec.message()));
  if (replies.size() != 1) return follow(router_->on_unreachable("no reply to CLUSTER SLOTS"));
  return follow(router_->on_slots_reply(cluster::to_tree(replies[0])));
}

ResolveFsm::Action ResolveFsm::on_probe_down(std::string_view why) {
  return mode_ == Mode::cluster ? on_node_down(why) : on_sentinel_down(why);
}

ResolveFsm::Action ResolveFsm::on_probe_reply(error_code ec, const std::vector<Reply>& replies) {
  return mode_ == Mode::cluster ? on_node_reply(ec, replies) : on_sentinel_reply(ec, replies);
}

bool ResolveFsm::on_error_reply(std::string_view error) {
  if (mode_ == Mode::sentinel) return error.starts_with("READONLY");
  if (mode_ != Mode::cluster) return false;
  const auto kind = router_->on_error_reply(error).kind;
  return kind == cluster::Reaction::resolve_again || kind == cluster::Reaction::ask;
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
  if (mode_ == Mode::cluster) return {"CLUSTER", "SLOTS"};
  return {"SENTINEL", "get-master-addr-by-name", master_name_};
}

Endpoint ResolveFsm::probe_endpoint(const Endpoint& server, const Target& t) const {
  if (mode_ != Mode::cluster) return sentinel_endpoint(server, t);
  Endpoint e = server;  // a cluster node: the server's credentials and TLS
  e.host = t.host;
  e.port = t.port;
  e.unix_socket.clear();
  e.cluster = false;
  e.db = 0;
  e.sentinel_probe = true;  // no SELECT, no ROLE
  return e;
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
