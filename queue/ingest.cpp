// Event ingestion (CONTRACT.md section 2): batches read from the head of wa:events, aggregated,
// and applied into the statistics exactly once, in calls that each touch a bounded number of
// keys (queue/scripts.hpp apply_events_script).
#include <algorithm>
#include <cmath>
#include <iterator>
#include <stdexcept>

#include "core/events.hpp"
#include "queue/php_values.hpp"
#include "queue/store.hpp"

namespace wa::queue {

namespace {

constexpr std::int64_t kHourSeconds = 3600;
// Minutes of one session stats entry: Lua's unpack limit (the HMGET and HSET of the entry).
constexpr std::size_t kMinutesPerEntry = 1000;
// What one apply call may touch, so that none blocks Redis for more than a few milliseconds (a
// part takes about half a millisecond of Redis time):
// keys, and work counted in Redis commands and fields (a session entry: HMGET, HSET, EXPIRE and
// its fields; a daily hash: one HINCRBY(FLOAT) per counter that changes, and EXPIRE).
constexpr std::size_t kPartKeys = 100;
constexpr std::size_t kPartCost = 500;

// The statistics entries of one apply call: nsessions, then the session entries, then the
// daily hashes (apply_events_script).
struct Part {
  std::vector<std::string> sessions;
  std::size_t session_entries = 0;
  std::vector<std::string> daily;
  std::size_t keys = 0, cost = 0;
};

// Parts filled in order, a new one when the next entry would go beyond the limits.
class Parts {
 public:
  Part& room_for(std::size_t cost) {
    if (parts_.empty() || (parts_.back().keys > 0 && (parts_.back().keys + 1 > kPartKeys ||
                                                      parts_.back().cost + cost > kPartCost))) {
      parts_.emplace_back();
    }
    Part& p = parts_.back();
    ++p.keys;
    p.cost += cost;
    return p;
  }
  std::vector<Part>& all() {
    if (parts_.empty()) parts_.emplace_back();
    return parts_;
  }

