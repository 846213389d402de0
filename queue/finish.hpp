// Finishing a batch: every job's outputs written and the job acknowledged, atomically per job,
// with one typed outcome per job (CONTRACT.md sections 1, 4 and 5).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "redis/connection.hpp"

namespace wa::queue {

using redis::Command;

// One job's outputs, for JobQueue::finish_tx or (a job with stage lists) finish_by_script.
struct TxJob {
  std::string payload;             // the reserved zset's member
  std::string marker;              // its exactly-once marker key
  std::string contacts_key;        // prefixed; finish_by_script checks its length is still...
  std::uint64_t contacts_len = 0;  // ...this
  std::uint64_t contacts = 0;      // contacts its own writes push (bounds a transaction's work)
  // Its own commands (dispatch lists, the campaign's decision), in order. In finish_by_script
  // also `WA_PLACE stage dst n`: the stage list (of n contacts) becomes the dispatch list dst,
  // renamed when dst does not exist, else appended to it in bounded steps (queue/appends).
  std::vector<Command> writes;
  // Appended to batch-wide commands, in job order.
  std::vector<std::string> results;    // records for wa:results
  std::vector<std::string> dead;       // entries for the dead list
  std::string delayed_score, delayed;  // a retry: due (queue_score), the new payload; or empty
  std::string active_score, active;    // wa:campaigns:active member; or empty
};

enum class FinishOutcome {
  done,              // outputs written, acknowledged
  duplicate,         // already decided (marker set): acknowledged without outputs
  lease_lost,        // no longer reserved: nothing written
  again,             // another daemon wrote a marker or recovered a lease meanwhile: decide again
  contacts_changed,  // the contacts_key list or a stage changed: nothing written, still reserved
  rejected,          // the contacts_key is not a list: nothing written, still reserved
  write_failed,      // a write failed (key of another type): the rest written, acknowledged
  failed,            // an error not pinned to a cause: nothing written, still reserved
};

struct FinishResult {
  FinishOutcome outcome = FinishOutcome::failed;
  std::string error;  // what changed or failed, naming the command and key
};

}  // namespace wa::queue
