// Provider and session selection (CONTRACT.md section 4), prediction, and the switch rules of
// section 6 that also decide eligibility.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/balance.hpp"
#include "core/paced_estimate.hpp"
#include "core/sticky.hpp"
#include "core/types.hpp"

namespace wa::core {

// What a workspace offers at decision time.
struct WorkspaceView {
  std::span<const Session> sessions;  // every id of the workspace set; missing hash: exists=false
  MetaSettings meta;
  WindowStats webjs_7d;  // the workspace's daily counters of the last 7 days, per provider
  WindowStats meta_7d;
  // Pacing on: the workspace's pacing settings and its targets' backlogs and pace (the Meta
  // target under "meta_api"); predictions then count them (section 8). Null: section 4's.
  const WorkspacePace* pace = nullptr;
};

// What a campaign asks for: the parts of a job that selection reads.
struct CampaignSpec {
  TemplateMode mode = TemplateMode::direct;
  Preference preference = Preference::automatic;
  std::optional<Template> tmpl;
  bool template_approved() const noexcept {
    return tmpl && tmpl->status == TemplateStatus::approved;
  }
};
CampaignSpec spec_of(const Job& job);

enum class SwitchReason {
  disconnected,
  health_below_threshold,
  error_rate_above_threshold,
  response_time_above_threshold
};
std::string_view to_string(SwitchReason) noexcept;

// Why a session target breaks the switch thresholds now, or nullopt when it does not. A missing
// session (nullptr or exists=false) counts as disconnected.
std::optional<SwitchReason> switch_break(const Session* s, const config::SwitchThresholds& t);

// Eligible sessions in tier order (is_primary desc, health desc, last_activity_at desc with never
// active last, id asc): webjs, connected, active, health >= min_score_secondary, not breaking a
// switch threshold while auto switching is on; at most max_sessions_per_workspace of them.
std::vector<const Session*> eligible_sessions(std::span<const Session> sessions,
                                              const config::Config& cfg);

struct Factors {
  double campaign_mode_score = 0;
  double session_health_score = 0;
  double user_preference_score = 0;
  double performance_score = 0;
  double weighted_score = 0;
};

struct ProviderForecast {
  bool available = false;
  std::size_t session_count = 0;  // webjs only
  double capacity_per_hour = 0;
  std::uint64_t tier_limit = 0;  // meta_api only
  std::optional<std::uint64_t> estimated_minutes;
};

struct Prediction {
  ProviderForecast webjs;
  ProviderForecast meta_api;
  std::optional<DecisionType> recommended;  // webjs or meta_api
};

// Minutes to send `contacts` at `capacity_per_hour`: ceil(contacts / capacity × 60); 0 for no
// contacts; nullopt without capacity.
std::optional<std::uint64_t> estimate_minutes(std::uint64_t contacts, double capacity_per_hour);
// The same for Meta, where contacts beyond tier_limit wait a day per tier_limit.
std::optional<std::uint64_t> estimate_meta_minutes(std::uint64_t contacts, double capacity_per_hour,
                                                   std::uint64_t tier_limit);

// One entry of a decision's distribution: a session id or "meta_api".
struct Target {
  std::string target;
  const Session* session = nullptr;  // null for meta_api
  Slice slice;  // with sticky contacts (Decision::owner not empty): {0, 0, count}
};

struct Decision {
  DecisionType type = DecisionType::queue;
  Reason reason = Reason::no_provider_available;
  bool permanent = false;  // queue decision that can never recover (template REJECTED/DISABLED)
  double confidence = 0;
  const Session* session = nullptr;  // "the" session of a webjs decision
  std::vector<Target> distribution;  // targets with at least one contact, in tier order
  // Section 10: when some contact is sticky to an eligible session, the index in `distribution`
  // of every input position's target (the slices then only give counts). Empty otherwise.
  std::vector<std::uint16_t> owner;
  Factors factors;
  std::optional<Prediction> prediction;
};

// Decides one campaign of `contacts` contacts. Pure: the sessions must already carry fresh health
// and metrics. The returned pointers point into ws.sessions.
// Records a decision's dispatch in the workspace's pace view, so that the prediction of the next
// job counts it as waiting (the view is a snapshot read before both).
void add_to_backlogs(WorkspacePace& pace, const Decision& d);

// `now` is only read by the prediction with pacing on. `sticky` (section 10: what
// wa:sticky:<workspace> says about the contacts, one entry per contact) is read by webjs decisions
// only.
Decision decide(const CampaignSpec& spec, std::uint64_t contacts, const WorkspaceView& ws,
                const config::Config& cfg, Seconds now = 0, const StickyContacts* sticky = nullptr);

}  // namespace wa::core
