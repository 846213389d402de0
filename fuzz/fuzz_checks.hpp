// The invariants the fuzzers check (issue 5), shared by the libFuzzer targets in fuzz/ and by
// tests/fuzz_regression_test.cpp, which replays every input saved under fuzz/regressions/.
//
// Each check takes the raw input bytes and returns "" when every invariant holds, else a
// description of the first one broken. Crashes, sanitizer reports and exceptions are not caught
// here: the fuzzer (or the test) sees them as they are.
#pragma once

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include "config/config.hpp"
#include "core/backoff.hpp"
#include "core/base64.hpp"
#include "core/events.hpp"
#include "core/health.hpp"
#include "core/job.hpp"
#include "core/records.hpp"
#include "core/select.hpp"
#include "core/types.hpp"

namespace wa::fuzz {

namespace detail {

namespace json = boost::json;

// A fixed "now" (2026-11-19T06:13:20Z): the checks are deterministic.
inline constexpr core::Seconds kNow = 1'795'500'800;

// A double as %g (std::to_string writes every digit of 1e308).
inline std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

inline std::string shorten(std::string_view s) {
  constexpr std::size_t kMax = 160;
  std::string out(s.substr(0, kMax));
  if (s.size() > kMax) out += "...";
  return out;
}

// FNV-1a of the input: picks a workspace/config variant without consuming input bytes.
inline std::uint64_t fnv1a(std::string_view data) {
  std::uint64_t h = 1469598103934665603ULL;
  for (const char c : data) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

// Parses a record the daemon writes: it must be valid UTF-8 and a JSON object.
inline std::string parse_record(std::string_view what, const std::string& text, json::object& out) {
  if (!core::is_valid_utf8(text)) return std::string(what) + ": not valid UTF-8: " + shorten(text);
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return std::string(what) + ": not valid JSON (" + ec.message() + "): " + shorten(text);
  if (!v.is_object()) return std::string(what) + ": not a JSON object: " + shorten(text);
  out = std::move(v.get_object());
  return "";
}

// An id echoed with the JSON type it came in.
inline bool id_matches(const json::value* v, const core::Id& id) {
  if (v == nullptr) return false;
  if (id.numeric) return v->is_int64() && std::to_string(v->get_int64()) == id.text;
  return v->is_string() && v->get_string() == id.text;
}

inline bool string_member_is(const json::object& o, std::string_view key, std::string_view want) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() && v->get_string() == want;
}

inline std::string check_id(std::string_view field, const core::Id& id) {
  if (id.text.empty()) return std::string(field) + ": empty id text";
  if (!core::is_valid_utf8(id.text)) return std::string(field) + ": id text not UTF-8";
  if (id.numeric) {
    if (id.text.size() > 19 || id.text.front() == '0' ||
        !std::all_of(id.text.begin(), id.text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return std::string(field) + ": numeric id is not 1..2^63-1: " + id.text;
    }
  }
  return "";
}

// What a valid job must look like.
inline std::string check_job_shape(const core::Job& job) {
  if (job.job_id.empty()) return "job: empty job_id";
  if (auto e = check_id("campaign_id", job.campaign_id); !e.empty()) return "job: " + e;
  if (auto e = check_id("workspace_id", job.workspace_id); !e.empty()) return "job: " + e;
  if (job.attempts < 0) return "job: negative attempts";
  if (job.mode == core::TemplateMode::template_ && !job.tmpl)
    return "job: template mode without template";
  if (job.contacts_key) {
    if (job.contacts_key->empty()) return "job: empty contacts_key";
    if (!job.contacts.empty()) return "job: both contacts_key and contacts";
  }
  for (const std::string& c : job.contacts) {
    if (c.empty() || c.size() > core::kMaxContactBytes || !core::is_valid_utf8(c)) {
      return "job: bad contact id " + shorten(c);
    }
  }
  return "";
}

inline bool same_job(const core::Job& a, const core::Job& b) {
  return a.campaign_id == b.campaign_id && a.workspace_id == b.workspace_id && a.mode == b.mode &&
         a.preference == b.preference && a.tmpl == b.tmpl && a.contacts_key == b.contacts_key &&
         a.contacts == b.contacts;
}

// The payload the daemon re-queues after a `queue` decision parses back to the same job with one
// more attempt, twice in a row (a job can be re-queued many times).
inline std::string check_rewrite(std::string_view payload, const core::Job& job) {
  std::string current(payload);
  core::Job before = job;
  for (int round = 1; round <= 2; ++round) {
    const core::RetryPlan plan = core::plan_retry(before.attempts, false, config::Retry{}, 0.5);
    const std::string rewritten = core::rewrite_payload(
        current, before.job_id_derived ? before.job_id : std::string(), plan.attempts);
    const core::ParsedJob back = core::parse_job(rewritten);
    const std::string where = "rewrite_payload (round " + std::to_string(round) + ")";
    if (!back.job) {
      return where + ": no longer a valid job (" + shorten(back.error) + "): " + shorten(rewritten);
    }
    if (!same_job(*back.job, job)) return where + ": the job changed: " + shorten(rewritten);
    if (back.job->attempts != plan.attempts) {
      return where + ": attempts " + std::to_string(back.job->attempts) + ", expected " +
             std::to_string(plan.attempts);
    }
    if (back.job->job_id != job.job_id || back.job->job_id_derived) {
      return where + ": job_id " + shorten(back.job->job_id) + ", expected " + job.job_id;
    }
    current = rewritten;
    before = *back.job;
  }
  return "";
}

inline core::Session session(std::string id, bool primary, core::SessionStatus status,
                             std::uint64_t sent, std::uint64_t failed, double response_ms) {
  core::Session s;
  s.id = std::move(id);
  s.uuid = "0b4c1f6e-" + s.id;
  s.phone_number = "+15550100";
  s.status = status;
  s.is_active = true;
  s.is_primary = primary;
  s.created_at = kNow - 86400 * 30;
  s.last_connected_at = kNow - 86400;
  s.last_activity_at = kNow - 120;
  s.last_hour.total = sent + failed;
  s.last_hour.successful = sent;
  s.last_hour.delivered = sent;
  s.last_hour.failed = failed;
  s.last_hour.response_time_sum_ms = response_ms * static_cast<double>(sent + failed);
  s.last_hour.response_time_count = sent + failed;
  s.metrics = core::compute_metrics(s, s.last_hour, kNow);
  s.health = core::health_score(s.metrics, config::HealthWeights{});
  return s;
}

// A workspace like the demo's Acme: a strong primary, a weaker one whose id needs escaping, a
// disconnected phone and a stale id without a hash.
inline const std::vector<core::Session>& sessions() {
  static const std::vector<core::Session> all = [] {
    std::vector<core::Session> v;
    v.push_back(session("s1", true, core::SessionStatus::connected, 600, 2, 800));
    v.push_back(
        session("s2 \"\xc3\xa9\"\\\n", false, core::SessionStatus::connected, 300, 20, 2500));
    v.push_back(session("s3", false, core::SessionStatus::disconnected, 0, 0, 0));
    core::Session gone;
    gone.id = "gone";
    gone.exists = false;
    v.push_back(gone);
    v.push_back(session("s5", true, core::SessionStatus::connected, 50, 0, 400));
    return v;
  }();
  return all;
}

// The decision for a valid job over one of a few workspaces and configs, and its record.
inline std::string check_decision(const core::Job& job, std::uint64_t variant) {
  config::Config cfg;
  constexpr std::array<config::Strategy, 3> kStrategies{config::Strategy::weighted_capacity,
                                                        config::Strategy::health_score,
                                                        config::Strategy::round_robin};
  cfg.load_balancing.strategy = kStrategies[variant % 3];
  cfg.load_balancing.enable_predictive_analytics = (variant >> 2) % 4 != 0;
  core::WorkspaceView ws;
  if ((variant >> 4) % 3 != 0) ws.sessions = sessions();
  ws.meta.configured = (variant >> 6) % 2 == 0;
  ws.webjs_7d.total = 1000;
  ws.webjs_7d.successful = 950;

  std::uint64_t contacts = job.contacts.size();
  if (job.contacts_key) {
    constexpr std::array<std::uint64_t, 5> kCounts{0, 1, 2500, 10'000, 1'000'000};
    contacts = kCounts[(variant >> 7) % kCounts.size()];
  }
  const core::Decision d = core::decide(core::spec_of(job), contacts, ws, cfg);

  std::uint64_t sum = 0;
  for (const core::Target& t : d.distribution) {
    if (t.slice.count == 0) return "decide: a target without contacts";
    if (t.slice.stride == 0 || t.slice.position(t.slice.count - 1) >= contacts) {
      return "decide: a slice beyond the contacts";
    }
    sum += t.slice.count;
  }
  if (d.type == core::DecisionType::queue ? !d.distribution.empty() : sum != contacts) {
    return "decide: " + std::to_string(sum) + " of " + std::to_string(contacts) +
           " contacts distributed for a " + std::string(core::to_string(d.type)) + " decision";
  }
  if (d.type == core::DecisionType::webjs && d.session == nullptr) {
    return "decide: webjs decision without a session";
  }
  if (d.type != core::DecisionType::queue && job.contacts_key == std::nullopt &&
      contacts <= 100'000) {
    // Every contact lands in exactly one list.
    std::vector<bool> seen(contacts, false);
    for (const core::Target& t : d.distribution) {
      for (std::uint64_t k = 0; k < t.slice.count; ++k) {
        if (seen[t.slice.position(k)]) return "decide: a contact in two lists";
        seen[t.slice.position(k)] = true;
      }
    }
  }

  std::optional<core::Seconds> retry_at;
  if (d.type == core::DecisionType::queue && !d.permanent) {
    retry_at = kNow + core::backoff_delay(job.attempts + (job.attempts < INT64_MAX ? 1 : 0),
                                          cfg.retry, 0.5);
  }
  const std::string record = core::decision_json(job, d, kNow, retry_at);
  json::object o;
  if (auto e = parse_record("decision_json", record, o); !e.empty()) return e;
  if (!string_member_is(o, "job_id", job.job_id)) return "decision_json: job_id not echoed";
  if (!id_matches(o.if_contains("campaign_id"), job.campaign_id) ||
      !id_matches(o.if_contains("workspace_id"), job.workspace_id)) {
    return "decision_json: ids not echoed with their JSON type: " + shorten(record);
  }
  if (!string_member_is(o, "type", core::to_string(d.type))) return "decision_json: wrong type";
  const json::value* attempts = o.if_contains("attempts");
  if (attempts == nullptr || !attempts->is_int64() || attempts->get_int64() != job.attempts) {
    return "decision_json: attempts not echoed";
  }
  const json::value* dist = o.if_contains("distribution");
  if (dist == nullptr || !dist->is_array() || dist->get_array().size() != d.distribution.size()) {
    return "decision_json: distribution does not match the decision";
  }
  if (d.prediction) {
    // An estimate, when given, is the whole minutes the contacts need at the forecast capacity.
    const auto& p = *d.prediction;
    const auto close = [](const std::optional<std::uint64_t>& m, double exact) {
      if (!m) return true;
      const double got = static_cast<double>(*m);
      return std::abs(got - std::ceil(exact)) <= 1 + 1e-9 * std::max(1.0, exact);
    };
    if (p.webjs.estimated_minutes && p.webjs.capacity_per_hour > 0 &&
        !close(p.webjs.estimated_minutes,
               static_cast<double>(contacts) * 60.0 / p.webjs.capacity_per_hour)) {
      return "decide: webjs estimated_minutes " + std::to_string(*p.webjs.estimated_minutes) +
             " for " + std::to_string(contacts) + " contacts at " + num(p.webjs.capacity_per_hour) +
             "/h";
    }
  }
  return "";
}

inline std::string check_dead_records(std::string_view payload, const core::ParsedJob& r,
                                      const std::string& error) {
  const std::string entry = core::dead_entry_json(payload, error, kNow);
  json::object o;
  if (auto e = parse_record("dead_entry_json", entry, o); !e.empty()) return e;
  if (const json::value* p = o.if_contains("payload")) {
    if (!p->is_string() || p->get_string() != payload) return "dead_entry_json: payload altered";
  } else if (const json::value* b = o.if_contains("payload_base64")) {
    if (!b->is_string()) return "dead_entry_json: payload_base64 not a string";
    const std::string_view text(b->get_string());
    const auto decoded = core::base64_decode(text);
    if (text.size() % 4 != 0 || !decoded || *decoded != payload) {
      return "dead_entry_json: payload_base64 is not padded base64 of the payload";
    }
  } else {
    return "dead_entry_json: no payload";
  }
  if (!string_member_is(o, "error", error)) return "dead_entry_json: error altered";

  if (r.campaign_id) {
    const std::string event =
        core::dead_event_json(r.job_id, *r.campaign_id, r.workspace_id, error, kNow);
    json::object ev;
    if (auto e = parse_record("dead_event_json", event, ev); !e.empty()) return e;
    if (!string_member_is(ev, "event", "dead") || !string_member_is(ev, "job_id", r.job_id) ||
        !string_member_is(ev, "error", error)) {
      return "dead_event_json: fields altered: " + shorten(event);
    }
    if (!id_matches(ev.if_contains("campaign_id"), *r.campaign_id)) {
      return "dead_event_json: campaign_id not echoed with its JSON type";
    }
    const json::value* ws = ev.if_contains("workspace_id");
    if (r.workspace_id ? !id_matches(ws, *r.workspace_id) : (ws == nullptr || !ws->is_null())) {
      return "dead_event_json: workspace_id not echoed";
    }
  }
  return "";
}

// The same bytes read as a message outcome event of wa:events, then aggregated as the daemon
// does.
inline std::string check_event(std::string_view data) {
  constexpr core::Seconds kMaxAge = 30 * 86400;
  const core::ParsedEvent p = core::parse_event(data, kNow, kMaxAge);
  if (!p.event) {
    if (p.error.empty()) return "parse_event: invalid without an error";
    if (!core::is_valid_utf8(p.error)) return "parse_event: error not UTF-8";
    return "";
  }
  if (!p.error.empty()) return "parse_event: valid with an error";
  const core::Event& e = *p.event;
  if (e.workspace_id.empty()) return "parse_event: empty workspace_id";
  if (!e.meta && e.session_id.empty()) return "parse_event: webjs event without session_id";
  for (const auto& t : {e.response_time_ms, e.delivery_time_ms}) {
    if (t && !(std::isfinite(*t) && *t >= 0)) return "parse_event: bad timing";
  }
  // Accepted times lie within the window the daemon keeps statistics for.
  if (!(e.at >= kNow - kMaxAge && e.at <= kNow + core::kMaxEventAheadSeconds)) {
    return "parse_event: accepted at=" + num(e.at) + ", outside the retention window";
  }
  // The aggregation keys events by minute (int64) and by UTC day (iso8601 rounds to int64 ms):
  // an accepted time must fit.
  if (!(std::isfinite(e.at) && std::abs(e.at) < 9.2e15)) {
    return "parse_event: accepted at=" + num(e.at) +
           ", outside the range the aggregation can key (int64 milliseconds)";
  }
  // Two such events in one batch: the sums go to Redis as HINCRBYFLOAT increments, which must be
  // finite (Redis rejects "inf", failing the whole batch, which is then read again and again).
  core::EventAggregate agg;
  agg.add(e);
  agg.add(e);
  if (agg.daily.size() != 1 || agg.session_minutes.size() != (e.session_id.empty() ? 0u : 1u)) {
    return "EventAggregate: wrong number of buckets";
  }
  const core::WindowStats& w = agg.daily.begin()->second;
  if (!std::isfinite(w.response_time_sum_ms) || !std::isfinite(w.delivery_time_sum_ms)) {
    return "EventAggregate: two events with response_time_ms/delivery_time_ms " +
           num(e.response_time_ms.value_or(0)) + "/" + num(e.delivery_time_ms.value_or(0)) +
           " sum to a non-finite HINCRBYFLOAT increment";
  }
  return "";
}

// Documented ranges (config/wa-routerd.yaml) of a configuration the loader accepted.
inline bool valid_port_text(std::string_view t) {
  if (t.empty() || t.size() > 5) return false;
  int port = 0;
  for (const char c : t) {
    if (c < '0' || c > '9') return false;
    port = port * 10 + (c - '0');
  }
  return port >= 1 && port <= 65535;
}

inline bool valid_listen(const std::string& t) {
  if (t.empty()) return true;
  const auto colon = t.rfind(':');
  if (colon == std::string::npos || !valid_port_text(std::string_view(t).substr(colon + 1))) {
    return false;
  }
  const std::string host = t.substr(0, colon);
  if (host == "localhost") return true;
  unsigned char addr[16];
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    return inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), addr) == 1;
  }
  return inet_pton(AF_INET, host.c_str(), addr) == 1;
}

inline std::string check_ranges(const config::Config& c) {
  std::string bad;
  const auto need = [&bad](bool ok, const char* what) {
    if (!ok && bad.empty())
      bad = std::string("accepted config breaks its documented range: ") + what;
  };
  const auto positive = [](double v) { return std::isfinite(v) && v > 0; };
  const auto percent = [](double v) { return std::isfinite(v) && v >= 0 && v <= 100; };
  const auto non_negative = [](double v) { return std::isfinite(v) && v >= 0; };

  need(!c.redis.host.empty() || !c.redis.unix_socket.empty(), "redis.host non-empty");
  need(c.redis.port >= 1 && c.redis.port <= 65535, "redis.port 1-65535");
  need(c.redis.db >= 0 && c.redis.db <= 15, "redis.db 0-15");
  for (const std::string& s : c.redis.sentinels) {
    const auto colon = s.rfind(':');
    need(colon != std::string::npos && colon > 0 &&
             valid_port_text(std::string_view(s).substr(colon + 1)),
         "redis.sentinels host:port");
  }
  need(c.redis.sentinels.empty() || !c.redis.master_name.empty(), "redis.master_name");
  need(!c.queue.name.empty(), "queue.name non-empty");
  constexpr double kTenYears = 315360000;  // the bound of every time span
  need(c.queue.lease_seconds >= 1 && c.queue.lease_seconds <= kTenYears,
       "queue.lease_seconds 1-315360000");
  need(c.queue.batch_size >= 1 && c.queue.batch_size <= 10000, "queue.batch_size 1-10000");
  need(c.queue.max_deliveries >= 1, "queue.max_deliveries >= 1");
  need(c.results.ttl_seconds >= 1 && c.results.ttl_seconds <= kTenYears,
       "results.ttl_seconds 1-315360000");
  need(positive(c.retry.base_delay) && c.retry.base_delay <= kTenYears,
       "retry.base_delay > 0 and <= 315360000");
  need(positive(c.retry.max_delay) && c.retry.max_delay <= kTenYears,
       "retry.max_delay > 0 and <= 315360000");
  need(c.retry.jitter >= 0 && c.retry.jitter < 1, "retry.jitter 0 <= jitter < 1");
  need(c.retry.max_attempts >= 1, "retry.max_attempts >= 1");
  const auto& st = c.selection.switch_thresholds;
  need(percent(st.error_rate_threshold), "selection.switch_thresholds.error_rate_threshold");
  need(positive(st.response_time_threshold), "selection.switch_thresholds.response_time_threshold");
  need(st.health_score_threshold >= 0 && st.health_score_threshold <= 100,
       "selection.switch_thresholds.health_score_threshold 0-100");
  const auto& h = c.health;
  need(positive(h.check_interval) && h.check_interval <= kTenYears,
       "health.check_interval > 0 and <= 315360000");
  need(h.min_score_primary >= 0 && h.min_score_primary <= 100, "health.min_score_primary 0-100");
  need(h.min_score_secondary >= 0 && h.min_score_secondary <= 100,
       "health.min_score_secondary 0-100");
  need(h.min_score_secondary <= h.min_score_primary, "min_score_secondary <= min_score_primary");
  need(h.max_sessions_per_workspace >= 1 && h.max_sessions_per_workspace <= 1000,
       "health.max_sessions_per_workspace 1-1000");
  const auto& w = h.weights;
  need(non_negative(w.connection_stability) && non_negative(w.message_success_rate) &&
           non_negative(w.recent_activity) && non_negative(w.error_rate) &&
           non_negative(w.response_time) && non_negative(w.uptime),
       "health.weights.* >= 0");
  need(w.connection_stability + w.message_success_rate + w.recent_activity + w.response_time +
               w.uptime >
           0,
       "health.weights: positive sum");
  const int strategy = static_cast<int>(c.load_balancing.strategy);
  need(strategy >= 0 && strategy <= 2, "load_balancing.strategy");
  need(positive(c.load_balancing.base_capacity), "load_balancing.base_capacity > 0");
  need(c.analytics.retention_period_days >= 1 && c.analytics.retention_period_days <= 3650,
       "analytics.retention_period_days 1-3650");
  const auto& at = c.analytics.alert_thresholds;
  need(percent(at.high_error_rate), "analytics.alert_thresholds.high_error_rate 0-100");
  need(positive(at.slow_delivery), "analytics.alert_thresholds.slow_delivery > 0");
  need(percent(at.low_success_rate), "analytics.alert_thresholds.low_success_rate 0-100");
  need(valid_listen(c.metrics.listen), "metrics.listen");
  constexpr std::array<std::string_view, 7> kLevels{"trace", "debug",    "info", "warn",
                                                    "error", "critical", "off"};
  need(std::find(kLevels.begin(), kLevels.end(), c.logging.level) != kLevels.end(),
       "logging.level");
  const int format = static_cast<int>(c.logging.format);
  need(format >= 0 && format <= 1, "logging.format");
  return bad;
}

// An accepted configuration drives the engine without undefined behaviour and with sane
// results: health scores 0-100, retry delays within [0, (1 + jitter) * max_delay], and decisions
// (selection, balancing, prediction) over the fixed workspace whose records are valid JSON.
inline std::string check_engine(const config::Config& c) {
  for (const auto& m :
       {core::HealthMetrics{100, 100, 100, 0, 100, 100}, core::HealthMetrics{0, 0, 0, 100, 0, 0},
        core::HealthMetrics{50, 80, 60, 12.5, 90, 75}}) {
    const int score = core::health_score(m, c.health.weights);
    if (score < 0 || score > 100) return "health_score out of 0-100: " + std::to_string(score);
  }
  for (const std::int64_t taken :
       {std::int64_t{0}, std::int64_t{1}, std::int64_t{c.retry.max_attempts} - 2,
        std::int64_t{c.retry.max_attempts} - 1}) {
    for (const double unit : {0.0, 0.5, 1.0}) {
      const core::RetryPlan plan =
          core::plan_retry(std::max<std::int64_t>(0, taken), false, c.retry, unit);
      if (plan.dead) continue;
      const double cap = c.retry.max_delay * (1 + c.retry.jitter);
      if (!(plan.delay_seconds >= 0 && plan.delay_seconds <= cap * (1 + 1e-12))) {
        return "plan_retry: delay " + num(plan.delay_seconds) + " outside [0, " + num(cap) + "]";
      }
    }
  }
  core::Job job;
  job.job_id = "fuzz-config";
  job.campaign_id = {"42", true};
  job.workspace_id = {"ws-7", false};
  constexpr std::uint64_t kContacts = 1000;  // counted only: decide() never reads the ids
  std::vector<core::Session> sessions = detail::sessions();
  for (core::Session& s : sessions) {
    if (s.exists) s.health = core::health_score(s.metrics, c.health.weights);
  }
  core::WorkspaceView ws;
  ws.sessions = sessions;
  ws.meta.configured = true;
  for (const auto mode : {core::TemplateMode::direct, core::TemplateMode::template_}) {
    job.mode = mode;
    job.tmpl = core::Template{"3", core::TemplateStatus::approved, true};
    const core::Decision d = core::decide(core::spec_of(job), kContacts, ws, c);
    std::uint64_t sum = 0;
    for (const core::Target& t : d.distribution)
      sum += t.slice.count;
    if (d.type != core::DecisionType::queue && sum != kContacts) {
      return "decide: " + std::to_string(sum) + " of 1000 contacts distributed";
    }
    if (d.prediction) {
      const auto& p = *d.prediction;
      if (p.webjs.estimated_minutes && p.webjs.capacity_per_hour > 0) {
        const double exact = static_cast<double>(kContacts) * 60.0 / p.webjs.capacity_per_hour;
        if (std::abs(static_cast<double>(*p.webjs.estimated_minutes) - std::ceil(exact)) >
            1 + 1e-9 * exact) {
          return "decide: webjs estimated_minutes " + std::to_string(*p.webjs.estimated_minutes) +
                 " for 1000 contacts at " + num(p.webjs.capacity_per_hour) + "/h";
        }
      }
    }
    json::object o;
    if (auto e = parse_record("decision_json", core::decision_json(job, d, kNow, std::nullopt), o);
        !e.empty()) {
      return e;
    }
  }
  return "";
}

}  // namespace detail

