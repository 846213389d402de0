// The daemon's own statistics layouts (queue/codec.hpp): the packed minute buckets of
// wa:stats:session:<id>, the last-hour sum with its stale buckets, and the arguments the events
// batch hands to the apply_events script (queue/store.hpp); and redis::Wire, the RESP that bulk
// writes are built in, byte for byte what hiredis formats.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <boost/asio/io_context.hpp>
#include <cstring>
#include <limits>

#include "core/events.hpp"
#include "queue/codec.hpp"
#include "queue/store.hpp"
#include "redis/connection.hpp"

namespace wa::queue {
namespace {

core::WindowStats stats(std::uint64_t t, std::uint64_t f, double rs = 0, std::uint64_t rc = 0,
                        double ds = 0, std::uint64_t dc = 0) {
  core::WindowStats w;
  w.total = t;
  w.failed = f;
  w.successful = t - f;
  w.delivered = (t - f) / 2;
  w.read = (t - f) / 4;
  w.response_time_sum_ms = rs;
  w.response_time_count = rc;
  w.delivery_time_sum_ms = ds;
  w.delivery_time_count = dc;
  return w;
}

void expect_same(const core::WindowStats& a, const core::WindowStats& b) {
  EXPECT_EQ(a.total, b.total);
  EXPECT_EQ(a.successful, b.successful);
  EXPECT_EQ(a.delivered, b.delivered);
  EXPECT_EQ(a.read, b.read);
  EXPECT_EQ(a.failed, b.failed);
  EXPECT_EQ(a.response_time_sum_ms, b.response_time_sum_ms);
  EXPECT_EQ(a.response_time_count, b.response_time_count);
  EXPECT_EQ(a.delivery_time_sum_ms, b.delivery_time_sum_ms);
  EXPECT_EQ(a.delivery_time_count, b.delivery_time_count);
}

TEST(PackedStats, RoundTripsEveryCounterExactly) {
  const auto w = stats(4000000000ULL, 7, 1234.5625, 9, 0.1 + 0.2, 3);
  const std::string packed = pack_stats(w);
  EXPECT_EQ(packed.size(), kPackedStatsSize);
  core::WindowStats back;
  ASSERT_TRUE(add_packed(back, packed));
  expect_same(back, w);
  // Adding accumulates.
  ASSERT_TRUE(add_packed(back, pack_stats(stats(10, 1, 0.5, 1, 2, 1))));
  EXPECT_EQ(back.total, 4000000010ULL);
  EXPECT_EQ(back.failed, 8u);
  EXPECT_EQ(back.response_time_sum_ms, 1235.0625);
  EXPECT_EQ(back.response_time_count, 10u);
  EXPECT_EQ(back.delivery_time_count, 4u);
}

TEST(PackedStats, IsLuaStructLayoutLittleEndian) {
  // struct.pack('<I4I4I4I4I4dI4dI4', 1, 2, 3, 4, 5, 1.5, 6, 2.0, 7)
  core::WindowStats w;
  w.total = 1;
  w.successful = 2;
  w.delivered = 3;
  w.read = 4;
  w.failed = 5;
  w.response_time_sum_ms = 1.5;
  w.response_time_count = 6;
  w.delivery_time_sum_ms = 2.0;
  w.delivery_time_count = 7;
  const std::string p = pack_stats(w);
  const unsigned char expected[] = {1, 0, 0, 0, 2, 0, 0,    0,    3, 0,
                                    0, 0, 4, 0, 0, 0, 5,    0,    0, 0,  // t s d r f
                                    0, 0, 0, 0, 0, 0, 0xf8, 0x3f,        // rs = 1.5
                                    6, 0, 0, 0,                          // rc
                                    0, 0, 0, 0, 0, 0, 0,    0x40,        // ds = 2.0
                                    7, 0, 0, 0};                         // dc
  ASSERT_EQ(p.size(), sizeof expected);
  EXPECT_EQ(std::memcmp(p.data(), expected, sizeof expected), 0);
}

TEST(PackedStats, CountsSaturateInsteadOfWrapping) {
  core::WindowStats w;
  w.total = 1ULL << 40;
  core::WindowStats back;
  ASSERT_TRUE(add_packed(back, pack_stats(w)));
  EXPECT_EQ(back.total, 0xffffffffu);
}

TEST(PackedStats, RejectsWhatItDidNotWrite) {
  core::WindowStats w;
  EXPECT_FALSE(add_packed(w, ""));
  EXPECT_FALSE(add_packed(w, "1 1 0 0 0 0 0 0 0"));
  std::string p = pack_stats(stats(3, 1, 10, 1));
  EXPECT_FALSE(add_packed(w, p + "x"));
  EXPECT_FALSE(add_packed(w, p.substr(1)));
  // A negative or non-finite time sum.
  auto bad = stats(3, 1, -1.0, 1);
  EXPECT_FALSE(add_packed(w, pack_stats(bad)));
  bad.delivery_time_sum_ms = std::numeric_limits<double>::infinity();
  bad.response_time_sum_ms = 0;
  EXPECT_FALSE(add_packed(w, pack_stats(bad)));
  expect_same(w, core::WindowStats{});  // untouched
}

// A stats hash as HGETALL returns it: owned strings, viewed by Fields.
struct Hash {
  std::vector<std::pair<std::string, std::string>> owned;
  Fields view() const {
    Fields f;
    for (const auto& [k, v] : owned)
      f.emplace_back(k, v);
    return f;
  }
};

TEST(SumLastHour, CountsTheSixtyMinutesEndingNowAndReportsOlderOnesStale) {
  const double now = 1795620000.0 + 42;  // 42 s into minute m
  const auto m = static_cast<std::int64_t>(1795620000 / 60);
  Hash h;
  for (std::int64_t k = m - 61; k <= m + 1; ++k)
    h.owned.emplace_back(std::to_string(k), pack_stats(stats(10, 1, 100, 2, 50, 1)));
  std::vector<std::string> stale;
  const auto w = sum_last_hour(h.view(), now, &stale);
  // m-59 … m: 60 buckets; m-61 and m-60 are stale; m+1 (a clock ahead) waits, not stale.
  EXPECT_EQ(w.total, 600u);
  EXPECT_EQ(w.failed, 60u);
  EXPECT_EQ(w.response_time_sum_ms, 6000.0);
  EXPECT_EQ(w.response_time_count, 120u);
  EXPECT_EQ(w.delivery_time_count, 60u);
  EXPECT_EQ(stale, (std::vector<std::string>{std::to_string(m - 61), std::to_string(m - 60)}));
  // A minute later the oldest counted bucket is stale too, and m+1 counts.
  stale.clear();
  const auto later = sum_last_hour(h.view(), now + 60, &stale);
  EXPECT_EQ(later.total, 600u);
  EXPECT_EQ(stale.size(), 3u);
}

// Buckets further ahead than an event may be (a day) never count and are deleted; those within
// the day wait for their minute.
TEST(SumLastHour, BucketsBeyondADayAheadAreStale) {
  const double now = 1795620000.0;
  const auto m = static_cast<std::int64_t>(now / 60);
  Hash h;
  h.owned = {{std::to_string(m), pack_stats(stats(1, 0))},
             {std::to_string(m + 1440), pack_stats(stats(2, 0))},
             {std::to_string(m + 1441), pack_stats(stats(4, 0))},
             {std::to_string(static_cast<std::int64_t>(9.9e10 / 60)), pack_stats(stats(8, 0))}};
  std::vector<std::string> stale;
  const auto w = sum_last_hour(h.view(), now, &stale);
  EXPECT_EQ(w.total, 1u);
  EXPECT_EQ(stale,
            (std::vector<std::string>{std::to_string(m + 1441),
                                      std::to_string(static_cast<std::int64_t>(9.9e10 / 60))}));
}

TEST(SumLastHour, ReadsTheEarlierOneFieldPerCounterLayoutAndIgnoresJunk) {
  const double now = 1795620000.0;
  const auto m = static_cast<std::int64_t>(now / 60);
  Hash h;
  const std::string cur = std::to_string(m - 1), old = std::to_string(m - 90);
  h.owned = {{cur + ":t", "5"},
             {cur + ":f", "2"},
             {cur + ":rs", "1500.5"},
             {cur + ":rc", "3"},
             {old + ":t", "7"},
             {old + ":f", "7"},
             {std::to_string(m), pack_stats(stats(4, 0))},
             {"junk", "1"},
             {std::to_string(m - 2), "not packed"},
             {cur + "x", "9"}};
  std::vector<std::string> stale;
  const auto w = sum_last_hour(h.view(), now, &stale);
  EXPECT_EQ(w.total, 9u);
  EXPECT_EQ(w.failed, 2u);
  EXPECT_EQ(w.response_time_sum_ms, 1500.5);
  EXPECT_EQ(w.response_time_count, 3u);
  EXPECT_EQ(stale, (std::vector<std::string>{old + ":t", old + ":f"}));
}

// The strings of a msgpack array of str 32 (what the staged parts are).
std::vector<std::string> unpack_strings(const std::string& m) {
  auto u32 = [&](std::size_t at) {
    std::size_t n = 0;
    for (std::size_t k = 0; k < 4; ++k)
      n = n << 8 | static_cast<unsigned char>(m.at(at + k));
    return n;
  };
  EXPECT_EQ(static_cast<unsigned char>(m.at(0)), 0xDDu);
  std::vector<std::string> out(u32(1));
  std::size_t at = 5;
  for (auto& s : out) {
    EXPECT_EQ(static_cast<unsigned char>(m.at(at)), 0xDBu);
    const std::size_t n = u32(at + 1);
    s = m.substr(at + 5, n);
    at += 5 + n;
  }
  EXPECT_EQ(at, m.size());
  return out;
}

// Keys and entries of one part (nsessions, session entries, daily pairs from `i`); checks that
// the part holds at most 100 keys.
std::pair<std::size_t, std::size_t> count_part(const std::vector<std::string>& a, std::size_t i) {
  const std::size_t sessions = std::stoul(a.at(i++));
  std::size_t keys = 0, events = 0;
  for (std::size_t k = 0; k < sessions; ++k, ++keys) {
    const std::size_t m = std::stoul(a.at(i + 1));
    for (std::size_t j = 0; j < m; ++j) {
      core::WindowStats w;
      EXPECT_TRUE(add_packed(w, a.at(i + 3 + 2 * j)));
      events += w.total;
    }
    i += 2 + 2 * m;
  }
  for (; i + 1 < a.size(); i += 2)
    ++keys;
  EXPECT_EQ(i, a.size());
  EXPECT_LE(keys, 100u);
  return {keys, events};
}

// Every part of a batch in the order they are applied (the first, in ARGV, then the staged
// ones), as ARGV-like lists starting at nsessions.
std::vector<std::vector<std::string>> parts_of(const EventBatch& b) {
  const auto& a = b.args;
  std::vector<std::vector<std::string>> parts;
  parts.emplace_back(a.begin() + 6 + static_cast<std::ptrdiff_t>(b.staged), a.end());
  for (std::size_t k = 0; k < b.staged; ++k) {
    auto part = unpack_strings(a.at(6 + k));
    parts.emplace_back(part.begin() + 4, part.end());
  }
  return parts;
}

// The apply_events arguments of a batch: header, one entry per session stats hash (minutes in
// order, at most 1000 per entry), then the daily hashes, part by part.
TEST(EventBatch, ArgumentsGroupMinutesPerSessionAndDaysPerWorkspace) {
  boost::asio::io_context io;
  auto conn = redis::Connection::create(io.get_executor(), redis::Endpoint{}, "test");
  const Keys keys("p:", "q");
  const Store store(*conn, keys);
  config::Config cfg;
  cfg.analytics.retention_period_days = 30;

  const double t0 = 1795620000.0;  // a whole minute
  redis::Reply events;
  events.type = redis::Reply::Type::array;
  auto push = [&](const std::string& json) {
    redis::Reply e;
    e.type = redis::Reply::Type::string;
    e.str = json;
    events.elements.push_back(e);
  };
  auto ev = [](const std::string& s, const std::string& status, double at,
               const std::string& extra = "") {
    return R"({"session_id":")" + s + R"(","workspace_id":7,"provider":"webjs","status":")" +
           status + R"(","at":)" + std::to_string(static_cast<long long>(at)) + extra + "}";
  };
  push(ev("b", "sent", t0 + 61));
  push(ev("a", "failed", t0 + 1, R"(,"response_time_ms":250.5)"));
  push("garbage");
  push(ev("a", "delivered", t0 + 2, R"(,"delivery_time_ms":1000)"));
  // 1,001 distinct minutes of session c (within the day ahead that is accepted): two entries.
  for (int k = 0; k < 1001; ++k)
    push(ev("c", "read", t0 + 60.0 * k));
  // Before the last hour: only in the daily counters.
  push(ev("d", "sent", t0 - 3600));
  push(R"({"workspace_id":7,"provider":"meta_api","status":"sent","at":)" +
       std::to_string(static_cast<long long>(t0)) + "}");

  const EventBatch b = store.prepare_events(events, t0, cfg);
  EXPECT_EQ(b.count, events.elements.size());
  EXPECT_EQ(b.malformed, 1u);
  ASSERT_EQ(b.errors.size(), 1u);
  const auto& a = b.args;
  ASSERT_GE(a.size(), 7u);
  EXPECT_EQ(a[0], std::to_string(b.count));
  EXPECT_EQ(a[1], events.elements.back().str);  // checked by the script before trimming
  EXPECT_EQ(a[2], "7200");
  EXPECT_EQ(a[3], std::to_string(31 * 86400));
  EXPECT_EQ(a[4], "1");
  EXPECT_EQ(a[5], std::to_string(b.staged));

  // Session entries and daily hashes, over every part in order.
  std::vector<std::pair<std::string, std::vector<std::string>>> sessions;  // key, minutes
  std::vector<std::string> packed_minutes;
  std::uint64_t total = 0;
  std::size_t daily = 0;
  for (const auto& part : parts_of(b)) {
    std::size_t i = 0;
    const std::size_t n = std::stoul(part.at(i++));
    for (std::size_t k = 0; k < n; ++k) {
      const std::size_t m = std::stoul(part.at(i + 1));
      sessions.push_back({part.at(i), {}});
      for (std::size_t j = 0; j < m; ++j) {
        sessions.back().second.push_back(part.at(i + 2 + 2 * j));
        packed_minutes.push_back(part.at(i + 3 + 2 * j));
      }
      i += 2 + 2 * m;
    }
    for (; i + 1 < part.size(); i += 2) {
      EXPECT_TRUE(part[i].starts_with("p:wa:stats:daily:7:")) << part[i];
      core::WindowStats w;
      EXPECT_TRUE(add_packed(w, part[i + 1]));
      total += w.total;
      ++daily;
    }
    EXPECT_EQ(i, part.size());
  }
  const auto m0 = static_cast<long long>(t0 / 60);
  ASSERT_EQ(sessions.size(), 4u);  // a; b; c in two entries; not d
  EXPECT_EQ(sessions[0].first, "p:wa:stats:session:a");
  EXPECT_EQ(sessions[0].second, std::vector<std::string>{std::to_string(m0)});
  core::WindowStats wa;
  ASSERT_TRUE(add_packed(wa, packed_minutes.at(0)));
  EXPECT_EQ(wa.total, 2u);
  EXPECT_EQ(wa.failed, 1u);
  EXPECT_EQ(wa.delivered, 1u);
  EXPECT_EQ(wa.response_time_sum_ms, 250.5);
  EXPECT_EQ(wa.delivery_time_sum_ms, 1000.0);
  EXPECT_EQ(sessions[1].first, "p:wa:stats:session:b");
  EXPECT_EQ(sessions[1].second, std::vector<std::string>{std::to_string(m0 + 1)});
  EXPECT_EQ(sessions[2].first, "p:wa:stats:session:c");
  ASSERT_EQ(sessions[2].second.size(), 1000u);
  EXPECT_EQ(sessions[2].second.front(), std::to_string(m0));  // ascending
  EXPECT_EQ(sessions[3].first, "p:wa:stats:session:c");
  EXPECT_EQ(sessions[3].second, std::vector<std::string>{std::to_string(m0 + 1000)});
  // Daily hashes: every good event, per workspace, provider and UTC day.
  EXPECT_EQ(total, b.count - b.malformed);
  EXPECT_GE(daily, 3u);  // meta_api and webjs today, and the next day of c
}

