// Which node to talk to in a Redis Cluster, as a pure state machine (no I/O, no clock): the
// connection does what each step says and feeds the outcome back.
//
//   SlotRouter r(seeds, key_slot(prefix));
//   Step s = r.start();                       // ask_slots: send CLUSTER SLOTS to s.node
//   s = r.on_slots_reply(reply) / r.on_unreachable();   // ... until use_master or none_reachable
//   Reaction x = r.on_error_reply(error_text);          // for each error reply of the master
//
// A resolution asks the seeds in order (first the node a MOVED named, then the configured ones,
// then the nodes the last CLUSTER SLOTS reply listed) until one answers with a map in which a
// master serves the slot. none_reachable: every seed failed; start() again after a backoff.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "redis/cluster.hpp"

namespace wa::redis::cluster {

struct Step {
  enum class Kind { ask_slots, use_master, none_reachable };
  Kind kind = Kind::none_reachable;
  Address node;  // ask_slots: the node to send CLUSTER SLOTS to; use_master: the slot's master
};

// What to do after an error reply to a command sent to the master in use.
struct Reaction {
  enum Kind {
    none,           // an ordinary error: the command's own outcome
    resolve_again,  // MOVED (the slot lives elsewhere now), or the node stopped being master:
                    // call start() and resend once the new master is known
    ask,            // ASK: send ASKING then this one command to `to`, once; the map stays
    retry_later,    // TRYAGAIN / CLUSTERDOWN: the cluster is reconfiguring; resend after a pause
  };
  Kind kind = none;
  Address to;     // ask: the node; resolve_again after MOVED: the node named (now the first seed)
  int slot = -1;  // the slot the redirection names (-1: none)
};

class SlotRouter {
 public:
  // The most nodes learned from CLUSTER SLOTS that are kept (the configured seeds always are).
  static constexpr std::size_t kMaxLearned = 64;

  SlotRouter(std::vector<Address> seeds, int slot);

  // Starts (or restarts) a resolution from the first seed; forgets the master.
  Step start();
  // The reply to CLUSTER SLOTS of the node asked last (an error reply counts as a failure).
  Step on_slots_reply(const Tree& reply);
  // The node asked last could not be reached, timed out or closed the connection.
  Step on_unreachable(std::string_view why = "unreachable");
  // An error reply (text without '-') of the master in use.
  Reaction on_error_reply(std::string_view error);

  int slot() const noexcept { return slot_; }
  // The nodes the current (or next) resolution asks, in order, each once.
  const std::vector<Address>& seeds() const noexcept { return order_; }
  const std::optional<Address>& master() const noexcept { return master_; }
  // Why each node of the current resolution was skipped ("host:port: why"), one per line.
  const std::string& failures() const noexcept { return failures_; }

 private:
  Step ask_next();
  Step skip(std::string_view why);
  void learn(const SlotMap& map);
  void rebuild_order();

  std::optional<Address> moved_;  // the node the last MOVED named: asked first
  std::vector<Address> configured_;
  std::vector<Address> learned_;  // the nodes of the last map, after the configured ones
  std::vector<Address> order_;
  int slot_;
  std::size_t next_ = 0;  // index in order_ of the node to ask next
  bool resolving_ = false;
  std::optional<Address> master_;
  std::string failures_;
};

}  // namespace wa::redis::cluster
