#include "queue/store.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "core/events.hpp"
#include "core/health.hpp"
#include "core/records.hpp"
#include "queue/job_queue.hpp"

namespace wa::queue {

namespace {
constexpr int kPerformanceDays = 7;
constexpr std::int64_t kHourSeconds = 3600;

std::string seconds_text(core::Seconds t) {
  return std::to_string(static_cast<long long>(t));
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
  add_stats_fields(hset, "", last_hour, true);
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
    WorkspaceData& d = out[ws];
    std::vector<std::string> members;
    for (const Reply& m : r1[at].elements)
      members.push_back(m.str);
    std::sort(members.begin(), members.end());
    d.meta = parse_meta(pairs(r1[at + 1]));
    for (int k = 0; k < kPerformanceDays; ++k) {
      const auto web = parse_daily(pairs(r1[at + 2 + 2 * k]));
      const auto meta = parse_daily(pairs(r1[at + 3 + 2 * k]));
      d.webjs_7d.total += web.total;
      d.webjs_7d.successful += web.successful;
      d.meta_7d.total += meta.total;
      d.meta_7d.successful += meta.successful;
    }
    at += 2 + 2 * kPerformanceDays;
    for (auto& sid : members) {
      round2.push_back(plain({"HGETALL", keys_.session(sid)}));
      round2.push_back(plain({"HGETALL", keys_.session_health(sid)}));
      wanted.emplace_back(ws, std::move(sid));
    }
  }
  const auto r2 = co_await run(conn_, std::move(round2));

  std::vector<std::pair<std::string, std::size_t>> missing_health;  // (ws, index in sessions)
  std::vector<Call> round3;
  for (std::size_t i = 0; i < wanted.size(); ++i) {
    const auto& [ws, sid] = wanted[i];
    WorkspaceData& d = out[ws];
    std::string problem;
    bool health_known = false;
    const Reply& hash = r2[2 * i];
    core::Session s;
    if (hash.is_error()) {
      s.id = sid;
      s.exists = false;
      problem = hash.str;
    } else {
      s = parse_session(sid, pairs(hash), problem, health_known);
    }
    if (!problem.empty()) {
      d.problems.push_back("session " + sid + ": " + problem);
    } else if (!s.exists) {
      d.problems.push_back("session " + sid + ": hash " + keys_.session(sid) + " is missing");
    }
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

asio::awaitable<IngestReport> Store::ingest_events(const std::string& token, std::size_t max,
                                                   core::Seconds now, const config::Config& cfg) {
  IngestReport report;
  Command lrange{"LRANGE", keys_.events(), "0", std::to_string(max - 1)};
  const Reply batch = co_await run1(conn_, plain(std::move(lrange)));
  if (!batch.is_array() || batch.elements.empty()) co_return report;

  core::EventAggregate agg;
  for (const Reply& e : batch.elements) {
    auto parsed = core::parse_event(e.str, now);
    if (parsed.event) {
      agg.add(*parsed.event);
    } else {
      ++report.malformed;
      if (report.errors.size() < 5) report.errors.push_back(std::move(parsed.error));
    }
  }

  std::vector<std::string> ops;
  const std::string stats_ttl = std::to_string(2 * kHourSeconds);
  auto add_fields = [&](const std::string& key, std::string_view prefix, const core::WindowStats& w,
                        bool daily_names) {
    std::vector<std::string> fields;
    if (daily_names) {
      const std::pair<const char*, double> named[] = {
          {"total", static_cast<double>(w.total)},
          {"successful", static_cast<double>(w.successful)},
          {"delivered", static_cast<double>(w.delivered)},
          {"read", static_cast<double>(w.read)},
          {"failed", static_cast<double>(w.failed)},
          {"delivery_time_sum", w.delivery_time_sum_ms},
          {"delivery_time_count", static_cast<double>(w.delivery_time_count)},
          {"response_time_sum", w.response_time_sum_ms},
          {"response_time_count", static_cast<double>(w.response_time_count)},
      };
      for (const auto& [name, v] : named) {
        if (v == 0) continue;
        fields.emplace_back(name);
        char buf[32];
        const auto r = std::to_chars(buf, buf + sizeof buf, v);
        fields.emplace_back(buf, r.ptr);
      }
    } else {
      add_stats_fields(fields, prefix, w);
    }
    for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
      add_op(ops, {"HINCRBYFLOAT", key, fields[i], fields[i + 1]});
    }
  };
  std::string last_session_key;
  for (const auto& [key, w] : agg.session_minutes) {
    const std::string skey = keys_.session_stats(key.first);
    add_fields(skey, std::to_string(key.second) + ":", w, false);
    if (skey != last_session_key) {
      add_op(ops, {"EXPIRE", skey, stats_ttl});
      last_session_key = skey;
    }
  }
  const std::string daily_ttl =
      std::to_string(static_cast<long long>(cfg.analytics.retention_period_days + 1) * 86400);
  for (const auto& [key, w] : agg.daily) {
    const auto& [ws, provider, day] = key;
    const std::string dkey = keys_.daily(ws, provider, day);
    add_fields(dkey, "", w, true);
    add_op(ops, {"EXPIRE", dkey, daily_ttl});
  }
  if (report.malformed > 0) {
    add_op(ops, {"INCRBY", keys_.events_malformed(), std::to_string(report.malformed)});
  }
  std::vector<std::string> args{token, std::to_string(batch.elements.size())};
  for (auto& o : ops)
    args.push_back(std::move(o));
  const std::vector<std::string> apply_keys{keys_.events(), keys_.events_lock()};
  Call apply = script_call(apply_events_script(), apply_keys, std::move(args));
  const Reply r = co_await run1(conn_, std::move(apply));
  if (r.is_error()) throw std::runtime_error("applying events failed: " + r.str);
  if (int_or(r) != 1) {
    report.lock_lost = true;
    report.malformed = 0;
    report.errors.clear();
    co_return report;
  }
  report.consumed = batch.elements.size();
  co_return report;
}

asio::awaitable<bool> Store::hold_lock(const std::string& key, const std::string& token,
                                       std::int64_t ttl_ms) {
  std::vector<Call> calls;
  calls.push_back(plain({"SET", key, token, "NX", "PX", std::to_string(ttl_ms)}));
  const std::vector<std::string> lock_keys{key};
  calls.push_back(script_call(renew_lock_script(), lock_keys, {token, std::to_string(ttl_ms)}));
  const auto r = co_await run(conn_, std::move(calls));
  co_return r[0].is_string() || int_or(r[1]) == 1;
}

asio::awaitable<void> Store::release_lock(const std::string& key, const std::string& token) {
  Command cmd{"EVAL",
              "if redis.call('GET', KEYS[1]) == ARGV[1] then "
              "return redis.call('DEL', KEYS[1]) end return 0",
              "1", key, token};
  (void)co_await run1(conn_, plain(std::move(cmd)));
}

}  // namespace wa::queue
