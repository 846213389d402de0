// Provider switching mid-campaign (CONTRACT.md section 6): which targets of a running campaign
// lose their undelivered contacts, and where those go.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "core/balance.hpp"
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

// --- Moving in bounded steps ------------------------------------------------------------------
//
// A broken target's list may hold millions of contacts; Redis is shared with the app, so a move
// is done in steps that each take at most a few thousand contacts from the head of the list. The
// plan is made once, over the whole list as it was when the move began (positions 0 … total−1);
// a step takes the next positions, and each destination gets the positions of its slice.

// A destination of a move and the plan positions it owns.
struct MoveTarget {
  std::string target;
  Slice slice;
  bool operator==(const MoveTarget&) const = default;
};

// A move and how far it got. Steps always take the head of the list, so the list's head is
// position `done`; contacts that the target's sender pops meanwhile are simply not there to move
// (the plan is then cut where the list ends: see cut_plan).
struct MovePlan {
  std::string from;
  SwitchReason reason = SwitchReason::disconnected;
  std::uint64_t total = 0;  // plan positions
  std::uint64_t done = 0;   // positions moved so far
  std::vector<MoveTarget> to;
  std::string session = "null";  // the decision's "session" (JSON) once its current one has none
  bool operator==(const MovePlan&) const = default;
};

// The plan of a move with somewhere to go (move.moved > 0): nothing done yet.
MovePlan plan_of(const SwitchMove& move, std::string session_json = "null");

// The positions of `s` within [from, to), as a slice relative to `from`.
Slice slice_within(const Slice& s, std::uint64_t from, std::uint64_t to);

// A destination's part of one step: the step's contacts first, first + stride, … (relative).
struct StepShare {
  std::string target;
  Slice slice;
  bool operator==(const StepShare&) const = default;
};

// One step: plan positions [offset, offset + count), each in exactly one share (shares with no
// contact are left out). `last`: the move is complete after it.
struct MoveStep {
  std::uint64_t offset = 0;
  std::uint64_t count = 0;
  std::vector<StepShare> shares;
  bool last = false;
};

// The next step of at most max_count contacts (max_count ≥ 1).
MoveStep next_step(const MovePlan& plan, std::uint64_t max_count);

// The plan after a step.
void advance(MovePlan& plan, const MoveStep& step);

// Cuts the plan at `total` positions (not below `done`): the list turned out shorter than
// planned, its sender having popped some meanwhile; the positions past the end are never filled.
void cut_plan(MovePlan& plan, std::uint64_t total);

// Updates a stored distribution for one step: `from` loses the step's contacts (its entry goes
// when it reaches 0) and each share's target gains its own (a new target is appended).
void apply_step(std::vector<DistributionEntry>& distribution, const std::string& from,
                const MoveStep& step);

// The move as the provider_switch record tells it: every position planned so far (the whole
// plan when complete) moved, to the targets that get at least one contact, in plan order.
SwitchMove record_of(const MovePlan& plan);

// The progress record kept in Redis between steps (JSON), and back; nullopt when `text` is not a
// well-formed plan (every slice within total, the slices covering total positions, done ≤ total).
std::string progress_json(const MovePlan& plan);
std::optional<MovePlan> parse_progress(std::string_view text);

// --- Taking back a broken session's ready items (pacing, CONTRACT.md section 8) ------------------
//
// With pacing, contacts already released to a session wait in its ready list; a move of a
// campaign away from the session takes the campaign's items back to the head of its list first
// (queue/scripts.hpp switch_step_script), so that they move with the rest.

// A ready item as a move reads it: the campaign id's text (a JSON string's value, or the digits
// of a JSON integer) and the contact (a JSON string). Anything else is no item of any campaign
// (it stays where it is).
struct ReadyItem {
  std::string campaign;
  std::string contact;
  bool operator==(const ReadyItem&) const = default;
};
std::optional<ReadyItem> parse_ready_item(std::string_view text);

// How many of `items` (the head of a ready list) each campaign has.
std::map<std::string, std::uint64_t> ready_counts(std::span<const std::string> items);

// SwitchReason from its name.
std::optional<SwitchReason> switch_reason_of(std::string_view name);

}  // namespace wa::core
