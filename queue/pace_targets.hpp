// What the pacer reads from Redis about its targets (CONTRACT.md section 8): the page of due
// targets, their pace state, and their settings (a session's hash, the workspace's
// wa:workspace:<ws>:pacing and, for Meta, wa:workspace:<ws>:meta), in pipelined rounds.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/pace_plan.hpp"
#include "queue/codec.hpp"
#include "queue/exec.hpp"
#include "queue/keys.hpp"

namespace wa::queue {

// The workspace's own speed setting; a field that cannot be read is left out and named in
// `problems` (the config's value applies instead).
struct WorkspacePacing {
  std::optional<double> rate_per_hour;
  std::optional<std::uint64_t> daily_cap;
  std::optional<core::SendingHours> hours;
  std::string timezone = "UTC";
  std::vector<std::string> problems;
};
WorkspacePacing parse_workspace_pacing(const Fields& f);

struct TargetRead {
  std::optional<core::PaceTarget> target;  // nullopt: cannot be paced now (`problem` says why)
  std::string problem;
  std::vector<std::string> warnings;  // unreadable workspace settings (the rest applies)
  double factor = 1;                  // the pace hash's (the health cycle's AIMD factor)
};

// The targets due at now_ms, at most `limit`, earliest first, with their scores (the time the
// pacer set for them: a target's next release time, or when a hold ends).
struct DueTarget {
  std::string name;
  std::int64_t due_ms = 0;
};
asio::awaitable<std::vector<DueTarget>> due_targets(redis::Connection& conn, const Keys& keys,
                                                    std::int64_t now_ms, std::size_t limit);

// The settings of each target: "meta_api:<ws>" is Meta, anything else a webjs session.
asio::awaitable<std::map<std::string, TargetRead>> read_pace_targets(
    redis::Connection& conn, const Keys& keys, const std::vector<std::string>& targets,
    const config::LoadBalancing& lb);

}  // namespace wa::queue
