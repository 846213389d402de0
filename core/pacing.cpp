#include "core/pacing.hpp"

#include <date/tz.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <stdexcept>

#include "core/balance.hpp"

namespace wa::core {

namespace {

constexpr double kEpsilon = 1e-9;  // absorbs binary rounding before a floor or a ceil
constexpr int kDayMinutes = 24 * 60;

std::uint64_t ceil_minutes(double releases, double rate_per_hour) {
  return static_cast<std::uint64_t>(std::ceil(releases / rate_per_hour * 60.0 - kEpsilon));
}

const date::time_zone* zone(std::string_view tz) {
  try {
    return date::locate_zone(tz);
  } catch (const std::exception&) {
    throw std::invalid_argument("unknown time zone '" + std::string(tz) +
                                "' (an IANA name such as Europe/Berlin is expected)");
  }
}

date::local_seconds local_time(std::int64_t now_s, const date::time_zone* z) {
  return z->to_local(date::sys_seconds{std::chrono::seconds{now_s}});
}

int minute_of_day(date::local_seconds lt) {
  const auto since_midnight = lt - date::floor<date::days>(lt);
  return static_cast<int>(std::chrono::duration_cast<std::chrono::minutes>(since_midnight).count());
}

// "HH:MM" → minutes, or -1 when malformed or out of range (24:00 is allowed).
int parse_clock(std::string_view s) {
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (s.size() != 5 || s[2] != ':' || !digit(s[0]) || !digit(s[1]) || !digit(s[3]) || !digit(s[4]))
    return -1;
  const int h = (s[0] - '0') * 10 + (s[1] - '0');
  const int m = (s[3] - '0') * 10 + (s[4] - '0');
  if (m > 59 || h > 24 || (h == 24 && m != 0)) return -1;
  return h * 60 + m;
}

}  // namespace

// ---- Rates and gaps ----

double gap_seconds(double rate_per_hour, double jitter, double unit) noexcept {
  if (!(rate_per_hour > 0)) return std::numeric_limits<double>::infinity();
  const double u = (2.0 * unit - 1.0) * jitter;
  return 3600.0 / rate_per_hour * (1.0 + u);
}

double webjs_rate_per_hour(std::optional<double> workspace_rate, const Session& s,
                           const config::LoadBalancing& lb, double factor) noexcept {
  const double base = workspace_rate && *workspace_rate > 0
                          ? *workspace_rate
                          : session_capacity(s, TemplateMode::template_, lb);  // mode factor 1
  return base * factor;
}

double meta_rate_per_hour(double throughput_mps) noexcept {
  return throughput_mps * 3600.0;
}

std::uint64_t releases_due(std::int64_t last_release_ms, std::int64_t now_ms, double rate_per_hour,
                           std::uint64_t limit) noexcept {
  if (now_ms <= last_release_ms || !(rate_per_hour > 0)) return 0;
  const double elapsed_ms = static_cast<double>(now_ms) - static_cast<double>(last_release_ms);
  const double due = std::floor(elapsed_ms * rate_per_hour / 3.6e6 + kEpsilon);
  if (!(due < static_cast<double>(limit))) return limit;
  return static_cast<std::uint64_t>(due);
}

std::uint64_t ready_room(std::uint64_t ready_len, std::uint64_t ahead,
                         double rate_per_hour) noexcept {
  constexpr auto kMax = std::numeric_limits<std::uint64_t>::max();
  const double per_second = rate_per_hour > 0 ? std::ceil(rate_per_hour / 3600.0 - kEpsilon) : 0;
  // A rate beyond 2^64 a second (a workspace's rate_per_hour of 1e308) is not cast: that is UB.
  const std::uint64_t whole =
      per_second < 0x1p64 ? static_cast<std::uint64_t>(per_second) : kMax;  // NaN: 0
  const std::uint64_t room = std::max(ahead, whole);
  return ready_len >= room ? 0 : room - ready_len;
}

// ---- Daily cap ----

std::uint64_t daily_cap_today(std::optional<std::uint64_t> workspace_cap, const PacingConfig& cfg,
                              std::int64_t created_at_s, std::int64_t now_s) noexcept {
  const std::uint64_t cap = workspace_cap ? *workspace_cap : cfg.daily_cap;
  const std::uint64_t start = std::max<std::uint64_t>(1, cfg.warmup.start_per_day);
  const std::int64_t age_days = now_s > created_at_s ? (now_s - created_at_s) / 86400 : 0;
  if (cfg.warmup.days <= 0 || age_days >= cfg.warmup.days || start >= cap) return cap;
  const double ratio = static_cast<double>(cap) / static_cast<double>(start);
  const double exponent = static_cast<double>(age_days) / static_cast<double>(cfg.warmup.days);
  const double ramp = std::floor(static_cast<double>(start) * std::pow(ratio, exponent) + kEpsilon);
  return std::min(cap, static_cast<std::uint64_t>(ramp));
}

// ---- Sending hours ----

bool SendingHours::contains(int minute) const noexcept {
  if (start_min < end_min) return minute >= start_min && minute < end_min;
  return minute >= start_min || minute < end_min;  // across midnight
}

int SendingHours::minutes_per_day() const noexcept {
  return start_min < end_min ? end_min - start_min : kDayMinutes - start_min + end_min;
}

std::optional<SendingHours> parse_sending_hours(std::string_view text) {
  if (text.empty()) return std::nullopt;
  const auto fail = [&](const char* why) {
    return std::invalid_argument("sending_hours '" + std::string(text) + "': " + why +
                                 " (expected \"HH:MM-HH:MM\", e.g. \"08:00-21:00\")");
  };
  const auto dash = text.find('-');
  if (dash == std::string_view::npos) throw fail("no '-' between start and end");
  const int start = parse_clock(text.substr(0, dash));
  const int end = parse_clock(text.substr(dash + 1));
  if (start < 0 || end < 0) throw fail("a time is not a valid HH:MM between 00:00 and 24:00");
  if (start == kDayMinutes) throw fail("the start cannot be 24:00");
  if (start == end) throw fail("start and end are equal (an empty window)");
  return SendingHours{start, end};
}

void check_time_zone(std::string_view tz) {
  (void)zone(tz);
}

bool within_sending_hours(std::int64_t now_s, const std::optional<SendingHours>& hours,
                          std::string_view tz) {
  const date::time_zone* z = zone(tz);
  if (!hours) return true;
  return hours->contains(minute_of_day(local_time(now_s, z)));
}

std::int64_t next_opening(std::int64_t now_s, const std::optional<SendingHours>& hours,
                          std::string_view tz) {
  const date::time_zone* z = zone(tz);
  if (!hours || hours->contains(minute_of_day(local_time(now_s, z)))) return now_s;
  const auto today = date::floor<date::days>(local_time(now_s, z));
  std::optional<std::int64_t> best;
  for (int d = -1; d <= 2; ++d) {
    const auto opening = today + date::days{d} + std::chrono::minutes{hours->start_min};
    // A start that a fall-back day has twice opens twice; one in a spring-forward gap maps to
    // the transition, which counts only if that is in the window.
    for (const auto pick : {date::choose::earliest, date::choose::latest}) {
      const std::int64_t t = z->to_sys(opening, pick).time_since_epoch().count();
      if (t <= now_s || !hours->contains(minute_of_day(local_time(t, z)))) continue;
      if (!best || t < *best) best = t;
    }
  }
  return best.value_or(now_s + 86400);  // unreachable for a valid window; a safe retry
}

std::int64_t next_local_midnight(std::int64_t now_s, std::string_view tz) {
  const date::time_zone* z = zone(tz);
  const auto tomorrow = date::floor<date::days>(local_time(now_s, z)) + date::days{1};
  return z->to_sys(date::local_seconds{tomorrow}, date::choose::earliest)
      .time_since_epoch()
      .count();
}

std::string local_day(std::int64_t now_s, std::string_view tz) {
  const date::year_month_day ymd{date::floor<date::days>(local_time(now_s, zone(tz)))};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

// ---- Adaptive pace (AIMD) ----

double next_factor(double factor, bool breaks_alert, bool silent,
                   const PacingConfig::Adaptive& cfg) noexcept {
  if (!cfg.enabled) return 1.0;
  if (breaks_alert || silent) return std::max(cfg.min_factor, factor * cfg.decrease);
  return std::min(1.0, factor + cfg.increase);
}

SilentCheck is_silent(std::uint64_t releases_older_than_grace, std::uint64_t outcome_events,
                      double min_reported_percent) noexcept {
  constexpr std::uint64_t kMinReleases = 10;
  SilentCheck out;
  if (releases_older_than_grace == 0) return out;
  out.reported_percent = std::min(100.0, 100.0 * static_cast<double>(outcome_events) /
                                             static_cast<double>(releases_older_than_grace));
  out.silent =
      releases_older_than_grace >= kMinReleases && out.reported_percent < min_reported_percent;
  return out;
}

MinuteRange counted_release_minutes(Seconds now, double grace_seconds) noexcept {
  const auto now_minute = static_cast<std::int64_t>(std::floor(now / 60.0));
  MinuteRange r;
  r.first = now_minute - 59;
  // (m + 1) × 60 ≤ now − grace  ⇔  m ≤ ⌊(now − grace) ÷ 60⌋ − 1
  r.last = static_cast<std::int64_t>(std::floor((now - grace_seconds) / 60.0)) - 1;
  return r;
}

std::uint64_t releases_older_than_grace(std::span<const MinuteCount> buckets, Seconds now,
                                        double grace_seconds) noexcept {
  const MinuteRange r = counted_release_minutes(now, grace_seconds);
  std::uint64_t n = 0;
  for (const MinuteCount& b : buckets) {
    if (b.minute >= r.first && b.minute <= r.last) n += b.releases;
  }
  return n;
}

AdaptiveStep adaptive_step(std::optional<double> stored, bool breaks_alert, std::uint64_t releases,
                           std::uint64_t outcome_events,
                           const PacingConfig::Adaptive& cfg) noexcept {
  AdaptiveStep out;
  out.silent = is_silent(releases, outcome_events, cfg.min_reported);
  const bool finite = stored && std::isfinite(*stored);
  const double before = finite ? std::clamp(*stored, cfg.min_factor, 1.0) : 1.0;
  if (!cfg.enabled) {  // the silent check only: the stored factor is left alone
    out.factor = before;
    return out;
  }
  out.factor = next_factor(before, breaks_alert, out.silent.silent, cfg);
  // Absent: written once it leaves 1. Infinite or NaN: replaced. Else when it moved.
  const bool changed = !stored   ? out.factor != 1.0
                       : !finite ? true
                                 : std::abs(out.factor - *stored) > kEpsilon;
  if (changed) out.write = out.factor;
  return out;
}

// ---- Fairness ----

std::optional<std::string> next_campaign(std::span<const std::string> order,
                                         const std::optional<std::string>& last,
                                         const std::set<std::string>& paused) {
  const std::size_t n = order.size();
  std::size_t begin = 0;  // the first position to try
  if (last) {
    const auto it = std::find(order.begin(), order.end(), *last);
    if (it != order.end()) begin = static_cast<std::size_t>(it - order.begin()) + 1;
  }
  for (std::size_t k = 0; k < n; ++k) {
    const std::string& id = order[(begin + k) % n];
    if (!paused.contains(id)) return id;
  }
  return std::nullopt;
}

// ---- Prediction ----

std::optional<std::uint64_t> estimated_minutes_paced(const PacedEstimateInput& in) noexcept {
  if (in.contacts == 0) return 0;
  if (!(in.rate_per_hour > 0) || in.window_minutes_per_day <= 0) return std::nullopt;
  const std::uint64_t n = in.backlog_ahead + in.contacts;  // the last one is the n-th release
  const auto releases_in = [&](int minutes) {
    const double by_window = std::floor(in.rate_per_hour * minutes / 60.0 + kEpsilon);
    return static_cast<std::uint64_t>(std::clamp(by_window, 0.0, 1e18));
  };
  const int window = std::min(in.window_minutes_per_day, kDayMinutes);
  const int today = in.window_minutes_today < 0 ? window : in.window_minutes_today;
  const std::uint64_t left_today =
      in.cap_today > in.released_today ? in.cap_today - in.released_today : 0;
  const std::uint64_t day0 = std::min(left_today, releases_in(today));
  if (n <= day0) return ceil_minutes(static_cast<double>(n), in.rate_per_hour);
  const std::uint64_t per_day = std::min(in.cap, releases_in(window));
  if (per_day == 0) return std::nullopt;
  const std::uint64_t rest = n - day0;
  const std::uint64_t days = (rest + per_day - 1) / per_day;  // days after day 0
  const std::uint64_t last = rest - (days - 1) * per_day;
  const auto first =
      static_cast<std::uint64_t>(in.minutes_to_next_day < 0 ? kDayMinutes : in.minutes_to_next_day);
  return first + (days - 1) * kDayMinutes +
         ceil_minutes(static_cast<double>(last), in.rate_per_hour);
}

int window_minutes_left(std::int64_t now_s, const std::optional<SendingHours>& hours,
                        std::string_view tz) {
  const int minute = minute_of_day(local_time(now_s, zone(tz)));
  if (!hours) return kDayMinutes - minute;
  const int end = hours->end_min;
  return end > minute ? end - minute : kDayMinutes - minute + end;  // across midnight
}

std::int64_t minutes_to_next_day(std::int64_t now_s, const std::optional<SendingHours>& hours,
                                 std::string_view tz) {
  const std::int64_t midnight = next_local_midnight(now_s, tz);
  const std::int64_t opens = next_opening(midnight, hours, tz);
  return (opens - now_s + 59) / 60;
}

}  // namespace wa::core
