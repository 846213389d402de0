// What the health cycle reads and writes of a webjs session's pace (CONTRACT.md section 8,
// adaptive pace): its releases per minute (wa:stats:released:<sid>, kept by the pacer's release
// script) and the AIMD factor of its pace hash (wa:pace:<sid> `factor`, which the health cycle
// owns and the pacer reads). Two bounded reads per session, pipelined with the cycle's others.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/pacing.hpp"
#include "queue/exec.hpp"
#include "queue/keys.hpp"

namespace wa::queue {

inline constexpr std::size_t kPaceStateReads = 2;

// Appends the two reads: HMGET of the counted minutes of wa:stats:released:<sid> (at most 60
// fields; one when no minute counts, read and ignored) and HGET wa:pace:<sid> factor.
void add_pace_state_reads(std::vector<Call>& reads, const Keys& keys, std::string_view sid,
                          const core::MinuteRange& minutes);

struct PaceState {
  std::uint64_t releases = 0;    // releases older than the grace within the last hour
  std::optional<double> factor;  // nullopt: absent; NaN: present but not a number
};

// The two replies (r[0], r[1]) of add_pace_state_reads. Counts that are not numbers count 0.
PaceState parse_pace_state(const Reply* r, const core::MinuteRange& minutes, core::Seconds now,
                           double grace_seconds);

// HSET wa:pace:<sid> factor <value>.
Call factor_write(const Keys& keys, std::string_view sid, double factor);

}  // namespace wa::queue
