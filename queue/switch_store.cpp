#include "queue/switch_store.hpp"

#include <algorithm>
#include <stdexcept>

#include "queue/exec.hpp"
#include "queue/outputs.hpp"
#include "queue/scripts.hpp"

namespace wa::queue {

asio::awaitable<ActivePage> scan_active(redis::Connection& conn, const Keys& keys,
                                        const std::string& cursor, std::size_t count) {
  Command zscan{"ZSCAN", keys.active(), cursor, "COUNT", std::to_string(count)};
  const auto r = co_await run1(conn, plain(std::move(zscan)));
  if (!r.is_array() || r.elements.size() != 2 || !r.elements[1].is_array()) {
    throw std::runtime_error("switch: unexpected reply to ZSCAN " + keys.active() +
                             (r.is_error() ? ": " + r.str : ""));
  }
  ActivePage page{r.elements[0].str, {}};
  const auto& members = r.elements[1].elements;
  for (std::size_t i = 0; i < members.size(); i += 2)  // member, score
    page.ids.push_back(members[i].str);
  co_return page;
}

asio::awaitable<std::vector<SwitchRecords>> read_switch_records(
    redis::Connection& conn, const Keys& keys, const std::vector<std::string>& ids) {
  std::vector<Call> gets;
  for (const auto& id : ids) {
    gets.push_back(plain({"GET", keys.decision(id)}));
    gets.push_back(plain({"GET", keys.switch_progress(id)}));
  }
  const auto got = co_await run(conn, std::move(gets));
  std::vector<SwitchRecords> out(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const Reply& decision = got[2 * i];
    const Reply& progress = got[2 * i + 1];
    if (decision.is_string()) out[i].decision = decision.str;
    if (progress.is_string()) out[i].progress = progress.str;
  }
  co_return out;
}

asio::awaitable<std::optional<std::string>> read_decision(redis::Connection& conn, const Keys& keys,
                                                          const std::string& id) {
  Command get{"GET", keys.decision(id)};
  const auto r = co_await run1(conn, plain(std::move(get)));
  if (!r.is_string()) co_return std::nullopt;
  co_return r.str;
}

namespace {

Call switch_step_call(const Keys& keys, const SwitchStep& s) {
  std::vector<std::string> args{s.token,
                                std::to_string(s.lock_ms),
                                std::to_string(s.count),
                                s.old_decision,
                                s.new_decision,
                                s.old_progress,
                                s.new_progress,
                                std::to_string(s.progress_ttl_s),
                                s.record,
                                s.now_ms,
                                s.campaign,
                                keys.backlog("")};
  for (const auto& share : s.shares) {
    args.insert(args.end(),
                {keys.dispatch(s.campaign, share.target), std::to_string(share.slice.first),
                 std::to_string(share.slice.stride), std::to_string(share.slice.count),
                 pacing_target(share.target, s.workspace),
                 s.sticky && share.target != "meta_api" ? share.target : ""});
  }
  const std::vector<std::string> step_keys{keys.dispatch(s.campaign, s.from),
                                           keys.decision(s.campaign),
                                           keys.results(),
                                           keys.campaign_lock(s.campaign),
                                           keys.switch_progress(s.campaign),
                                           keys.ready(s.from),
                                           keys.pace_due(),
                                           keys.sticky(s.workspace)};
  return script_call(switch_step_script(), step_keys, std::move(args));
}

SwitchStepOutcome outcome_of(const Reply& r) {
  SwitchStepOutcome o;
  if (r.is_error()) o.error = r.str;
  if (!r.is_array() || r.elements.empty()) return o;
  o.code = int_or(r.elements[0], SwitchStepOutcome::unexpected);
  if (o.code == SwitchStepOutcome::list_short) {
    o.list_len = static_cast<std::uint64_t>(std::max(0LL, int_or(r.elements.at(1))));
  }
  o.detail = r.elements.size() > 1 ? r.elements[1].str : "a destination is not a list";
  return o;
}

}  // namespace

asio::awaitable<SwitchStepOutcome> run_switch_step(redis::Connection& conn, const Keys& keys,
                                                   const SwitchStep& step) {
  const auto r = co_await run1(conn, switch_step_call(keys, step));
  co_return outcome_of(r);
}

std::string step_refusal(const SwitchStepOutcome& o) {
  if (o.error) return *o.error;
  switch (o.code) {
    case SwitchStepOutcome::lock_lost:
      return "lock lost";
    case SwitchStepOutcome::list_short:
      return "its list kept shrinking";
    case SwitchStepOutcome::decision_changed:
      return "the decision kept changing";
    case SwitchStepOutcome::progress_changed:
      return "its progress record changed";
    case SwitchStepOutcome::wrong_share:
      return o.detail;
    default:
      return "unexpected reply";
  }
}

asio::awaitable<bool> report_nowhere(redis::Connection& conn, const Keys& keys,
                                     const std::string& campaign, const std::string& from,
                                     const std::string& record, std::int64_t ttl_s) {
  const std::string reported = keys.switch_reported(campaign);
  Command sadd{"SADD", reported, from};
  const auto first = co_await run1(conn, plain(std::move(sadd)));
  if (int_or(first) != 1) co_return false;
  std::vector<Call> rec;
  rec.push_back(plain({"RPUSH", keys.results(), record}));
  rec.push_back(plain({"EXPIRE", reported, std::to_string(ttl_s)}));
  (void)co_await run(conn, std::move(rec));
  co_return true;
}

asio::awaitable<void> clear_nowhere(redis::Connection& conn, const Keys& keys,
                                    const std::string& campaign, const std::string& from) {
  Command srem{"SREM", keys.switch_reported(campaign), from};
  (void)co_await run1(conn, plain(std::move(srem)));
}

}  // namespace wa::queue
