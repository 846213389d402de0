#include "core/records.hpp"

#include <cmath>
#include <cstdio>

#include "core/base64.hpp"
#include "core/job.hpp"
#include "core/json_writer.hpp"

namespace wa::core {

namespace {

// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
void civil_from_days(long long z, int& y, unsigned& m, unsigned& d) noexcept {
  z += 719468;
  const long long era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<int>(yoe + era * 400 + (m <= 2 ? 1 : 0));
}

JsonWriter& id_value(JsonWriter& w, const Id& id) {
  return id.numeric ? w.raw(id.text) : w.string(id.text);
}

}  // namespace

std::string iso8601(Seconds t) {
  const long long ms = std::llround(t * 1000.0);
  long long days = ms / 86400000;
  long long rem = ms % 86400000;
  if (rem < 0) {
    rem += 86400000;
    --days;
  }
  int y;
  unsigned mo, d;
  civil_from_days(days, y, mo, d);
  // Written digit by digit: snprintf cost 2 % of the daemon's CPU in the drain benchmark.
  char buf[32];
  char* p = buf;
  const auto put = [&p](long long v, int width) {
    for (int i = width - 1; i >= 0; --i, v /= 10)
      p[i] = static_cast<char>('0' + v % 10);
    p += width;
  };
  if (y < 0 || y > 9999) {  // outside ISO 8601's four digits: as snprintf's %04d would
    p += std::snprintf(buf, sizeof buf, "%04d", y);
  } else {
    put(y, 4);
  }
  *p++ = '-';
  put(mo, 2);
  *p++ = '-';
  put(d, 2);
  *p++ = 'T';
  put(rem / 3600000, 2);
  *p++ = ':';
  put(rem / 60000 % 60, 2);
  *p++ = ':';
  put(rem / 1000 % 60, 2);
  *p++ = '.';
  put(rem % 1000, 3);
  *p++ = 'Z';
  return std::string(buf, p);
}

std::string dispatch_key(std::string_view campaign_id, std::string_view target) {
  std::string k = "wa:dispatch:";
  k += campaign_id;
  k += ':';
  k += target;
  return k;
}

// The decision's `prediction` object (section 4), or null.
static void write_prediction(JsonWriter& w, const std::optional<Prediction>& prediction) {
  if (!prediction) {
    w.null();
    return;
  }
  const Prediction& p = *prediction;
  auto minutes = [&](const std::optional<std::uint64_t>& m) {
    if (m) {
      w.number(*m);
    } else {
      w.null();
    }
  };
  w.begin_object().key("webjs").begin_object();
  w.member("available", p.webjs.available)
      .member("session_count", static_cast<std::uint64_t>(p.webjs.session_count))
      .member("capacity_per_hour", p.webjs.capacity_per_hour)
      .key("estimated_minutes");
  minutes(p.webjs.estimated_minutes);
  w.end_object().key("meta_api").begin_object();
  w.member("available", p.meta_api.available)
      .member("capacity_per_hour", p.meta_api.capacity_per_hour)
      .member("tier_limit", p.meta_api.tier_limit)
      .key("estimated_minutes");
  minutes(p.meta_api.estimated_minutes);
  w.end_object().key("recommended_provider");
  if (p.recommended) {
    w.string(to_string(*p.recommended));
  } else {
    w.null();
  }
  w.end_object();
}

std::string decision_json(const Job& job, const Decision& d, Seconds selected_at,
                          std::optional<Seconds> retry_at,
                          std::span<const std::string_view> warnings) {
  std::string out;
  out.reserve(1536 + 112 * d.distribution.size());  // one allocation for most records
  JsonWriter w(out);
  w.begin_object().member("job_id", job.job_id);
  id_value(w.key("campaign_id"), job.campaign_id);
  id_value(w.key("workspace_id"), job.workspace_id);
  w.member("template_mode", to_string(job.mode));
  if (job.tmpl) {
    w.key("template").begin_object();
    if (!job.tmpl->id_json.empty()) w.key("id").raw(job.tmpl->id_json);
    w.member("status", to_string(job.tmpl->status))
        .member("webjs_compatible", job.tmpl->webjs_compatible)
        .end_object();
  }
  w.member("provider_preference", to_string(job.preference))
      .member("type", to_string(d.type))
      .member("reason", to_string(d.reason))
      .member("confidence", d.confidence);
  w.key("session");
  if (d.session != nullptr) {
    w.begin_object()
        .member("id", d.session->id)
        .member("uuid", d.session->uuid)
        .member("phone_number", d.session->phone_number)
        .member("health_score", d.session->health)
        .member("is_primary", d.session->is_primary)
        .end_object();
  } else {
    w.null();
  }
  w.key("distribution").begin_array();
  for (const Target& t : d.distribution) {
    w.begin_object()
        .member("target", t.target)
        .member("count", t.slice.count)
        .member("key", dispatch_key(job.campaign_id.text, t.target))
        .end_object();
  }
  w.end_array();
  const Factors& f = d.factors;
  w.key("factors")
      .begin_object()
      .member("campaign_mode_score", f.campaign_mode_score)
      .member("session_health_score", f.session_health_score)
      .member("user_preference_score", f.user_preference_score)
      .member("performance_score", f.performance_score)
      .member("weighted_score", f.weighted_score)
      .end_object();
  w.key("prediction");
  write_prediction(w, d.prediction);
  w.member("attempts", job.attempts);
  if (retry_at) w.member("retry_at", iso8601(*retry_at));
  if (!warnings.empty()) {
    w.key("warnings").begin_array();
    for (const std::string_view warning : warnings)
      w.string(warning);
    w.end_array();
  }
  w.member("selected_at", iso8601(selected_at)).end_object();
  return out;
}

std::string dead_entry_json(std::string_view payload, std::string_view error, Seconds failed_at) {
  std::string out;
  out.reserve(payload.size() + error.size() + 96);
  JsonWriter w(out);
  w.begin_object();
  if (is_valid_utf8(payload)) {
    w.member("payload", payload);
  } else {
    w.member("payload_base64", base64_encode(payload));
  }
  w.member("error", error).member("failed_at", iso8601(failed_at)).end_object();
  return out;
}

std::string dead_event_json(std::string_view job_id, const Id& campaign_id,
                            const std::optional<Id>& workspace_id, std::string_view error,
                            Seconds at) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().member("event", "dead").member("job_id", job_id);
  id_value(w.key("campaign_id"), campaign_id);
  w.key("workspace_id");
  if (workspace_id) {
    id_value(w, *workspace_id);
  } else {
    w.null();
  }
  w.member("error", error).member("at", iso8601(at)).end_object();
  return out;
}

