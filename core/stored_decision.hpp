// A campaign's stored decision (wa:decision:<campaign>, CONTRACT.md section 4) as provider
// switching (section 6) reads and rewrites it: pure JSON work, no I/O.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/switching.hpp"
#include "core/types.hpp"

namespace wa::core {

// What switching needs from a stored decision.
struct StoredCampaign {
  std::string id;
  Id campaign_id;
  std::string workspace_id;
  CampaignSpec spec;
  std::vector<DistributionEntry> distribution;
  std::string decision;  // the stored JSON, for compare-and-set
};

// The decision stored for campaign `id`; nullopt when `text` is not a JSON object or has no
// workspace_id. Distribution entries without a target or a numeric count are left out.
std::optional<StoredCampaign> parse_stored_decision(const std::string& id, const std::string& text);

// The stored decision with a new distribution, and type/session when they change (`session`:
// the move's session, for when the current one has no entry left).
std::string updated_decision(const StoredCampaign& c, const std::vector<DistributionEntry>& dist,
                             const std::string& session);

// A decision's "session" object for a session (null for none), as a move's plan keeps it.
std::string session_json(const Session* s);

}  // namespace wa::core
