// Pacing (CONTRACT.md section 8): the pure rules of when a target may release its next contact.
//
// Nothing here reads a clock or draws a random number: times come in as Unix seconds or
// milliseconds, randomness as a uniform value in [0, 1]. Time zones come from the system's tz
// database (Howard Hinnant's date/tz over /usr/share/zoneinfo): the process's first zone lookup
// reads the database's index (about 2 ms) and a zone's first use reads its file, once, so the
// daemon should call check_time_zone at start-up and when a workspace's setting changes, off any
// latency-critical path. Lookups are thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "core/types.hpp"

namespace wa::core {

// Section 8's settings (config/config.hpp).
using PacingConfig = config::Pacing;

// ---- Rates and gaps ----

// Seconds until the next release: 3600 ÷ rate × (1 + u), u = (2·unit − 1) × jitter. A rate that
// is not positive gives +infinity (never).
double gap_seconds(double rate_per_hour, double jitter, double unit) noexcept;

// A webjs session's rate per hour: the workspace's rate_per_hour when set (> 0), else section
// 4's capacity of the session without the mode factor (template = 1.0), × the AIMD factor.
double webjs_rate_per_hour(std::optional<double> workspace_rate, const Session& s,
                           const config::LoadBalancing& lb, double factor) noexcept;

// Meta's rate per hour: throughput_mps × 3600 (released without jitter).
double meta_rate_per_hour(double throughput_mps) noexcept;

// A fast target (Meta): how many releases fit since the last one, at most `limit` (the ready
// list's room). 0 when the clock went backwards or the rate is not positive. The caller advances
// its last release time by k × 3600000 ÷ rate ms for k releases (not to now), so that fractions
// of a gap are not lost between passes.
std::uint64_t releases_due(std::int64_t last_release_ms, std::int64_t now_ms, double rate_per_hour,
                           std::uint64_t limit) noexcept;

// A webjs target: one release when its time has come, however late (no catch-up bursts).
inline std::uint64_t webjs_releases_due(std::int64_t next_at_ms, std::int64_t now_ms) noexcept {
  return now_ms >= next_at_ms ? 1 : 0;
}

// Backpressure: how many more items the ready list may take now,
// max(ahead, ceil(rate ÷ 3600)) − ready_len, never negative (rate includes the factor).
std::uint64_t ready_room(std::uint64_t ready_len, std::uint64_t ahead,
                         double rate_per_hour) noexcept;

// ---- Daily cap ----

// Today's cap of a webjs session: cap = the workspace's daily_cap when set, else the config's;
// a session younger than warmup.days gets floor(start × (cap ÷ start)^(age_days ÷ days)). Age is
// counted in whole days since created_at (day 0 gets `start`), so the cap holds for a day. A
// start at or above cap, or a created_at in the future, are handled: the result is never above
// cap, and a future created_at counts as day 0.
std::uint64_t daily_cap_today(std::optional<std::uint64_t> workspace_cap, const PacingConfig& cfg,
                              std::int64_t created_at_s, std::int64_t now_s) noexcept;

// ---- Sending hours ----

// [start, end) in minutes of the local day. end < start is a window across midnight
// ("22:00-06:00": from 22:00 to 06:00 the next morning). end may be 24:00.
struct SendingHours {
  int start_min = 0;
  int end_min = 24 * 60;
  bool operator==(const SendingHours&) const = default;
  bool contains(int minute_of_day) const noexcept;
  int minutes_per_day() const noexcept;  // the window's nominal length (DST days aside)
};

// Parses "HH:MM-HH:MM" (00:00 to 24:00; start 24:00 and start == end are refused). An empty
// value means all day (nullopt). Throws std::invalid_argument naming the value.
std::optional<SendingHours> parse_sending_hours(std::string_view text);

// Throws std::invalid_argument ("unknown time zone 'X'") when the tz database lacks the name.
void check_time_zone(std::string_view tz);

// Whether now lies in the window, on the wall clock of the zone. nullopt hours: always.
bool within_sending_hours(std::int64_t now_s, const std::optional<SendingHours>& hours,
                          std::string_view tz);

// The first moment ≥ now (Unix seconds) inside the window: now itself when within. A window that
// opens in a DST gap (e.g. 02:30 on a spring-forward day) opens at the transition.
std::int64_t next_opening(std::int64_t now_s, const std::optional<SendingHours>& hours,
                          std::string_view tz);

// The local day of the zone, "YYYY-MM-DD" (the daily counter's `day`).
std::string local_day(std::int64_t now_s, std::string_view tz);

// The first moment of the next local day of the zone, in Unix seconds (the daily cap's reset;
// on a day whose midnight a DST change skips, the first moment that exists).
std::int64_t next_local_midnight(std::int64_t now_s, std::string_view tz);

// ---- Adaptive pace (AIMD) ----

// factor × decrease (at least min_factor) when the session breaks an alert limit or is silent,
// else factor + increase (at most 1).
double next_factor(double factor, bool breaks_alert, bool silent,
                   const PacingConfig::Adaptive& cfg) noexcept;

struct SilentCheck {
  bool silent = false;
  double reported_percent = 100;  // outcome events ÷ releases older than the grace, at most 100
};

// Silent: at least 10 releases older than the grace in the last hour, and fewer than
// min_reported percent of them with an outcome event.
SilentCheck is_silent(std::uint64_t releases_older_than_grace, std::uint64_t outcome_events,
                      double min_reported_percent) noexcept;

// Releases are counted per target and minute (wa:stats:released:<target>, field ⌊Unix ms ÷
// 60000⌋ → releases). The silent rule counts a minute's releases when the minute lies in the
// window of the last hour's outcome counters (minute > ⌊now ÷ 60⌋ − 60, as section 2's statistics)
// and the whole minute is older than the grace: (minute + 1) × 60 ≤ now − grace. A release thus
// counts 0 to 60 s after the grace alone would let it, never before: a report still on its way
// does not make a session silent. A grace of an hour or more counts nothing.
struct MinuteRange {
  std::int64_t first = 0;
  std::int64_t last = -1;
  bool empty() const noexcept { return last < first; }
};

// The minutes whose releases count at `now` (Unix seconds); empty when none do.
MinuteRange counted_release_minutes(Seconds now, double grace_seconds) noexcept;

struct MinuteCount {
  std::int64_t minute = 0;
  std::uint64_t releases = 0;
};

// The releases of the buckets that count at `now` (others are ignored).
std::uint64_t releases_older_than_grace(std::span<const MinuteCount> buckets, Seconds now,
                                        double grace_seconds) noexcept;

// Whether a health check may judge the sessions' pace from the outcome counters: not at the
// first check of a daemon process (the reports that came while no daemon ran may still wait in
// wa:events; they are consumed alongside), nor while wa:events holds `batch` (one ingestion
// step) or more events (ingestion is behind). Else a session would look silent, or break no
// limit, for reports not yet counted. A check that may not leaves the pace as it is.
inline bool reports_settled(bool first_check, std::uint64_t events_waiting,
                            std::uint64_t batch) noexcept {
  return !first_check && events_waiting < batch;
}

// One health cycle's step of a webjs session's adaptive pace. `stored` is the factor as stored in
// its pace hash (nullopt when absent or unreadable: 1; else clamped to [min_factor, 1], and
// replaced when it was out of that range or not finite);
// `outcome_events` the last hour's events of the session (each reports one message's outcome:
// sent, delivered, read or failed, so that is the last hour's total). With adaptive pace
// disabled, only the silent check is made: the factor stays as stored, nothing is written.
struct AdaptiveStep {
  SilentCheck silent;
  double factor = 1;            // the factor after this cycle
  std::optional<double> write;  // the factor to store, when it differs from the stored one
};
AdaptiveStep adaptive_step(std::optional<double> stored, bool breaks_alert,
                           std::uint64_t releases_older_than_grace, std::uint64_t outcome_events,
                           const PacingConfig::Adaptive& cfg) noexcept;

// ---- Fairness ----

// Round robin over the backlog (campaign ids in backlog order): the first campaign after `last`
// that is not paused, wrapping around (`last` itself comes again only when it is the only one
// left). When `last` is absent or no longer in the backlog, the first that is not paused.
// nullopt when every campaign is paused (or there are none).
std::optional<std::string> next_campaign(std::span<const std::string> backlog_order,
                                         const std::optional<std::string>& last,
                                         const std::set<std::string>& paused);

// ---- Prediction ----

struct PacedEstimateInput {
  std::uint64_t backlog_ahead = 0;  // contacts released before this job's
  std::uint64_t contacts = 0;       // this job's contacts for the target
  double rate_per_hour = 0;         // current rate, factor included
  std::uint64_t cap_today = 0;
  std::uint64_t released_today = 0;
  std::uint64_t cap = 0;              // the cap of the following days
  int window_minutes_per_day = 1440;  // the sending window's length
  // Day 0 (from now, the window open): minutes of window left today (-1: a whole window), and
  // minutes until the first release of the next day is possible (the cap's reset at local
  // midnight, or the window's next opening after it; -1: 1440).
  int window_minutes_today = -1;
  std::int64_t minutes_to_next_day = -1;
};

// Minutes until the last of `contacts` is released, from the opening of a sending window (the
// caller adds the wait until next_opening when the window is closed now). Day 0 releases
// min(cap_today − released_today, what the window allows at the rate); each following day
// min(cap, that). Every day that does not finish the work counts whole (1440 minutes: the hours
// outside the window included); the last counts ceil(its releases ÷ rate × 60). 0 for no
// contacts; nullopt when the work never ends (rate not positive, or a cap or window of zero).
std::optional<std::uint64_t> estimated_minutes_paced(const PacedEstimateInput& in) noexcept;

// Minutes of the sending window left from now (the window must be open; nullopt hours: until
// local midnight), and minutes from now until the next local day's window opens.
int window_minutes_left(std::int64_t now_s, const std::optional<SendingHours>& hours,
                        std::string_view tz);
std::int64_t minutes_to_next_day(std::int64_t now_s, const std::optional<SendingHours>& hours,
                                 std::string_view tz);

}  // namespace wa::core
