#include "queue/health_store.hpp"

#include <algorithm>

#include "queue/codec.hpp"
#include "queue/pace_state.hpp"
#include "queue/scripts.hpp"

namespace wa::queue {

asio::awaitable<HealthSessions> sessions_to_check(redis::Connection& conn, const Keys& keys,
                                                  PhpValues& php) {
  Command smembers{"SMEMBERS", keys.workspaces()};
  const auto ws_reply = co_await run1(conn, plain(std::move(smembers)));
  std::vector<std::string> workspaces;
  for (const auto& e : ws_reply.elements)
    workspaces.emplace_back(php.member(keys.workspaces(), e.str));
  std::sort(workspaces.begin(), workspaces.end());
  std::vector<Call> c1;
  for (const auto& ws : workspaces)
    c1.push_back(plain({"SMEMBERS", keys.workspace_sessions(ws)}));
  const auto r1 = co_await run(conn, std::move(c1));
  HealthSessions out;
  out.workspaces = workspaces.size();
  for (std::size_t i = 0; i < workspaces.size(); ++i) {
    for (const auto& e : r1[i].elements)
      out.pairs.emplace_back(workspaces[i],
                             php.member(keys.workspace_sessions(workspaces[i]), e.str));
  }
  co_return out;
}

asio::awaitable<std::uint64_t> events_waiting(redis::Connection& conn, const Keys& keys) {
  Command llen{"LLEN", keys.events()};  // outside the co_await: GCC 12 miscompiles it
  const auto waiting = co_await run1(conn, plain(std::move(llen)));
  co_return static_cast<std::uint64_t>(int_or(waiting));
}

asio::awaitable<PruneStep> prune_active_step(redis::Connection& conn, const Keys& keys,
                                             const std::string& until_ms, long long max) {
  const std::vector<std::string> active{keys.active()};
  std::vector<std::string> args{until_ms, std::to_string(max)};
  Call call = script_call(prune_active_script(), active, std::move(args));
  const auto pruned = co_await run1(conn, std::move(call));
  PruneStep out;
  if (pruned.is_error()) out.error = pruned.str;
  out.removed = int_or(pruned);
  co_return out;
}

namespace {
// The reads of a session in their pipeline order (then, with pacing, its pace state's).
enum SessionRead : std::size_t { kHash, kStats, kAlertMask, kBaseReads };
}  // namespace

std::size_t HealthReads::stride() const {
  return kBaseReads + (pacing_ ? kPaceStateReads : 0);
}

void HealthReads::add(const std::string& sid, std::vector<Call>& reads) const {
  reads.push_back(plain({"HGETALL", keys_.session(sid)}));
  reads.push_back(store_.stats_read_call(sid));
  reads.push_back(plain({"HGET", keys_.session_health(sid), "alerts"}));
  if (pacing_) add_pace_state_reads(reads, keys_, sid);
}

SessionReplies HealthReads::at(const std::vector<Reply>& replies, std::size_t i) const {
  const Reply* r = &replies[stride() * i];
  return SessionReplies{r[kHash], r[kStats], static_cast<core::AlertMask>(int_or(r[kAlertMask], 0)),
                        pacing_ ? r + kBaseReads : nullptr};
}

core::Session session_of(const Keys& keys, const std::string& sid, const Reply& hash,
                         PhpValues& php, std::string& problem) {
  bool known = false;
  Fields fields = pairs(hash);
  php.fields(keys.session(sid), fields);
  return parse_session(sid, fields, problem, known);
}

void add_alert_writes(const Keys& keys, const std::string& alert, bool publish,
                      std::vector<Call>& writes) {
  if (publish) writes.push_back(plain({"PUBLISH", keys.alerts(), alert}));
  writes.push_back(plain({"LPUSH", keys.recent_alerts(), alert}));
  writes.push_back(plain({"LTRIM", keys.recent_alerts(), "0", "99"}));
}

Call stale_stats_delete(const Keys& keys, const std::string& sid,
                        const std::vector<std::string>& stale) {
  Command hdel{"HDEL", keys.session_stats(sid)};
  hdel.insert(hdel.end(), stale.begin(), stale.end());
  return plain(std::move(hdel));
}

}  // namespace wa::queue
