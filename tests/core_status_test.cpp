// The status page's pure parts (core/status.hpp): the throughput ring, and what the page reads of
// decision records, dead entries and released items.
#include "core/status.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>

#include "core/records.hpp"

namespace {

using namespace wa::core;
namespace json = boost::json;
using ::testing::ElementsAre;

constexpr Seconds kAt = 1795694400;  // 2026-11-26T12:00:00Z

TEST(StatusThroughput, CountsTheLastMinuteOnly) {
  Throughput t;
  t.add(kAt - 90);  // older than a minute
  t.add(kAt - 59, 2);
  t.add(kAt - 1);
  t.add(kAt, 3);
  EXPECT_EQ(t.within(kAt, 60), 6u);
  EXPECT_EQ(t.within(kAt + 61, 60), 0u);
  EXPECT_EQ(t.within(kAt, 120), 7u);
}

TEST(StatusThroughput, ASlotReusedAfterTheRingTurnsStartsAtZero) {
  Throughput t;
  t.add(kAt, 5);
  t.add(kAt + Throughput::kSeconds, 1);  // the same slot, a ring later
  EXPECT_EQ(t.within(kAt + Throughput::kSeconds, 60), 1u);
}

TEST(StatusThroughput, PerMinuteOldestFirst) {
  Throughput t;
  t.add(kAt - 150);  // two minutes ago (age 150 s)
  t.add(kAt - 61, 2);
  t.add(kAt - 10, 4);
  t.add(kAt + 5, 9);  // ahead of now: not counted
  EXPECT_THAT(t.per_minute(kAt, 4), ElementsAre(0u, 1u, 2u, 4u));
}

TEST(StatusCampaign, ReadsTheDecisionRecord) {
  const std::string rec = R"({"job_id":"j1","campaign_id":42,"workspace_id":"w7","type":"webjs",
    "distribution":[{"target":"s1","count":700,"key":"wa:dispatch:42:s1"},
                    {"target":"s2","count":300,"key":"wa:dispatch:42:s2"}],
    "prediction":{"webjs":{"available":true,"estimated_minutes":27},
                  "meta_api":{"available":true,"estimated_minutes":1}},
    "selected_at":"2026-11-26T12:00:00.250Z"})";
  const auto c = parse_status_campaign(rec);
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->campaign_id.is_int64());
  EXPECT_EQ(c->id_text, "42");
  EXPECT_EQ(c->workspace_text, "w7");
  EXPECT_EQ(c->total, 1000u);
  ASSERT_EQ(c->targets.size(), 2u);
  EXPECT_EQ(c->targets[1].key, "wa:dispatch:42:s2");
  EXPECT_EQ(c->predicted_minutes, 27);
  ASSERT_TRUE(c->selected_at);
  EXPECT_DOUBLE_EQ(*c->selected_at, kAt + 0.25);
}

TEST(StatusCampaign, MetaTargetIsPacedPerWorkspace) {
  const auto c = parse_status_campaign(
      R"({"campaign_id":"c9","workspace_id":3,"type":"meta_api",
          "distribution":[{"target":"meta_api","count":5,"key":"wa:dispatch:c9:meta_api"}]})");
  ASSERT_TRUE(c);
  EXPECT_EQ(status_pacing_target(*c, c->targets[0]), "meta_api:3");
  EXPECT_FALSE(c->predicted_minutes);
}

TEST(StatusCampaign, NotARecord) {
  EXPECT_FALSE(parse_status_campaign("not json"));
  EXPECT_FALSE(parse_status_campaign(R"({"type":"webjs"})"));
  EXPECT_FALSE(parse_status_campaign(R"({"campaign_id":""})"));
}

TEST(StatusDead, IdsFromThePayload) {
  const std::string entry = dead_entry_json(
      R"({"job_id":"j-1","campaign_id":77,"template_mode":"x"})", "template_mode: bad", kAt);
  const json::object o = status_dead_entry(entry);
  EXPECT_EQ(o.at("job_id"), "j-1");
  EXPECT_EQ(o.at("campaign_id"), 77);
  EXPECT_EQ(o.at("error"), "template_mode: bad");
  EXPECT_EQ(o.at("failed_at"), json::value(iso8601(kAt)));
}

TEST(StatusDead, APayloadThatIsNotJsonHasNoIds) {
  const json::object o = status_dead_entry(dead_entry_json("{oops", "not JSON", kAt));
  EXPECT_FALSE(o.contains("job_id"));
  EXPECT_FALSE(o.contains("campaign_id"));
  EXPECT_EQ(o.at("error"), "not JSON");
}

TEST(StatusDead, AnUnreadableEntryKeepsItsText) {
  const json::object o = status_dead_entry("garbage");
  EXPECT_EQ(o.at("error"), "unreadable dead entry: garbage");
}

TEST(StatusReleased, CampaignOfAReadyItem) {
  EXPECT_EQ(released_campaign(R"({"campaign_id":42,"contact":"1"})"), "42");
  EXPECT_EQ(released_campaign(R"({"campaign_id":"c-1","contact":"1"})"), "c-1");
  EXPECT_EQ(released_campaign("[]"), "");
}

TEST(StatusTime, ParsesIso8601) {
  EXPECT_EQ(parse_iso8601_utc("2026-11-26T12:00:00.000Z"), kAt);
  EXPECT_EQ(parse_iso8601_utc("1970-01-01T00:00:00.000Z"), 0);
  EXPECT_FALSE(parse_iso8601_utc("2026-11-26 12:00:00"));
  EXPECT_FALSE(parse_iso8601_utc("2026-13-26T12:00:00.000Z"));
}

// A pace hash's rate of 1e308 (a workspace's rate_per_hour) overflowed the rounding to tenths
// into infinity, which came out as `Infinity`: not JSON. Values that are not finite are null.
TEST(StatusJson, HugeAndNonFiniteNumbersStayValidJson) {
  StatusSnapshot s;
  StatusWorkspace w;
  w.id = "14";
  StatusTargetRow row;
  row.id = "x14";
  row.rate_per_hour = 1e308;
  w.sessions.push_back(row);
  row.id = "x15";
  row.rate_per_hour = 1163.84;
  w.sessions.push_back(row);
  s.workspaces.push_back(w);
  s.alerts.push_back(json::object{{"value", std::numeric_limits<double>::infinity()}});
  boost::system::error_code ec;
  const json::value doc = json::parse(status_json(s, kAt), ec);
  ASSERT_FALSE(ec) << status_json(s, kAt);
  const json::array& sessions = doc.at("workspaces").at(0).at("sessions").as_array();
  EXPECT_EQ(sessions.at(0).at("rate_per_hour").to_number<double>(), 1e308);
  EXPECT_EQ(sessions.at(1).at("rate_per_hour").to_number<double>(), 1163.8);
  EXPECT_TRUE(doc.at("alerts").at(0).at("value").is_null());
}

}  // namespace
