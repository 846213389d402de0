#include "queue/outputs.hpp"

#include "queue/score.hpp"

#include <cmath>

namespace wa::queue {

std::string ms_score(double seconds) {
  return std::to_string(static_cast<long long>(std::llround(seconds * 1000.0)));
}

namespace {

void push_dispatch(TxJob& o, const core::Dispatch& d, const std::vector<std::string>& contacts,
                   std::string key) {
  Command push;
  push.reserve(2 + d.slice.count);
  push.emplace_back("RPUSH");
  push.push_back(std::move(key));
  for (std::uint64_t k = 0; k < d.slice.count; ++k)
    push.push_back(contacts[d.slice.position(k)]);
  o.contacts += d.slice.count;
  o.writes.push_back(std::move(push));
}

// With sticky contacts (plan.owner): one RPUSH per target, walking the contacts once.
void push_owned(TxJob& o, const core::JobPlan& plan, const std::vector<std::string>& contacts,
                const Keys& keys, std::string_view campaign_id) {
  std::vector<Command> push(plan.dispatch.size());
  for (std::size_t t = 0; t < plan.dispatch.size(); ++t) {
    push[t].reserve(2 + plan.dispatch[t].slice.count);
    push[t].emplace_back("RPUSH");
    push[t].push_back(keys.dispatch(campaign_id, plan.dispatch[t].target));
  }
  for (std::size_t p = 0; p < plan.owner.size() && p < contacts.size(); ++p)
    push[plan.owner[p]].push_back(contacts[p]);
  for (Command& c : push) {
    o.contacts += c.size() - 2;
    o.writes.push_back(std::move(c));
  }
}

}  // namespace

TxJob outputs_of(core::JobPlan& plan, const std::string& payload, std::string_view campaign_id,
                 const std::vector<std::string>* contacts, bool staged, const Keys& keys,
                 std::int64_t results_ttl, double now) {
  TxJob o;
  o.payload = payload;
  o.results = std::move(plan.results);
  if (!plan.dead_entry.empty()) o.dead.push_back(std::move(plan.dead_entry));
  if (plan.retry_due) {
    o.delayed_score = queue_score_of_seconds(*plan.retry_due);
    o.delayed = std::move(plan.retry_payload);
  }
  if (plan.decision.empty()) return o;
  if (contacts != nullptr && !staged && !plan.owner.empty()) {
    push_owned(o, plan, *contacts, keys, campaign_id);
  } else if (contacts != nullptr && !staged) {
    for (const core::Dispatch& d : plan.dispatch)
      push_dispatch(o, d, *contacts, keys.dispatch(campaign_id, d.target));
  }
  // (Built word by word: a braced list would copy the 1.5 KB record.)
  Command set;
  set.reserve(5);
  set.emplace_back("SET");
  set.push_back(keys.decision(campaign_id));
  set.push_back(std::move(plan.decision));
  set.emplace_back("EX");
  set.push_back(std::to_string(results_ttl));
  o.writes.push_back(std::move(set));
  o.active_score = ms_score(now);
  o.active = std::string(campaign_id);
  return o;
}

std::string pacing_target(std::string_view dispatch_target, std::string_view workspace_id) {
  if (dispatch_target != "meta_api") return std::string(dispatch_target);
  return "meta_api:" + std::string(workspace_id);
}

void add_backlogs(TxJob& o, const core::JobPlan& plan, std::string_view campaign_id,
                  std::string_view workspace_id, const Keys& keys, double now) {
  const std::string ms = ms_score(now);
  for (const core::Dispatch& d : plan.dispatch) {
    const std::string target = pacing_target(d.target, workspace_id);
    o.writes.push_back({"ZADD", keys.backlog(target), "NX", ms, std::string(campaign_id)});
    o.writes.push_back({"ZADD", keys.pace_due(), "NX", ms, target});
  }
}

}  // namespace wa::queue

namespace wa::queue {

std::vector<std::uint16_t> owners_of(const core::JobPlan& plan, std::uint64_t n) {
  if (!plan.owner.empty()) return plan.owner;
  std::vector<std::uint16_t> out(n, core::kNotSticky);
  for (std::size_t t = 0; t < plan.dispatch.size(); ++t) {
    const core::Slice& s = plan.dispatch[t].slice;
    for (std::uint64_t k = 0; k < s.count && s.position(k) < n; ++k)
      out[s.position(k)] = static_cast<std::uint16_t>(t);
  }
  return out;
}

std::vector<bool> unchanged_sticky(const core::JobPlan& plan,
                                   const std::vector<std::uint16_t>& owner,
                                   const core::StickyContacts* sticky) {
  if (sticky == nullptr || !sticky->any() || sticky->at.size() != owner.size()) return {};
  // The dispatch index of each session the hash names (kNotSticky: not a target of this plan).
  std::vector<std::uint16_t> target(sticky->sessions.size(), core::kNotSticky);
  for (std::size_t j = 0; j < sticky->sessions.size(); ++j) {
    for (std::size_t t = 0; t < plan.dispatch.size(); ++t) {
      if (plan.dispatch[t].target == sticky->sessions[j]) target[j] = static_cast<std::uint16_t>(t);
    }
  }
  std::vector<bool> out(owner.size(), false);
  for (std::size_t p = 0; p < owner.size(); ++p) {
    const std::uint16_t j = sticky->at[p];
    out[p] = j < target.size() && target[j] == owner[p];
  }
  return out;
}

void add_sticky(TxJob& o, const core::JobPlan& plan, const std::vector<std::string>& contacts,
                const std::string& sticky_key, const core::StickyContacts* sticky) {
  if (plan.type != core::DecisionType::webjs || plan.dispatch.empty()) return;
  const std::vector<std::uint16_t> owner = owners_of(plan, contacts.size());
  const std::vector<bool> unchanged = unchanged_sticky(plan, owner, sticky);
  Command hset;
  const auto flush = [&] {
    if (hset.size() > 2) o.writes.push_back(std::move(hset));
    hset.clear();
  };
  for (std::uint64_t p = 0; p < contacts.size(); ++p) {
    const std::uint16_t t = owner[p];
    if (t >= plan.dispatch.size() || plan.dispatch[t].target == "meta_api") continue;
    if (!unchanged.empty() && unchanged[p]) continue;
    if (hset.empty()) hset = {"HSET", sticky_key};
    hset.push_back(contacts[p]);
    hset.push_back(plan.dispatch[t].target);
    o.contacts += 2;  // (a field costs the transaction about twice a pushed contact)
    if (hset.size() >= 2 + 2 * kStickyFieldsPerCommand) flush();
  }
  flush();
}

}  // namespace wa::queue
