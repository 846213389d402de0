// Campaign job payloads (CONTRACT.md sections 1 and 5): validation, derived ids, the payload
// rewrite for re-queueing, and the encodings of dead entries.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/types.hpp"

namespace wa::core {

struct ParsedJob {
  std::optional<Job> job;  // set when the payload is valid
  // When invalid: every problem, separated by "; ", each naming the field
  // (`campaign_id: required; template_mode: expected "direct" or "template", got "sms"`).
  std::string error;
  // Known even for an invalid payload: the given job_id (when a non-empty string) or the derived
  // one, and the ids when present and valid (for the dead event).
  std::string job_id;
  std::optional<Id> campaign_id;
  std::optional<Id> workspace_id;
};

// Largest nesting accepted before a payload counts as malformed.
inline constexpr int kMaxJsonDepth = 64;
// Longest string contact id, in bytes.
inline constexpr std::size_t kMaxContactBytes = 256;

ParsedJob parse_job(std::string_view payload);

// A stable id for a payload without job_id: "auto-" and 32 hex digits of a 128-bit hash of the
// bytes. Byte-identical payloads get the same id (and are one job, as the contract says).
std::string derive_job_id(std::string_view payload);

// The payload to put back on the queue: the same bytes with the top-level `attempts` set to
// `attempts` and, when `job_id` is non-empty, `job_id` set to it. Other members keep their
// bytes and order. The payload must be a valid JSON object.
std::string rewrite_payload(std::string_view payload, std::string_view job_id,
                            std::int64_t attempts);

bool is_valid_utf8(std::string_view bytes) noexcept;

}  // namespace wa::core