// parse_job on arbitrary bytes, with every record the daemon derives from the result; and
// parse_event (plus the event aggregation) on the same bytes.
inline std::string check_job_bytes(std::string_view data) {
  const core::ParsedJob r = core::parse_job(data);
  if (r.job_id.empty()) return "parse_job: empty job_id";
  if (!core::is_valid_utf8(r.job_id)) return "parse_job: job_id not UTF-8";
  if (!core::is_valid_utf8(r.error)) return "parse_job: error not UTF-8";
  if (r.campaign_id) {
    if (auto e = detail::check_id("campaign_id", *r.campaign_id); !e.empty()) return e;
  }
  if (r.workspace_id) {
    if (auto e = detail::check_id("workspace_id", *r.workspace_id); !e.empty()) return e;
  }
  std::string dead_error = r.error;
  if (r.job) {
    const core::Job& job = *r.job;
    if (!r.error.empty()) return "parse_job: valid job with an error: " + r.error;
    if (job.job_id != r.job_id || !r.campaign_id || job.campaign_id != *r.campaign_id ||
        !r.workspace_id || job.workspace_id != *r.workspace_id) {
      return "parse_job: job and result disagree";
    }
    if (auto e = detail::check_job_shape(job); !e.empty()) return e;
    if (auto e = detail::check_rewrite(data, job); !e.empty()) return e;
    if (auto e = detail::check_decision(job, detail::fnv1a(data)); !e.empty()) return e;
    dead_error = "not served after 10 attempts (last reason: no_provider_available)";
  } else if (r.error.empty()) {
    return "parse_job: invalid without an error";
  }
  if (auto e = detail::check_dead_records(data, r, dead_error); !e.empty()) return e;
  return detail::check_event(data);
}

