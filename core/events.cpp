#include "core/events.hpp"

#include <boost/json.hpp>
#include <cmath>
#include <cstddef>

#include "core/records.hpp"

namespace wa::core {

namespace json = boost::json;

namespace {

std::optional<double> number(const json::value& v) {
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  if (v.is_double() && std::isfinite(v.get_double())) return v.get_double();
  return std::nullopt;
}

// An id given as a non-empty string or an integer.
std::optional<std::string> id_text(const json::value& v) {
  if (v.is_string() && !v.get_string().empty()) return std::string(v.get_string());
  if (v.is_int64() && v.get_int64() >= 0) return std::to_string(v.get_int64());
  if (v.is_uint64()) return std::to_string(v.get_uint64());
  return std::nullopt;
}

const json::value* member(const json::object& o, std::string_view k) {
  const auto* v = o.if_contains(k);
  return v == nullptr || v->is_null() ? nullptr : v;
}

}  // namespace

ParsedEvent parse_event(std::string_view text, Seconds now) {
  ParsedEvent r;
  json::parse_options opt;
  opt.max_depth = 16;
  boost::system::error_code ec;
  // An event fits in this buffer; a larger one continues on the heap.
  alignas(std::max_align_t) unsigned char buffer[4096];
  json::monotonic_resource mr(buffer, sizeof buffer);
  const json::value v = json::parse(text, ec, &mr, opt);
  if (ec || !v.is_object()) {
    r.error = ec ? "event: not valid JSON (" + ec.message() + ")" : "event: expected a JSON object";
    return r;
  }
  const json::object& o = v.get_object();
  Event e;
  std::string problems;
  auto problem = [&](std::string_view p) {
    if (!problems.empty()) problems += "; ";
    problems += p;
  };
  if (const auto* p = member(o, "provider"); p && p->is_string() && p->get_string() == "meta_api") {
    e.meta = true;
  } else if (!(p && p->is_string() && p->get_string() == "webjs")) {
    problem(R"(provider: expected "webjs" or "meta_api")");
  }
  if (const auto* s = member(o, "session_id")) {
    if (auto id = id_text(*s)) {
      e.session_id = std::move(*id);
    } else {
      problem("session_id: expected a non-empty string or an integer");
    }
  } else if (!e.meta) {
    problem("session_id: required for webjs");
  }
  if (const auto* w = member(o, "workspace_id")) {
    if (auto id = id_text(*w)) {
      e.workspace_id = std::move(*id);
    } else {
      problem("workspace_id: expected a non-empty string or an integer");
    }
  } else {
    problem("workspace_id: required");
  }
  const auto* st = member(o, "status");
  const std::string_view status = st && st->is_string() ? std::string_view(st->get_string()) : "";
  if (status == "sent") {
    e.status = EventStatus::sent;
  } else if (status == "delivered") {
    e.status = EventStatus::delivered;
  } else if (status == "read") {
    e.status = EventStatus::read;
  } else if (status == "failed") {
    e.status = EventStatus::failed;
  } else {
    problem(R"(status: expected "sent", "delivered", "read" or "failed")");
  }
  // Bounds keep every sum and bucket index finite: a timing beyond a year (a message delivered
  // to a phone that was off for months still fits), or a time outside 1970…5138, is not a real
  // message outcome.
  constexpr double kMaxTimingMs = 31536000000.0;
  constexpr double kMaxAt = 1e11;
  auto timing = [&](std::string_view key, std::optional<double>& out) {
    if (const auto* t = member(o, key)) {
      const auto n = number(*t);
      if (n && *n >= 0 && *n <= kMaxTimingMs) {
        out = *n;
      } else {
        problem(std::string(key) + ": expected a number of milliseconds 0-31536000000");
      }
    }
  };
  timing("response_time_ms", e.response_time_ms);
  timing("delivery_time_ms", e.delivery_time_ms);
  e.at = now;
  if (const auto* a = member(o, "at")) {
    if (const auto n = number(*a); n && *n >= 0 && *n < kMaxAt) {
      e.at = *n;
    } else {
      problem("at: expected a number of Unix seconds 0-1e11");
    }
  }
  if (!problems.empty()) {
    r.error = std::move(problems);
    return r;
  }
  r.event = std::move(e);
  return r;
}

void add_outcome(WindowStats& w, const Event& e) noexcept {
  ++w.total;
  switch (e.status) {
    case EventStatus::read:
      ++w.read;
      [[fallthrough]];
    case EventStatus::delivered:
      ++w.delivered;
      [[fallthrough]];
    case EventStatus::sent:
      ++w.successful;
      break;
    case EventStatus::failed:
      ++w.failed;
      break;
  }
  if (e.response_time_ms) {
    w.response_time_sum_ms += *e.response_time_ms;
    ++w.response_time_count;
  }
  if (e.delivery_time_ms) {
    w.delivery_time_sum_ms += *e.delivery_time_ms;
    ++w.delivery_time_count;
  }
}

void EventAggregate::add(const Event& e) {
  ++events;
  if (!e.session_id.empty()) {
    const auto minute = static_cast<std::int64_t>(std::floor(e.at / 60.0));
    add_outcome(session_minutes[{e.session_id, minute}], e);
  }
  // utc_day() of the previous event when it falls on the same day (as utc_day rounds: to the ms).
  const long long ms = std::llround(e.at * 1000.0);
  const long long day = ms / 86400000 - (ms % 86400000 < 0 ? 1 : 0);
  if (day != day_ || day_text_.empty()) {
    day_ = day;
    day_text_ = utc_day(e.at);
  }
  add_outcome(daily[{e.workspace_id, e.meta ? "meta_api" : "webjs", day_text_}], e);
}

std::string utc_day(Seconds t) {
  return iso8601(t).substr(0, 10);
}

}  // namespace wa::core
