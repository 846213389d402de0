#include "redis/cluster_router.hpp"

#include <algorithm>
#include <utility>

namespace wa::redis::cluster {

namespace {

void add_unique(std::vector<Address>& list, const Address& a) {
  if (std::find(list.begin(), list.end(), a) == list.end()) list.push_back(a);
}

bool starts_with_word(std::string_view text, std::string_view word) {
  return text.starts_with(word) && (text.size() == word.size() || text[word.size()] == ' ');
}

}  // namespace

SlotRouter::SlotRouter(std::vector<Address> seeds, int slot)
    : configured_(std::move(seeds)), slot_(slot) {
  rebuild_order();
}

void SlotRouter::rebuild_order() {
  order_.clear();
  if (moved_) add_unique(order_, *moved_);
  for (const Address& a : configured_)
    add_unique(order_, a);
  for (const Address& a : learned_)
    add_unique(order_, a);
}

Step SlotRouter::start() {
  rebuild_order();
  master_.reset();
  failures_.clear();
  next_ = 0;
  resolving_ = true;
  return ask_next();
}

Step SlotRouter::ask_next() {
  if (next_ >= order_.size()) {
    resolving_ = false;
    return Step{Step::Kind::none_reachable, {}};
  }
  return Step{Step::Kind::ask_slots, order_[next_++]};
}

Step SlotRouter::skip(std::string_view why) {
  if (!resolving_) return Step{Step::Kind::none_reachable, {}};
  failures_ += to_string(order_[next_ - 1]);
  failures_ += ": ";
  failures_ += why;
  failures_ += '\n';
  return ask_next();
}

Step SlotRouter::on_unreachable(std::string_view why) {
  return skip(why);
}

Step SlotRouter::on_slots_reply(const Tree& reply) {
  if (!resolving_) return Step{Step::Kind::none_reachable, {}};
  const Address& asked = order_[next_ - 1];
  const SlotMap map = parse_slots(reply, asked);
  if (!map.error.empty()) return skip(map.error);
  auto master = master_for_slot(map, slot_);
  if (!master) return skip("no master serves slot " + std::to_string(slot_));
  learn(map);
  resolving_ = false;
  master_ = std::move(master);
  return Step{Step::Kind::use_master, *master_};
}

void SlotRouter::learn(const SlotMap& map) {
  learned_.clear();
  for (const SlotRange& r : map.ranges) {
    if (learned_.size() < kMaxLearned) add_unique(learned_, r.master);
    for (const Address& a : r.replicas) {
      if (learned_.size() < kMaxLearned) add_unique(learned_, a);
    }
  }
}

Reaction SlotRouter::on_error_reply(std::string_view error) {
  const Address here = master_.value_or(Address{});
  if (auto redirect = parse_redirect(error, here)) {
    if (redirect->kind == Redirect::Kind::ask) {
      return Reaction{Reaction::ask, redirect->to, redirect->slot};
    }
    moved_ = redirect->to;
    master_.reset();
    return Reaction{Reaction::resolve_again, redirect->to, redirect->slot};
  }
  if (starts_with_word(error, "TRYAGAIN") || starts_with_word(error, "CLUSTERDOWN")) {
    return Reaction{Reaction::retry_later, {}, -1};
  }
  // A master demoted under a blocked command, or a write that reached a replica.
  if (starts_with_word(error, "UNBLOCKED") || starts_with_word(error, "READONLY")) {
    master_.reset();
    return Reaction{Reaction::resolve_again, {}, -1};
  }
  return Reaction{};
}

}  // namespace wa::redis::cluster
