// What the health cycle reads and writes of a webjs session's pace (CONTRACT.md section 8,
// adaptive pace): its releases per minute (wa:stats:released:<sid>, kept by the pacer's release
// script) and the AIMD factor of its pace hash (wa:pace:<sid> `factor`, which the health cycle
// owns and the pacer reads). Two reads per session, pipelined with the cycle's others.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "core/types.hpp"
#include "queue/exec.hpp"
#include "queue/keys.hpp"

namespace wa::queue {

inline constexpr std::size_t kPaceStateReads = 2;

// Appends the two reads: HGETALL wa:stats:released:<sid> and HGET wa:pace:<sid> factor. The
// release script keeps the counts hash small (a field per minute with releases, those older than
// two hours pruned beyond 180 fields, the hash dropped beyond 1000), so one HGETALL stays cheap:
// about 12 µs of Redis for 120 fields, less than an HMGET of the hour's 60 minutes (33 µs).
void add_pace_state_reads(std::vector<Call>& reads, const Keys& keys, std::string_view sid);

struct PaceState {
  std::uint64_t releases = 0;    // releases older than the grace within the last hour
  std::optional<double> factor;  // nullopt: absent; NaN: present but not a number
};

// The two replies (r[0], r[1]) of add_pace_state_reads. Fields that are not minutes, and counts
// that are not positive numbers, count nothing.
PaceState parse_pace_state(const Reply* r, core::Seconds now, double grace_seconds);

// HSET wa:pace:<sid> factor <value>.
Call factor_write(const Keys& keys, std::string_view sid, double factor);

}  // namespace wa::queue
