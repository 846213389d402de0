#include "queue/codec.hpp"

#include <algorithm>
#include <bit>
#include <boost/json.hpp>
#include <charconv>
#include <cmath>

namespace wa::queue {

namespace json = boost::json;

std::optional<double> to_number(std::string_view s) {
  while (!s.empty() && s.front() == ' ')
    s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ')
    s.remove_suffix(1);
  if (s.empty()) return std::nullopt;
  double v = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

namespace {

const std::string_view* find(const Fields& f, std::string_view name) {
  for (const auto& [k, v] : f) {
    if (k == name) return &v;
  }
  return nullptr;
}

bool flag(const Fields& f, std::string_view name) {
  const std::string_view* v = find(f, name);
  return v != nullptr && (*v == "1" || *v == "true");
}

// An optional time field: missing or empty is nullopt; unreadable sets the problem.
std::optional<double> time_field(const Fields& f, std::string_view name, std::string& problem) {
  const std::string_view* v = find(f, name);
  if (v == nullptr || v->empty()) return std::nullopt;
  auto n = to_number(*v);
  if (!n && problem.empty()) {
    problem = std::string(name) + ": not a Unix time: \"" + std::string(*v) + "\"";
  }
  return n;
}

std::optional<core::HealthMetrics> parse_metrics(std::string_view text) {
  boost::system::error_code ec;
  const json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const json::object& o = v.get_object();
  core::HealthMetrics m;
  const std::pair<const char*, double*> fields[] = {
      {"connection_stability", &m.connection_stability},
      {"message_success_rate", &m.message_success_rate},
      {"recent_activity", &m.recent_activity},
      {"error_rate", &m.error_rate},
      {"response_time", &m.response_time},
      {"uptime", &m.uptime},
  };
  for (const auto& [name, out] : fields) {
    const json::value* x = o.if_contains(name);
    if (x == nullptr || !x->is_number()) return std::nullopt;
    *out = x->to_number<double>();
  }
  return m;
}

}  // namespace

core::Session parse_session(std::string_view id, const Fields& f, std::string& problem,
                            bool& health_known) {
  core::Session s;
  s.id = std::string(id);
  health_known = false;
  if (f.empty()) {
    s.exists = false;
    return s;
  }
  if (const auto* v = find(f, "uuid")) s.uuid = std::string(*v);
  if (const auto* v = find(f, "phone_number")) s.phone_number = std::string(*v);
  if (const auto* v = find(f, "provider_type")) s.provider = core::parse_provider_type(*v);
  if (const auto* v = find(f, "status")) s.status = core::parse_session_status(*v);
  s.is_active = flag(f, "is_active");
  s.is_primary = flag(f, "is_primary");
  const auto created = time_field(f, "created_at", problem);
  if (!created && problem.empty()) problem = "created_at: missing";
  s.created_at = created.value_or(0);
  s.last_connected_at = time_field(f, "last_connected_at", problem);
  s.last_activity_at = time_field(f, "last_activity_at", problem);
  s.disconnected_at = time_field(f, "disconnected_at", problem);
  if (!problem.empty()) {
    s.exists = false;
    return s;
  }
  const std::string_view* score = find(f, "health_score");
  const std::string_view* metrics = find(f, "health_metrics");
  if (score != nullptr && metrics != nullptr) {
    const auto h = to_number(*score);
    const auto m = parse_metrics(*metrics);
    if (h && m && *h >= 0 && *h <= 100) {
      s.health = static_cast<int>(std::lround(*h));
      s.metrics = *m;
      health_known = true;
    }
  }
  return s;
}

namespace {

void unreadable(std::vector<std::string>* problems, std::string_view field, std::string_view value,
                std::string_view expected, const std::string& used) {
  if (problems == nullptr) return;
  problems->push_back(std::string(field) + " '" + std::string(value.substr(0, 100)) +
                      "': expected " + std::string(expected) + "; " + used + " is used");
}

}  // namespace

core::MetaSettings parse_meta(const Fields& f, std::vector<std::string>* problems) {
  core::MetaSettings m;
  m.configured = flag(f, "configured");
  if (const auto* v = find(f, "throughput_mps"); v != nullptr && !v->empty()) {
    // Meta allows 1,000 a second at most; far beyond, the rate per hour overflows to infinity.
    if (const auto n = to_number(*v); n && *n > 0 && *n <= 1e6) {
      m.throughput_mps = *n;
    } else {
      unreadable(problems, "throughput_mps", *v, "a number > 0, at most 1000000",
                 std::to_string(std::lround(m.throughput_mps)));
    }
  }
  if (const auto* v = find(f, "tier_limit"); v != nullptr && !v->empty()) {
    if (const auto n = to_number(*v); n && *n >= 0 && *n < 1e15 && *n == std::floor(*n)) {
      m.tier_limit = static_cast<std::uint64_t>(*n);
    } else {
      unreadable(problems, "tier_limit", *v, "an integer from 0 (unlimited) to 10^15",
                 std::to_string(m.tier_limit));
    }
  }
  if (const auto* v = find(f, "portfolio_id")) m.portfolio_id = std::string(*v);
  if (const auto* v = find(f, "quality")) m.quality = std::string(*v);
  return m;
}

namespace {

struct Counter {
  const char* name;
  std::uint64_t core::WindowStats::*count;
  double core::WindowStats::*sum;
};

constexpr Counter kCounters[] = {
    {"t", &core::WindowStats::total, nullptr},
    {"s", &core::WindowStats::successful, nullptr},
    {"d", &core::WindowStats::delivered, nullptr},
    {"r", &core::WindowStats::read, nullptr},
    {"f", &core::WindowStats::failed, nullptr},
    {"rs", nullptr, &core::WindowStats::response_time_sum_ms},
    {"rc", &core::WindowStats::response_time_count, nullptr},
    {"ds", nullptr, &core::WindowStats::delivery_time_sum_ms},
    {"dc", &core::WindowStats::delivery_time_count, nullptr},
};

void add_counter(core::WindowStats& w, std::string_view name, double v) {
  for (const Counter& c : kCounters) {
    if (name != c.name) continue;
    if (c.count) w.*c.count += static_cast<std::uint64_t>(std::max(0.0, v));
    if (c.sum) w.*c.sum += v;
    return;
  }
}

std::string format_number(double v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

}  // namespace

void add_stats_fields(std::vector<std::string>& out, const core::WindowStats& w, bool with_zeros) {
  for (const Counter& c : kCounters) {
    const double v = c.count ? static_cast<double>(w.*c.count) : w.*c.sum;
    if (v == 0 && !with_zeros) continue;
    out.emplace_back(c.name);
    out.push_back(c.count ? std::to_string(w.*c.count) : format_number(v));
  }
}

core::WindowStats parse_stats(const Fields& f) {
  core::WindowStats w;
  for (const auto& [k, v] : f) {
    if (const auto n = to_number(v)) add_counter(w, k, *n);
  }
  return w;
}

namespace {

// The packed layout: Lua's struct format "<I4I4I4I4I4dI4dI4" (little-endian).
constexpr std::size_t kPackedSize = 5 * 4 + 8 + 4 + 8 + 4;
static_assert(kPackedSize == kPackedStatsSize);

void put_u32(char*& p, std::uint64_t v) {
  const auto x = static_cast<std::uint32_t>(std::min<std::uint64_t>(v, 0xffffffffu));
  for (int i = 0; i < 4; ++i)
    *p++ = static_cast<char>((x >> (8 * i)) & 0xff);
}
void put_f64(char*& p, double v) {
  const auto x = std::bit_cast<std::uint64_t>(v);
  for (int i = 0; i < 8; ++i)
    *p++ = static_cast<char>((x >> (8 * i)) & 0xff);
}
std::uint64_t get_le(const char*& p, int bytes) {
  std::uint64_t x = 0;
  for (int i = 0; i < bytes; ++i)
    x |= static_cast<std::uint64_t>(static_cast<unsigned char>(*p++)) << (8 * i);
  return x;
}

}  // namespace

std::string pack_stats(const core::WindowStats& w) {
  std::string out(kPackedSize, '\0');
  char* p = out.data();
  for (const Counter& c : kCounters) {
    if (c.count) {
      put_u32(p, w.*c.count);
    } else {
      put_f64(p, w.*c.sum);
    }
  }
  return out;
}

bool add_packed(core::WindowStats& w, std::string_view packed) {
  if (packed.size() != kPackedSize) return false;
  std::uint64_t counts[std::size(kCounters)] = {};
  double sums[std::size(kCounters)] = {};
  const char* p = packed.data();
  for (std::size_t i = 0; i < std::size(kCounters); ++i) {
    if (kCounters[i].count) {
      counts[i] = get_le(p, 4);
    } else {
      sums[i] = std::bit_cast<double>(get_le(p, 8));
      if (!std::isfinite(sums[i]) || sums[i] < 0) return false;
    }
  }
  for (std::size_t i = 0; i < std::size(kCounters); ++i) {
    const Counter& c = kCounters[i];
    if (c.count) w.*c.count += counts[i];
    if (c.sum) w.*c.sum += sums[i];
  }
  return true;
}

core::WindowStats sum_last_hour(const Fields& f, core::Seconds now,
                                std::vector<std::string>* stale) {
  const auto now_minute = static_cast<std::int64_t>(std::floor(now / 60.0));
  constexpr auto kMaxAheadMinutes = static_cast<std::int64_t>(core::kMaxEventAheadSeconds / 60);
  core::WindowStats w;
  for (const auto& [k, v] : f) {
    std::int64_t minute = 0;
    const auto r = std::from_chars(k.data(), k.data() + k.size(), minute);
    if (r.ec != std::errc() || r.ptr == k.data()) continue;
    const bool legacy = r.ptr != k.data() + k.size();  // "<minute>:<counter>", one per counter
    if (legacy && *r.ptr != ':') continue;
    // Before the hour, or further ahead than an event may be (core::kMaxEventAheadSeconds):
    // never counted, deleted.
    if (minute <= now_minute - 60 || minute > now_minute + kMaxAheadMinutes) {
      if (stale) stale->emplace_back(k);
      continue;
    }
    if (minute > now_minute) continue;  // from a clock ahead of ours: not yet in the window
    if (!legacy) {
      (void)add_packed(w, v);  // an unreadable bucket counts as empty
    } else if (const auto n = to_number(v)) {
      add_counter(w, k.substr(static_cast<std::size_t>(r.ptr - k.data()) + 1), *n);
    }
  }
  return w;
}

core::WindowStats parse_daily(const Fields& f) {
  core::WindowStats w;
  for (const auto& [k, v] : f) {
    const auto n = to_number(v);
    if (!n) continue;
    const auto u = static_cast<std::uint64_t>(std::max(0.0, *n));
    if (k == "total")
      w.total += u;
    else if (k == "successful")
      w.successful += u;
    else if (k == "delivered")
      w.delivered += u;
    else if (k == "read")
      w.read += u;
    else if (k == "failed")
      w.failed += u;
    else if (k == "delivery_time_sum")
      w.delivery_time_sum_ms += *n;
    else if (k == "delivery_time_count")
      w.delivery_time_count += u;
    else if (k == "response_time_sum")
      w.response_time_sum_ms += *n;
    else if (k == "response_time_count")
      w.response_time_count += u;
  }
  return w;
}

std::vector<std::string> last_days(core::Seconds now, int days) {
  std::vector<std::string> out;
  for (int i = days - 1; i >= 0; --i)
    out.push_back(core::utc_day(now - 86400.0 * i));
  return out;
}

}  // namespace wa::queue
