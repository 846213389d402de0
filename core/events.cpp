#include "core/events.hpp"

#include <boost/json.hpp>
#include <charconv>
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

std::string number_text(double v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

// Why `at` lies outside the window of times the daemon keeps statistics for, or "". The window
// also keeps every minute and day index the aggregation computes finite.
std::string time_window_problem(double at, Seconds now, Seconds max_age) {
  if (!(at >= 0)) return "at: " + number_text(at) + " is before 1970";
  if (at > now + kMaxEventAheadSeconds) {
    return "at: " + number_text(at) + " is " + number_text(std::floor(at - now)) +
           " s ahead of now (at most " + number_text(kMaxEventAheadSeconds) + " s accepted)";
  }
  if (at < now - max_age) {
    return "at: " + number_text(at) + " is older than analytics.retention_period_days (" +
           number_text(std::floor(max_age / 86400)) + " days)";
  }
  return {};
}

}  // namespace

namespace {

// The problems of one event, joined with "; ".
struct Problems {
  std::string text;
  void add(std::string_view p) {
    if (!text.empty()) text += "; ";
    text += p;
  }
};

void read_ids(const json::object& o, Event& e, Problems& problem) {
  if (const auto* p = member(o, "provider"); p && p->is_string() && p->get_string() == "meta_api") {
    e.meta = true;
  } else if (!(p && p->is_string() && p->get_string() == "webjs")) {
    problem.add(R"(provider: expected "webjs" or "meta_api")");
  }
  if (const auto* s = member(o, "session_id")) {
    if (auto id = id_text(*s)) {
      e.session_id = std::move(*id);
    } else {
      problem.add("session_id: expected a non-empty string or an integer");
    }
  } else if (!e.meta) {
    problem.add("session_id: required for webjs");
  }
  if (const auto* w = member(o, "workspace_id")) {
    if (auto id = id_text(*w)) {
      e.workspace_id = std::move(*id);
    } else {
      problem.add("workspace_id: expected a non-empty string or an integer");
    }
  } else {
    problem.add("workspace_id: required");
  }
}

void read_status(const json::object& o, Event& e, Problems& problem) {
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
    problem.add(R"(status: expected "sent", "delivered", "read" or "failed")");
  }
}

void read_times(const json::object& o, Event& e, Seconds now, Seconds max_age, Problems& problem) {
  // Bounds keep every sum finite: a timing beyond a year (a message delivered to a phone that
  // was off for months still fits) is not a real message outcome. Times: time_window_problem.
  constexpr double kMaxTimingMs = 31536000000.0;
  auto timing = [&](std::string_view key, std::optional<double>& out) {
    if (const auto* t = member(o, key)) {
      const auto n = number(*t);
      if (n && *n >= 0 && *n <= kMaxTimingMs) {
        out = *n;
      } else {
        problem.add(std::string(key) + ": expected a number of milliseconds 0-31536000000");
      }
    }
  };
  timing("response_time_ms", e.response_time_ms);
  timing("delivery_time_ms", e.delivery_time_ms);
  e.at = now;
  if (const auto* a = member(o, "at")) {
    if (const auto n = number(*a); !n) {
      problem.add("at: expected a number of Unix seconds");
    } else if (auto p = time_window_problem(*n, now, max_age); !p.empty()) {
      problem.add(p);
    } else {
      e.at = *n;
    }
  }
}

}  // namespace

ParsedEvent parse_event(std::string_view text, Seconds now, Seconds max_age) {
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
  Problems problems;
  read_ids(o, e, problems);
  read_status(o, e, problems);
  read_times(o, e, now, max_age, problems);
  if (!problems.text.empty()) {
    r.error = std::move(problems.text);
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
    if (minute >= first_session_minute) add_outcome(session_minutes[{e.session_id, minute}], e);
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