 private:
  std::vector<Part> parts_;
};

std::size_t changed_counters(const core::WindowStats& w) {
  return (w.total != 0) + (w.successful != 0) + (w.delivered != 0) + (w.read != 0) +
         (w.failed != 0) + (w.response_time_sum_ms != 0) + (w.response_time_count != 0) +
         (w.delivery_time_sum_ms != 0) + (w.delivery_time_count != 0);
}

void add_session_entries(Parts& parts, const core::EventAggregate& agg, const Keys& keys) {
  auto it = agg.session_minutes.begin();
  while (it != agg.session_minutes.end()) {
    const std::string& session = it->first.first;
    auto end = it;
    std::size_t m = 0;
    while (end != agg.session_minutes.end() && end->first.first == session &&
           m < kMinutesPerEntry) {
      ++end;
      ++m;
    }
    Part& p = parts.room_for(3 + m);
    p.sessions.push_back(keys.session_stats(session));
    p.sessions.push_back(std::to_string(m));
    for (; it != end; ++it) {
      p.sessions.push_back(std::to_string(it->first.second));
      p.sessions.push_back(pack_stats(it->second));
    }
    ++p.session_entries;
  }
}

void add_daily_entries(Parts& parts, const core::EventAggregate& agg, const Keys& keys) {
  for (const auto& [key, w] : agg.daily) {
    const auto& [ws, provider, day] = key;
    Part& p = parts.room_for(1 + changed_counters(w));
    p.daily.push_back(keys.daily(ws, provider, day));
    p.daily.push_back(pack_stats(w));
  }
}

void append_entries(std::vector<std::string>& out, Part& p) {
  out.push_back(std::to_string(p.session_entries));
  std::move(p.sessions.begin(), p.sessions.end(), std::back_inserter(out));
  std::move(p.daily.begin(), p.daily.end(), std::back_inserter(out));
}

// A msgpack array of strings (array 32 of str 32), as Redis's cmsgpack.unpack reads it.
std::string msgpack_strings(const std::vector<std::string>& items) {
  std::size_t size = 5;
  for (const auto& s : items)
    size += 5 + s.size();
  std::string out;
  out.reserve(size);
  auto header = [&](unsigned char tag, std::size_t n) {
    out.push_back(static_cast<char>(tag));
    for (int shift = 24; shift >= 0; shift -= 8)
      out.push_back(static_cast<char>((n >> shift) & 0xFF));
  };
  header(0xDD, items.size());
  for (const auto& s : items) {
    header(0xDB, s.size());
    out += s;
  }
  return out;
}

}  // namespace

EventBatch Store::prepare_events(const Reply& events, core::Seconds now,
                                 const config::Config& cfg) const {
  EventBatch b;
  if (!events.is_array() || events.elements.empty()) return b;
  b.count = events.elements.size();
  core::EventAggregate agg;
  agg.first_session_minute = static_cast<std::int64_t>(std::floor(now / 60.0)) - 59;
  const core::Seconds max_age = cfg.analytics.retention_period_days * 86400.0;
  for (const Reply& e : events.elements) {
    auto parsed = core::parse_event(e.str, now, max_age);
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
  Parts parts;
  add_session_entries(parts, agg, keys_);
  add_daily_entries(parts, agg, keys_);
  std::vector<Part>& all = parts.all();
  const std::string count = std::to_string(b.count);
  const std::string malformed = std::to_string(b.malformed);
  const std::string stats_ttl = std::to_string(2 * kHourSeconds);
  const std::string daily_ttl =
      std::to_string(static_cast<long long>(cfg.analytics.retention_period_days + 1) * 86400);
  b.staged = all.size() - 1;
  std::vector<std::string>& a = b.args;
  a = {count,     events.elements.back().str, stats_ttl, daily_ttl,
       malformed, std::to_string(b.staged)};
  for (std::size_t k = 1; k < all.size(); ++k) {
    const bool last = k + 1 == all.size();
    std::vector<std::string> part{last ? count : "0", last ? malformed : "0", stats_ttl, daily_ttl};
    append_entries(part, all[k]);
    a.push_back(msgpack_strings(part));
  }
  append_entries(a, all[0]);
  return b;
}

asio::awaitable<EventBatch> Store::read_events(std::size_t max, core::Seconds now,
                                               const config::Config& cfg) {
  Command lrange{"LRANGE", keys_.events(), "0", std::to_string(max - 1)};
  const Reply batch = co_await run1(conn_, plain(std::move(lrange)));
  co_return prepare_events(batch, now, cfg);
}

namespace {

// The outcome of one apply_staged_events call added to `r`; false when it applied nothing.
bool add_staged_outcome(IngestReport& r, const Reply& reply, std::size_t* consumed = nullptr) {
  if (reply.is_error()) throw std::runtime_error("applying staged events failed: " + reply.str);
  if (!reply.is_array() || reply.elements.size() != 4) {
    throw std::runtime_error("applying staged events: unexpected reply");
  }
  const long long status = int_or(reply.elements[0]);
  if (status == 0) r.lock_lost = true;
  if (status != 1) return false;
  r.failed_writes += static_cast<std::size_t>(std::max(0LL, int_or(reply.elements[1])));
  const auto n = static_cast<std::size_t>(std::max(0LL, int_or(reply.elements[2])));
  r.consumed += n;
  r.malformed += static_cast<std::size_t>(std::max(0LL, int_or(reply.elements[3])));
  if (consumed != nullptr) *consumed = n;
  return true;
}

}  // namespace

Call Store::apply_staged_call(const std::string& token) const {
  const std::vector<std::string> keys{keys_.events(), keys_.events_lock(), keys_.events_malformed(),
                                      keys_.events_staged()};
  return script_call(apply_staged_events_script(), keys, {token});
}

asio::awaitable<IngestReport> Store::drain_staged_events(const std::string& token) {
  IngestReport r;
  // One call while nothing is staged (the usual case), then 16 at a time.
  for (std::size_t n = 1;; n = 16) {
    std::vector<Call> calls;
    for (std::size_t i = 0; i < n; ++i)
      calls.push_back(apply_staged_call(token));
    const auto replies = co_await run(conn_, std::move(calls));
    for (const Reply& reply : replies) {
      if (!add_staged_outcome(r, reply)) co_return r;
    }
  }
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
                                            keys_.events_malformed(), keys_.events_staged()};
  std::vector<Call> apply;
  apply.push_back(script_call(apply_events_script(), apply_keys, std::move(args)));
  // The staged parts right behind, each its own call: Redis serves other clients in between.
  for (std::size_t k = 0; k < batch.staged; ++k)
    apply.push_back(apply_staged_call(token));
  Pending applied(conn_, std::move(apply));

  const auto next = co_await next_read.get();
  EventBatch following = prepare_events(next[0], now, cfg);  // while Redis applies `batch`
  const auto replies = co_await applied.get();
  const Reply& r = replies[0];
  if (r.is_error()) throw std::runtime_error("applying events failed: " + r.str);
  if (!r.is_array() || r.elements.size() != 2) {
    throw std::runtime_error("applying events: unexpected reply from the events script");
  }
  IngestReport& report = step.report;
  const bool first_applied = int_or(r.elements[0]) == 1;
  if (first_applied) {
    report.failed_writes = static_cast<std::size_t>(std::max(0LL, int_or(r.elements[1])));
  }
  // Staged parts applied behind it: this batch's, or (after -2) an earlier batch's.
  std::size_t last_trim = 0;
  for (std::size_t k = 1; k < replies.size(); ++k)
    (void)add_staged_outcome(report, replies[k], &last_trim);
  const bool done = first_applied && (batch.staged == 0 || last_trim == batch.count);
  if (!done) {
    report.lock_lost = true;  // read again from the head (the rest of the batch may be staged)
    co_return step;
  }
  report.lock_lost = false;
  if (batch.staged == 0) {
    report.consumed += batch.count;
    report.malformed += batch.malformed;
  }
  report.errors = std::move(batch.errors);
  step.next = std::move(following);
  co_return step;
}

}  // namespace wa::queue
