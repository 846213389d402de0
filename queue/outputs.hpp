// A job's plan (core/plan.hpp) as the Redis commands of its finish step.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/plan.hpp"
#include "queue/finish.hpp"
#include "queue/keys.hpp"

namespace wa::queue {

// The commands of `plan` for the job taken as `payload`. `contacts` are the job's inline
// contacts, pushed to their dispatch lists here unless `staged` (then the caller adds a
// WA_PLACE per target once the stage lists are written). `results_ttl` is results.ttl_seconds.
// The plan's records and payloads are moved out (its type, reason, dispatch and dead cause stay).
TxJob outputs_of(core::JobPlan& plan, const std::string& payload, std::string_view campaign_id,
                 const std::vector<std::string>* contacts, bool staged, const Keys& keys,
                 std::int64_t results_ttl, double now);

// Section 8, pacing on: the commands that put the campaign in the backlog of every target the
// plan writes a dispatch list for (`ZADD wa:backlog:<target> NX`, scored by the decision time)
// and the target in wa:pace:due (NX: a target already waiting keeps its time), appended to the
// job's writes so that they land in the same atomic step as its dispatch lists. The target of a
// meta_api dispatch is "meta_api:<workspace_id>".
void add_backlogs(TxJob& o, const core::JobPlan& plan, std::string_view campaign_id,
                  std::string_view workspace_id, const Keys& keys, double now);

// Section 10: HSET wa:sticky:<workspace> contact -> session for every contact the plan dispatches
// to a session (webjs plans only; Meta's never), in commands of at most
// kStickyFieldsPerCommand fields, appended to the job's writes (the same atomic step as its
// dispatch lists). A contact given twice keeps the session of its last position. Contacts that
// `sticky` (what was read before balancing) already names with their session are not written.
inline constexpr std::size_t kStickyFieldsPerCommand = 500;
void add_sticky(TxJob& o, const core::JobPlan& plan, const std::vector<std::string>& contacts,
                const std::string& sticky_key, const core::StickyContacts* sticky);

// Per input position (of n): whether `sticky` already names the session the plan sends it to.
std::vector<bool> unchanged_sticky(const core::JobPlan& plan,
                                   const std::vector<std::uint16_t>& owner,
                                   const core::StickyContacts* sticky);

// The index in plan.dispatch of each of the first n input positions' target (core::kNotSticky
// for none).
std::vector<std::uint16_t> owners_of(const core::JobPlan& plan, std::uint64_t n);

// The pacing target of a dispatch target: a session id as it is, meta_api per workspace.
std::string pacing_target(std::string_view dispatch_target, std::string_view workspace_id);

// The milliseconds of wa:campaigns:active (the queue's zsets use queue/score.hpp).
std::string ms_score(double seconds);

}  // namespace wa::queue