// A batch whose events name thousands of sessions and workspaces is applied in parts of at most
// 100 keys: the first in ARGV, the others staged as msgpack arrays; only the last trims.
TEST(EventBatch, ManyKeysAreSplitIntoBoundedParts) {
  boost::asio::io_context io;
  auto conn = redis::Connection::create(io.get_executor(), redis::Endpoint{}, "test");
  const Keys keys("", "q");
  const Store store(*conn, keys);
  const config::Config cfg;
  const double now = 1795620000.0;
  redis::Reply events;
  events.type = redis::Reply::Type::array;
  for (int k = 0; k < 3000; ++k) {
    redis::Reply e;
    e.type = redis::Reply::Type::string;
    e.str = R"({"session_id":"s)" + std::to_string(k) + R"(","workspace_id":)" + std::to_string(k) +
            R"(,"provider":"webjs","status":"sent"})";
    events.elements.push_back(std::move(e));
  }
  events.elements.back().str = "garbage";
  const EventBatch b = store.prepare_events(events, now, cfg);
  EXPECT_EQ(b.count, 3000u);
  EXPECT_EQ(b.malformed, 1u);
  // 2,999 session keys and 2,999 daily keys, at most 100 per part.
  ASSERT_GE(b.staged, 59u);
  const auto& a = b.args;
  EXPECT_EQ(a.at(5), std::to_string(b.staged));
  std::size_t keys_seen = 0, session_events = 0;
  for (std::size_t k = 0; k < b.staged; ++k) {
    const auto part = unpack_strings(a.at(6 + k));
    const bool last = k + 1 == b.staged;
    EXPECT_EQ(part.at(0), last ? "3000" : "0");
    EXPECT_EQ(part.at(1), last ? "1" : "0");
    EXPECT_EQ(part.at(2), "7200");
    EXPECT_EQ(part.at(3), std::to_string(31 * 86400));
    const auto [n, e] = count_part(part, 4);
    keys_seen += n;
    session_events += e;
  }
  const auto [n, e] = count_part(a, 6 + b.staged);
  keys_seen += n;
  session_events += e;
  EXPECT_EQ(keys_seen, 2 * 2999u);
  EXPECT_EQ(session_events, 2999u);
}

