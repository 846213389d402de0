#include "queue/store.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <iterator>

#include "core/events.hpp"
#include "core/health.hpp"
#include "core/records.hpp"
#include "core/utf8.hpp"
#include "queue/job_queue.hpp"
#include "queue/php_values.hpp"

namespace wa::queue {

namespace {
constexpr int kPerformanceDays = 7;
constexpr std::int64_t kHourSeconds = 3600;
// A stats hash with more fields is read with HSCAN: below Redis's listpack limit (128 entries by
// default), where one HGETALL is cheap.
constexpr std::size_t kStatsReadWhole = 120;
// Fields per HSCAN step and per HDEL of a big stats hash.
constexpr std::size_t kStatsScanCount = 250;

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
  std::vector<std::string> unread;
  if (r[1].is_error()) unread.push_back("is not a hash (" + r[1].str + "): Meta is not configured");
  d.meta = parse_meta(meta, &unread);
  for (const auto& u : unread)
    d.problems.push_back(keys.workspace_meta(ws) + " " + u);
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

Call Store::stats_read_call(const std::string& id) const {
  const std::vector<std::string> keys{keys_.session_stats(id)};
  return script_call(read_stats_script(), keys, {std::to_string(kStatsReadWhole)});
}

asio::awaitable<core::WindowStats> Store::last_hour_of(const Reply& read, const std::string& id,
                                                       core::Seconds now,
                                                       std::vector<std::string>* stale) {
  if (read.is_integer()) co_return co_await scan_session_stats(id, now);
  co_return sum_last_hour(pairs(read), now, stale);
}

asio::awaitable<core::WindowStats> Store::scan_session_stats(const std::string& id,
                                                             core::Seconds now) {
  const std::string key = keys_.session_stats(id);
  // The fields that may count, by name: HSCAN may return a field twice.
  std::map<std::string, std::string, std::less<>> kept;
  std::vector<std::string> stale;
  std::string cursor = "0";
  do {
    std::vector<Call> calls;
    if (!stale.empty()) {  // the previous step's, deleted on the way
      Command hdel{"HDEL", key};
      std::move(stale.begin(), stale.end(), std::back_inserter(hdel));
      calls.push_back(plain(std::move(hdel)));
      stale.clear();
    }
    calls.push_back(plain({"HSCAN", key, cursor, "COUNT", std::to_string(kStatsScanCount)}));
    const auto replies = co_await run(conn_, std::move(calls));
    const Reply& r = replies.back();
    if (!r.is_array() || r.elements.size() != 2 || !r.elements[1].is_array()) {
      throw std::runtime_error("health: unexpected reply to HSCAN " + key +
                               (r.is_error() ? ": " + r.str : ""));
    }
    cursor = r.elements[0].str;
    const Fields page = pairs(r.elements[1]);
    (void)sum_last_hour(page, now, &stale);  // stale lists the page's fields in page order
    std::size_t next_stale = 0;
    for (const auto& [field, value] : page) {
      if (next_stale < stale.size() && stale[next_stale] == field) {
        ++next_stale;
      } else {
        kept[std::string(field)] = value;
      }
    }
  } while (cursor != "0");
  if (!stale.empty()) {
    Command hdel{"HDEL", key};
    std::move(stale.begin(), stale.end(), std::back_inserter(hdel));
    (void)co_await run1(conn_, plain(std::move(hdel)));
  }
  Fields fields(kept.begin(), kept.end());
  co_return sum_last_hour(fields, now);
}

void Store::note_ill_formed_utf8(const core::Session& s, std::vector<std::string>& problems) {
  std::string fields;
  for (const auto& [name, value] : {std::pair<const char*, const std::string*>{"id", &s.id},
                                    {"uuid", &s.uuid},
                                    {"phone_number", &s.phone_number}}) {
    if (!core::well_formed_utf8(*value)) fields += fields.empty() ? name : std::string(", ") + name;
  }
  if (fields.empty()) return;
  constexpr std::size_t kRemembered = 10000;  // bounded, whatever the data
  if (utf8_reported_.size() >= kRemembered) utf8_reported_.clear();
  if (!utf8_reported_.insert(s.id).second) return;
  problems.push_back("session " + core::escaped_for_log(s.id) + ": " + fields +
                     " not valid UTF-8; written into JSON records with U+FFFD in place of the "
                     "bad bytes");
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
    if (s.exists) note_ill_formed_utf8(s, d.problems);
    s.last_hour = parse_stats(pairs(r2[2 * i + 1]));
    if (s.exists && !health_known) {
      missing_health.emplace_back(ws, d.sessions.size());
      round3.push_back(stats_read_call(sid));
    }
    d.sessions.push_back(std::move(s));
  }
  if (cfg.pacing.enabled && cfg.load_balancing.enable_predictive_analytics) {
    co_await load_pacing(out, now, cfg.pacing.meta_budget_window * 1000);
  }
  if (round3.empty()) co_return out;

  const auto r3 = co_await run(conn_, std::move(round3));
  std::vector<Call> writes;
  for (std::size_t i = 0; i < missing_health.size(); ++i) {
    WorkspaceData& d = out[missing_health[i].first];
    core::Session& s = d.sessions[missing_health[i].second];
    s.last_hour = co_await last_hour_of(r3[i], s.id, now, nullptr);
    s.metrics = core::compute_metrics(s, s.last_hour, now);
    s.health = core::health_score(s.metrics, cfg.health.weights);
    ++d.computed;
    add_health_writes(writes, s, s.last_hour, 0, now, cfg);
  }
  (void)co_await run(conn_, std::move(writes));
  co_return out;
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
