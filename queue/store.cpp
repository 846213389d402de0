#include "queue/store.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <iterator>

#include "core/events.hpp"
#include "core/health.hpp"
#include "core/records.hpp"
#include "queue/job_queue.hpp"
#include "queue/php_values.hpp"

namespace wa::queue {

namespace {
constexpr int kPerformanceDays = 7;
constexpr std::int64_t kHourSeconds = 3600;

std::string seconds_text(core::Seconds t) {
  return std::to_string(static_cast<long long>(t));
}

// A workspace's first replies (its session set, Meta hash, then the webjs and meta_api daily
// counters of each day), from r[0], into `d`; returns its session ids, sorted. Values the app's
// phpredis serialized are decoded and reported in d.problems.
std::vector<std::string> read_workspace(const Keys& keys, const std::string& ws, const Reply* r,
                                        WorkspaceData& d) {
  PhpValues php;
  std::vector<std::string> members;
  const std::string sessions_key = keys.workspace_sessions(ws);
  for (const Reply& m : r[0].elements)
    members.emplace_back(php.member(sessions_key, m.str));
  std::sort(members.begin(), members.end());
  Fields meta = pairs(r[1]);
  php.fields(keys.workspace_meta(ws), meta);
  d.meta = parse_meta(meta);
  std::move(php.warnings.begin(), php.warnings.end(), std::back_inserter(d.problems));
  for (int k = 0; k < kPerformanceDays; ++k) {
    const auto web = parse_daily(pairs(r[2 + 2 * k]));
    const auto meta_day = parse_daily(pairs(r[3 + 2 * k]));
    d.webjs_7d.total += web.total;
    d.webjs_7d.successful += web.successful;
    d.meta_7d.total += meta_day.total;
    d.meta_7d.successful += meta_day.successful;
  }
  return members;
}

// A session hash as read (HGETALL); what makes it unusable, or PHP-serialized, goes to
// d.problems.
core::Session read_session(const Keys& keys, const std::string& sid, const Reply& hash,
                           WorkspaceData& d, bool& health_known) {
  std::string problem;
  core::Session s;
  health_known = false;
  if (hash.is_error()) {
    s.id = sid;
    s.exists = false;
    problem = hash.str;
  } else {
    Fields fields = pairs(hash);
    PhpValues php;
    php.fields(keys.session(sid), fields);
    std::move(php.warnings.begin(), php.warnings.end(), std::back_inserter(d.problems));
    s = parse_session(sid, fields, problem, health_known);
  }
  if (!problem.empty()) {
    d.problems.push_back("session " + sid + ": " + problem);
  } else if (!s.exists) {
    d.problems.push_back("session " + sid + ": hash " + keys.session(sid) + " is missing");
  }
  return s;
}
}  // namespace

void Store::add_health_writes(std::vector<Call>& calls, const core::Session& s,
                              const core::WindowStats& last_hour, unsigned alert_mask,
                              core::Seconds now, const config::Config& cfg) const {
  calls.push_back(
      script_call(set_health_script(), {keys_.session(s.id)},
                  {std::to_string(s.health), seconds_text(now), core::metrics_json(s.metrics)}));
  const std::string summary = keys_.session_health(s.id);
  Command hset{"HSET",       summary,          "alerts", std::to_string(alert_mask),
               "updated_at", seconds_text(now)};
  // Every counter, zeros included, so the summary is replaced as a whole.
  add_stats_fields(hset, last_hour, true);
  calls.push_back(plain(std::move(hset)));
  const auto ttl = static_cast<long long>(std::ceil(cfg.health.check_interval)) * 2 + kHourSeconds;
  calls.push_back(plain({"EXPIRE", summary, std::to_string(ttl)}));
}

asio::awaitable<std::map<std::string, WorkspaceData>> Store::load_workspaces(
    const std::vector<std::string>& ids, core::Seconds now, const config::Config& cfg) {
  std::map<std::string, WorkspaceData> out;
  if (ids.empty()) co_return out;
  const auto days = last_days(now, kPerformanceDays);

  std::vector<Call> round1;
  for (const auto& ws : ids) {
    round1.push_back(plain({"SMEMBERS", keys_.workspace_sessions(ws)}));
    round1.push_back(plain({"HGETALL", keys_.workspace_meta(ws)}));
    for (const auto& day : days) {
      round1.push_back(plain({"HGETALL", keys_.daily(ws, "webjs", day)}));
      round1.push_back(plain({"HGETALL", keys_.daily(ws, "meta_api", day)}));
    }
  }
  const auto r1 = co_await run(conn_, std::move(round1));

  std::vector<std::pair<std::string, std::string>> wanted;  // (ws, session id)
  std::vector<Call> round2;
  std::size_t at = 0;
  for (const auto& ws : ids) {
    for (auto& sid : read_workspace(keys_, ws, &r1[at], out[ws])) {
      round2.push_back(plain({"HGETALL", keys_.session(sid)}));
      round2.push_back(plain({"HGETALL", keys_.session_health(sid)}));
      wanted.emplace_back(ws, std::move(sid));
    }
    at += 2 + 2 * kPerformanceDays;
  }
  const auto r2 = co_await run(conn_, std::move(round2));

  std::vector<std::pair<std::string, std::size_t>> missing_health;  // (ws, index in sessions)
  std::vector<Call> round3;
  for (std::size_t i = 0; i < wanted.size(); ++i) {
    const auto& [ws, sid] = wanted[i];
    WorkspaceData& d = out[ws];
    bool health_known = false;
    core::Session s = read_session(keys_, sid, r2[2 * i], d, health_known);
    s.last_hour = parse_stats(pairs(r2[2 * i + 1]));
    if (s.exists && !health_known) {
      missing_health.emplace_back(ws, d.sessions.size());
      round3.push_back(plain({"HGETALL", keys_.session_stats(sid)}));
    }
    d.sessions.push_back(std::move(s));
  }
  if (round3.empty()) co_return out;

  const auto r3 = co_await run(conn_, std::move(round3));
  std::vector<Call> writes;
  for (std::size_t i = 0; i < missing_health.size(); ++i) {
    WorkspaceData& d = out[missing_health[i].first];
    core::Session& s = d.sessions[missing_health[i].second];
    s.last_hour = sum_last_hour(pairs(r3[i]), now);
    s.metrics = core::compute_metrics(s, s.last_hour, now);
    s.health = core::health_score(s.metrics, cfg.health.weights);
    ++d.computed;
    add_health_writes(writes, s, s.last_hour, 0, now, cfg);
  }
  (void)co_await run(conn_, std::move(writes));
  co_return out;
}

EventBatch Store::prepare_events(const Reply& events, core::Seconds now,
                                 const config::Config& cfg) const {
  EventBatch b;
  if (!events.is_array() || events.elements.empty()) return b;
  b.count = events.elements.size();
  core::EventAggregate agg;
  for (const Reply& e : events.elements) {
    auto parsed = core::parse_event(e.str, now);
    if (parsed.event) {
      agg.add(*parsed.event);
    } else {
      ++b.malformed;
      if (b.errors.size() >= 5) continue;
      // The app's phpredis client serializes what it pushes: name the option, not the JSON.
      const auto plain = php_serialized_scalar(e.str);
      b.errors.push_back(plain ? php_serialized_warning(keys_.events(), "an event", e.str)
                               : std::move(parsed.error));
    }
  }
  std::vector<std::string>& a = b.args;
  a.reserve(7 + 3 * agg.session_minutes.size() + 2 * agg.daily.size());
  a.push_back(std::to_string(b.count));
  a.push_back(events.elements.back().str);
  a.push_back(std::to_string(2 * kHourSeconds));
  a.push_back(
      std::to_string(static_cast<long long>(cfg.analytics.retention_period_days + 1) * 86400));
  a.push_back(std::to_string(b.malformed));
  a.emplace_back();  // the number of session entries, below
  // One entry per session stats hash: its key, then (minute, packed) pairs; at most
  // kMinutesPerEntry of them (Lua's unpack limit), the same key again for more.
  constexpr std::size_t kMinutesPerEntry = 1000;
  std::size_t entries = 0, count_at = 0, in_entry = 0;
  const std::string* last_session = nullptr;
  for (const auto& [key, w] : agg.session_minutes) {
    if (last_session == nullptr || *last_session != key.first || in_entry == kMinutesPerEntry) {
      if (last_session != nullptr) a[count_at] = std::to_string(in_entry);
      a.push_back(keys_.session_stats(key.first));
      count_at = a.size();
      a.emplace_back();
      in_entry = 0;
      ++entries;
      last_session = &key.first;
    }
    a.push_back(std::to_string(key.second));
    a.push_back(pack_stats(w));
    ++in_entry;
  }
  if (last_session != nullptr) a[count_at] = std::to_string(in_entry);
  a[5] = std::to_string(entries);
  for (const auto& [key, w] : agg.daily) {
    const auto& [ws, provider, day] = key;
    a.push_back(keys_.daily(ws, provider, day));
    a.push_back(pack_stats(w));
  }
  return b;
}

asio::awaitable<EventBatch> Store::read_events(std::size_t max, core::Seconds now,
                                               const config::Config& cfg) {
  Command lrange{"LRANGE", keys_.events(), "0", std::to_string(max - 1)};
  const Reply batch = co_await run1(conn_, plain(std::move(lrange)));
  co_return prepare_events(batch, now, cfg);
}

asio::awaitable<IngestStep> Store::apply_events(const std::string& token, EventBatch batch,
                                                std::size_t max, core::Seconds now,
                                                const config::Config& cfg) {
  IngestStep step;
  // The next batch lies after this one until the apply script (sent next) removes this one.
  std::vector<Call> read;
  read.push_back(plain({"LRANGE", keys_.events(), std::to_string(batch.count),
                        std::to_string(batch.count + max - 1)}));
  Pending next_read(conn_, std::move(read));
  std::vector<std::string> args;
  args.reserve(1 + batch.args.size());
  args.push_back(token);
  std::move(batch.args.begin(), batch.args.end(), std::back_inserter(args));
  const std::vector<std::string> apply_keys{keys_.events(), keys_.events_lock(),
                                            keys_.events_malformed()};
  std::vector<Call> apply;
  apply.push_back(script_call(apply_events_script(), apply_keys, std::move(args)));
  Pending applied(conn_, std::move(apply));

  const auto next = co_await next_read.get();
  EventBatch following = prepare_events(next[0], now, cfg);  // while Redis applies `batch`
  const Reply r = std::move((co_await applied.get())[0]);
  if (r.is_error()) throw std::runtime_error("applying events failed: " + r.str);
  if (!r.is_array() || r.elements.size() != 2) {
    throw std::runtime_error("applying events: unexpected reply from the events script");
  }
  if (int_or(r.elements[0]) != 1) {
    step.report.lock_lost = true;
    co_return step;
  }
  step.report.failed_writes = static_cast<std::size_t>(std::max(0LL, int_or(r.elements[1])));
  step.report.consumed = batch.count;
  step.report.malformed = batch.malformed;
  step.report.errors = std::move(batch.errors);
  step.next = std::move(following);
  co_return step;
}

asio::awaitable<bool> Store::hold_lock(const std::string& key, const std::string& token,
                                       std::int64_t ttl_ms) {
  co_return co_await hold_lock_state(key, token, ttl_ms) != LockState::not_held;
}

asio::awaitable<LockState> Store::hold_lock_state(const std::string& key, const std::string& token,
                                                  std::int64_t ttl_ms) {
  std::vector<Call> calls;
  calls.push_back(plain({"SET", key, token, "NX", "PX", std::to_string(ttl_ms)}));
  const std::vector<std::string> lock_keys{key};
  calls.push_back(script_call(renew_lock_script(), lock_keys, {token, std::to_string(ttl_ms)}));
  const auto r = co_await run(conn_, std::move(calls));
  if (r[0].is_string()) co_return LockState::taken;
  co_return int_or(r[1]) == 1 ? LockState::kept : LockState::not_held;
}

asio::awaitable<void> Store::release_lock(const std::string& key, const std::string& token) {
  Command cmd{"EVAL",
              "if redis.call('GET', KEYS[1]) == ARGV[1] then "
              "return redis.call('DEL', KEYS[1]) end return 0",
              "1", key, token};
  (void)co_await run1(conn_, plain(std::move(cmd)));
}

}  // namespace wa::queue