std::string alert_json(std::string_view session_id, std::string_view workspace_id,
                       std::span<const Alert> alerts, int health_score, Seconds at) {
  std::string out;
  JsonWriter w(out);
  w.begin_object()
      .member("event", "alert")
      .member("session_id", session_id)
      .member("workspace_id", workspace_id)
      .key("alerts")
      .begin_array();
  for (const Alert& a : alerts) {
    w.begin_object()
        .member("type", to_string(a.type))
        .member("value", a.value)
        .member("threshold", a.threshold)
        .end_object();
  }
  w.end_array().member("health_score", health_score).member("at", iso8601(at)).end_object();
  return out;
}

std::string switch_json(const Id& campaign_id, const SwitchMove& move, Seconds at) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().member("event", "provider_switch");
  id_value(w.key("campaign_id"), campaign_id);
  w.member("from", move.from).key("to").begin_array();
  if (move.moved > 0) {
    for (const Target& t : move.decision.distribution)
      w.string(t.target);
  }
  w.end_array()
      .member("moved", move.moved)
      .member("reason", to_string(move.reason))
      .member("at", iso8601(at))
      .end_object();
  return out;
}

std::string metrics_json(const HealthMetrics& m) {
  std::string out;
  JsonWriter w(out);
  w.begin_object()
      .member("connection_stability", m.connection_stability)
      .member("message_success_rate", m.message_success_rate)
      .member("recent_activity", m.recent_activity)
      .member("error_rate", m.error_rate)
      .member("response_time", m.response_time)
      .member("uptime", m.uptime)
      .end_object();
  return out;
}

}  // namespace wa::core
