#include "queue/pacer.hpp"

#include <array>
#include <cstdio>
#include <stdexcept>
#include <utility>

namespace wa::queue {

namespace {

constexpr std::array<std::pair<ReleaseReason, std::string_view>, 9> kReasons{{
    {ReleaseReason::none, ""},
    {ReleaseReason::empty, "empty"},
    {ReleaseReason::paused, "paused"},
    {ReleaseReason::cap, "cap"},
    {ReleaseReason::backpressure, "backpressure"},
    {ReleaseReason::stale, "stale"},
    {ReleaseReason::lock_lost, "lock_lost"},
    {ReleaseReason::early, "early"},
    {ReleaseReason::budget, "budget"},
}};

ReleaseReason parse_reason(std::string_view s) {
  for (const auto& [r, name] : kReasons) {
    if (name == s) return r;
  }
  throw std::runtime_error("pace_release: unknown reason '" + std::string(s) + "'");
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

}  // namespace

std::string_view to_string(ReleaseReason r) noexcept {
  for (const auto& [reason, name] : kReasons) {
    if (reason == r) return name;
  }
  return "?";
}

namespace {

Call release_call(const Keys& keys, std::string_view target, const ReleaseArgs& a) {
  if (a.n < 1 || a.room < 1) throw std::invalid_argument("pace_release: n and room must be >= 1");
  std::vector<std::string> k{
      keys.pace(target),       keys.ready(target),          keys.backlog(target), keys.pace_due(),
      keys.paused_campaigns(), keys.released_stats(target), keys.pacer_lock()};
  std::vector<std::string> args{std::string(target),
                                std::to_string(a.now_ms),
                                std::to_string(a.n),
                                std::to_string(a.room),
                                std::to_string(a.next_at),
                                a.day,
                                std::to_string(a.cap_today),
                                number(a.rate_per_hour),
                                number(a.factor),
                                a.now_iso,
                                keys.dispatch_prefix(),
                                std::to_string(a.stats_ttl_s),
                                a.list_target.empty() ? std::string(target) : a.list_target,
                                std::to_string(a.cap_next_at),
                                a.lock_token,
                                keys.appending() + ":"};
  if (!a.budget_portfolio.empty() && a.tier_limit > 0) {
    k.push_back(keys.meta_budget(a.budget_portfolio));
    args.push_back(std::to_string(a.tier_limit));
    args.push_back(std::to_string(a.budget_window_ms));
  }
  return script_call(pace_release_script(), k, std::move(args));
}

// The script's reply, or the error that stopped it.
ReleaseResult parse_release(const Reply& r) {
  if (r.is_error()) throw std::runtime_error("pace_release: " + r.str);
  if (!r.is_array() || r.elements.size() < 3 || r.elements.size() > 4) {
    throw std::runtime_error("pace_release: unexpected reply");
  }
  ReleaseResult out;
  out.released = int_or(r.elements[0]);
  out.reason = parse_reason(r.elements[1].str);
  out.released_today = int_or(r.elements[2]);
  out.paused_unreadable = r.elements.size() == 4 && int_or(r.elements[3]) == 1;
  return out;
}

}  // namespace

asio::awaitable<ReleaseResult> release(redis::Connection& conn, const Keys& keys,
                                       std::string_view target, const ReleaseArgs& a) {
  const Reply r = co_await run1(conn, release_call(keys, target, a));
  co_return parse_release(r);
}

namespace {

// The keys a release step reads or writes with plain commands, and the type each must have.
std::vector<std::pair<std::string, std::string_view>> typed_keys(const Keys& keys,
                                                                 std::string_view target,
                                                                 const ReleaseArgs& a) {
  std::vector<std::pair<std::string, std::string_view>> out{{keys.pace(target), "hash"},
                                                            {keys.ready(target), "list"},
                                                            {keys.backlog(target), "zset"},
                                                            {keys.pace_due(), "zset"},
                                                            {keys.paused_campaigns(), "set"}};
  if (!a.budget_portfolio.empty() && a.tier_limit > 0)
    out.emplace_back(keys.meta_budget(a.budget_portfolio), "zset");
  return out;
}

}  // namespace

asio::awaitable<std::vector<std::string>> wrong_type_keys(redis::Connection& conn, const Keys& keys,
                                                          std::string_view target,
                                                          const ReleaseArgs& args) {
  const auto typed = typed_keys(keys, target, args);
  std::vector<Call> calls;
  for (const auto& [key, type] : typed)
    calls.push_back(plain({"TYPE", key}));
  const auto replies = co_await run(conn, std::move(calls));
  std::vector<std::string> out;
  for (std::size_t i = 0; i < typed.size() && i < replies.size(); ++i) {
    const std::string& got = replies[i].str;
    if (got == "none" || got == typed[i].second || replies[i].is_error()) continue;
    out.push_back(typed[i].first + " is a " + got + ", not a " + std::string(typed[i].second));
  }
  co_return out;
}

asio::awaitable<ReleaseBatch> release_many(
    redis::Connection& conn, const Keys& keys,
    const std::vector<std::pair<std::string, ReleaseArgs>>& releases) {
  std::vector<Call> calls;
  calls.reserve(releases.size());
  for (const auto& [target, args] : releases)
    calls.push_back(release_call(keys, target, args));
  const auto replies = co_await run(conn, std::move(calls));
  ReleaseBatch out;
  out.results.resize(releases.size());
  out.errors.resize(releases.size());
  for (std::size_t i = 0; i < replies.size(); ++i) {
    try {
      out.results[i] = parse_release(replies[i]);
    } catch (const std::runtime_error& e) {
      out.errors[i] = e.what();
    }
  }
  co_return out;
}

}  // namespace wa::queue