// load_from_string on arbitrary bytes: a ConfigError naming every problem, or a configuration
// within its documented ranges that the engine can use. Any other exception is a bug.
inline std::string check_config_bytes(std::string_view data) {
  config::Config c;
  try {
    c = config::load_from_string(std::string(data), "<fuzz>");
  } catch (const config::ConfigError& e) {
    // what() is printed by --check-config and logged on reload: every problem, one per line.
    if (e.problems().empty()) return "ConfigError without problems";
    std::string joined;
    for (const std::string& p : e.problems()) {
      if (p.empty()) return "ConfigError with an empty problem";
      if (std::any_of(p.begin(), p.end(), [](char ch) { return ch >= 0 && ch < 0x20; })) {
        return "ConfigError problem with a raw control character (not one printable line): " +
               detail::json::serialize(detail::json::string(p));
      }
      joined += (joined.empty() ? "" : "\n") + p;
    }
    if (joined != e.what()) return "ConfigError::what() is not its problems, one per line";
    return "";
  } catch (const std::exception& e) {
    return std::string("load_from_string threw ") + typeid(e).name() + ": " + e.what();
  } catch (...) {
    return "load_from_string threw a non-std exception";
  }
  if (auto e = detail::check_ranges(c); !e.empty()) return e;
  return detail::check_engine(c);
}

}  // namespace wa::fuzz
