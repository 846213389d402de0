// Provider switching mid-campaign (CONTRACT.md section 6): which targets of a running campaign
// lose their undelivered contacts, and where those go.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/select.hpp"
#include "core/types.hpp"

namespace wa::core {

// A target of a running campaign with the contacts still waiting in its dispatch list.
struct TargetState {
  std::string target;  // session id, or "meta_api"
  std::uint64_t remaining = 0;
};

// The plan for one broken target. With somewhere to go, `to` holds slices over the moved contacts
// (positions 0 … moved−1 of the broken target's list, in order); with nowhere, `to` is empty and
// `moved` is 0: the contacts stay.
struct SwitchMove {
  std::string from;
  SwitchReason reason = SwitchReason::disconnected;
  std::uint64_t moved = 0;
  Decision decision;  // section 4's decision for the moved contacts (type queue: nowhere)
};

// Plans the moves of one campaign. Only session targets with contacts left can break; they are
// checked against ws (a target absent from ws.sessions counts as disconnected).
std::vector<SwitchMove> plan_switches(const CampaignSpec& spec,
                                      std::span<const TargetState> targets, const WorkspaceView& ws,
                                      const config::Config& cfg);

// A stored decision's distribution entry.
struct DistributionEntry {
  std::string target;
  std::uint64_t count = 0;
  bool operator==(const DistributionEntry&) const = default;
};

// Updates a stored distribution for a move: the broken target's count drops by the moved
// contacts (the entry goes when it reaches 0) and each destination's count grows (new targets are
// appended in the move's order). Counts always sum to what they summed to before.
void apply_move(std::vector<DistributionEntry>& distribution, const SwitchMove& move);

}  // namespace wa::core
