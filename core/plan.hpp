// What happens to one taken job, as data: the records it writes, where its contacts go, or its
// retry, or its dead entry. Pure: the daemon turns a plan into Redis commands (queue/outputs).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "core/balance.hpp"
#include "core/job.hpp"
#include "core/select.hpp"
#include "core/types.hpp"

namespace wa::core {

// Why a job went to the dead list (wa_jobs_dead_total{cause}).
enum class DeadCause {
  bad_payload,
  poison,
  permanent,
  max_attempts,
  write_failed,
  bad_contacts_key,
  unstable_contacts,
};
std::string_view to_string(DeadCause c) noexcept;

// Why a job that could not be written now waits with backoff (besides a `queue` decision).
enum class RetryCause { none, unstable_contacts };

// A warning carried in the decision record's `warnings` array.
inline constexpr std::string_view kContactsKeyMissing = "contacts_key_missing";

struct Dispatch {
  std::string target;  // session id, or "meta_api"
  Slice slice;         // positions in the job's contacts (only the count when JobPlan::owner)
};

struct JobPlan {
  std::string marker_attempt;  // the attempt named by the exactly-once marker
  std::optional<DecisionType> type;
  Reason reason{};
  std::vector<Dispatch> dispatch;  // served: every target with at least one contact
  // Section 10: the index in `dispatch` of each input position's target, when some contact was
  // sticky to an eligible session (Decision::owner); empty when the slices say where.
  std::vector<std::uint16_t> owner;
  std::string decision;              // served: the record stored as the campaign's decision
  std::vector<std::string> results;  // records appended to wa:results, in order
  std::string dead_entry;            // for the dead list, when dead
  std::optional<DeadCause> dead;
  std::string dead_error;
  std::optional<Seconds> retry_due;  // put back on delayed, due then
  double retry_in = 0;
  std::string retry_payload;  // the payload with attempts + 1 (and a derived job_id)
};

// Poison (lease expired max_deliveries times) and unparsable payloads: dead at once.
JobPlan plan_poison(std::string_view payload, const ParsedJob& pj, std::int64_t max_deliveries,
                    Seconds now);
JobPlan plan_bad(std::string_view payload, const ParsedJob& pj, Seconds now);

// A job that cannot be served whatever the sessions do (its contacts_key is not a list): dead.
JobPlan plan_rejected(std::string_view payload, const ParsedJob& pj, DeadCause cause,
                      std::string error, Seconds now);

// A decided job: served (record, dispatch), or put back with backoff, or dead when it ran out of
// attempts or can never be served. `unit` is uniform in [0, 1] (the retry's jitter).
JobPlan plan_decided(std::string_view payload, const Job& job, const Decision& d,
                     std::span<const std::string_view> warnings, Seconds now,
                     const config::Retry& retry, double unit);

// A job whose contacts_key list kept changing while it was decided: it waits with backoff like
// any retry (no record), or goes to dead when it ran out of attempts.
JobPlan plan_unstable(std::string_view payload, const Job& job, std::string_view why, Seconds now,
                      const config::Retry& retry, double unit);

}  // namespace wa::core
