// Sticky senders (CONTRACT.md section 10): a webjs plan's contacts are looked up in
// wa:sticky:<workspace> (bounded reads: queue/sticky) and the job is balanced again with them.
// Meta plans neither read nor write the hash.
#include <spdlog/spdlog.h>

#include "daemon/daemon.hpp"
#include "queue/sticky.hpp"

namespace wa::daemon {

bool Daemon::sticky_writes(const Item& it) const {
  return cfg_.selection.sticky_sender && it.parsed.job &&
         it.plan.type == core::DecisionType::webjs && !it.plan.dispatch.empty() &&
         !(it.sticky && !it.sticky->error.empty());
}

asio::awaitable<void> Daemon::apply_sticky(std::vector<Item>& items, double now) {
  if (!cfg_.selection.sticky_sender) co_return;
  std::vector<queue::StickyRead> reads;
  std::vector<Item*> inline_items, listed;
  for (Item& it : items) {
    if (!decidable(it) || !sticky_writes(it) || it.contacts == 0) continue;
    if (it.contacts_key.empty()) {
      reads.push_back({keys_.sticky(it.parsed.job->workspace_id.text), &it.parsed.job->contacts});
      inline_items.push_back(&it);
    } else {
      listed.push_back(&it);
    }
  }
  if (!reads.empty()) {
    auto found = co_await queue::read_sticky(*conn_, reads);
    for (std::size_t n = 0; n < inline_items.size(); ++n)
      inline_items[n]->sticky = std::move(found[n]);
  }
  for (Item* it : listed) {
    auto found = co_await queue::read_sticky_list(
        *conn_, keys_.sticky(it->parsed.job->workspace_id.text), it->contacts_key, it->contacts);
    it->sticky = std::move(found);
  }
  for (const Item& it : items) {
    if (it.sticky && !it.sticky->error.empty()) {
      spdlog::warn(
          "job {}: {} cannot be read ({}): its contacts are dealt without stickiness and "
          "the hash is not written",
          it.parsed.job_id, keys_.sticky(it.parsed.job->workspace_id.text), it.sticky->error);
    }
  }
  // Only a job with a sticky contact can be balanced differently. (The snapshot it was planned
  // on is still the same: nothing is refreshed in between.)
  for (Item& it : items) {
    if (it.sticky && it.sticky->any()) it.plan = plan_item(it, now, false);
  }
}

}  // namespace wa::daemon