// What hiredis itself makes of the same arguments.
std::string hiredis_resp(const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  char* out = nullptr;
  const int n =
      redisFormatCommandArgv(&out, static_cast<int>(args.size()), argv.data(), lens.data());
  std::string s(out, static_cast<std::size_t>(n));
  redisFreeCommand(out);
  return s;
}

TEST(Wire, WritesCommandsBackToBackAsHiredisFormatsThem) {
  const std::vector<std::string> first{"RPUSH", "k", "", std::string("a\r\n\0b", 5),
                                       std::string(300, 'x')};
  const std::vector<std::string> second{"EXPIRE", "k", "-12"};
  redis::Wire w;
  EXPECT_TRUE(w.complete());
  w.command(first.size());
  for (const auto& a : first)
    w.arg(a);
  w.command(3);
  EXPECT_FALSE(w.complete());
  w.arg("EXPIRE");
  w.arg("k");
  w.arg(-12LL);
  EXPECT_TRUE(w.complete());
  ASSERT_EQ(w.commands(), 2u);
  const std::string a = hiredis_resp(first), b = hiredis_resp(second);
  EXPECT_EQ(w.bytes(), a + b);
  EXPECT_EQ(w.start(0), 0u);
  EXPECT_EQ(w.start(1), a.size());
  // Commands given as vectors of strings make the same bytes.
  EXPECT_EQ(redis::Wire::of({first, second}).bytes(), w.bytes());
}

TEST(Wire, WritesEveryLongLongInDecimal) {
  redis::Wire w;
  w.command(4);
  w.arg(0LL);
  w.arg(std::numeric_limits<long long>::min());
  w.arg(std::numeric_limits<long long>::max());
  w.arg(10000LL);
  EXPECT_EQ(w.bytes(), hiredis_resp({"0", "-9223372036854775808", "9223372036854775807", "10000"}));
}

}  // namespace
}  // namespace wa::queue
