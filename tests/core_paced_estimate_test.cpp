// Prediction with pacing on (core/paced_estimate.hpp and decide()'s use of it), time injected.
#include "core/paced_estimate.hpp"

#include <gtest/gtest.h>

#include "core/select.hpp"
#include "core_test_helpers.hpp"

namespace wa::test {
namespace {

using core::TargetPace;
using core::WorkspacePace;

config::Config no_warmup() {
  config::Config c;
  c.pacing.warmup.days = 0;
  return c;
}

WorkspacePace at_rate(double rate) {
  WorkspacePace p;
  p.rate_per_hour = rate;
  return p;
}

TEST(PacedEstimate, ContactsAheadTakeTurnsWithOtherCampaigns) {
  TargetPace t;
  t.ready = 2;
  t.campaign_backlogs = {5, 100};
  EXPECT_EQ(core::contacts_ahead(t, 10), 2u + 5u + 10u);
  EXPECT_EQ(core::contacts_ahead(TargetPace{}, 10), 0u);
}

TEST(PacedEstimate, ASessionCountsWhatWaitsAndItsRate) {
  const auto cfg = no_warmup();
  const Session s = make_session("s1", 90);
  WorkspacePace ws = at_rate(600);  // 10 a minute
  EXPECT_EQ(core::paced_session_minutes(s, 60, ws, cfg, kNow), 6u);
  ws.targets["s1"].campaign_backlogs = {60};
  EXPECT_EQ(core::paced_session_minutes(s, 60, ws, cfg, kNow), 12u);
  ws.targets["s1"].factor = 0.5;  // the adaptive factor halves the rate
  EXPECT_EQ(core::paced_session_minutes(s, 60, ws, cfg, kNow), 24u);
  auto off = cfg;
  off.pacing.adaptive.enabled = false;
  EXPECT_EQ(core::paced_session_minutes(s, 60, ws, off, kNow), 12u);
  EXPECT_EQ(core::paced_session_minutes(s, 0, ws, cfg, kNow), 0u);
}

TEST(PacedEstimate, TheCapPushesTheRestToTheNextLocalDay) {
  const auto cfg = no_warmup();
  const Session s = make_session("s1", 90);
  WorkspacePace ws = at_rate(600);
  ws.daily_cap = 100;
  ws.targets["s1"].day = "2027-01-15";  // kNow is 2027-01-15T08:00:00Z
  ws.targets["s1"].released_today = 90;
  // 10 today; the other 20 from midnight UTC (16 h away): 960 + 2 minutes.
  EXPECT_EQ(core::paced_session_minutes(s, 30, ws, cfg, kNow), 962u);
  ws.targets["s1"].day = "2027-01-14";  // yesterday's count does not hold today
  EXPECT_EQ(core::paced_session_minutes(s, 30, ws, cfg, kNow), 3u);
  ws.daily_cap = 0;  // never
  EXPECT_FALSE(core::paced_session_minutes(s, 30, ws, cfg, kNow));
}

TEST(PacedEstimate, ClosedHoursAddTheWaitUntilTheyOpen) {
  const auto cfg = no_warmup();
  const Session s = make_session("s1", 90);
  WorkspacePace ws = at_rate(600);
  ws.hours = core::parse_sending_hours("09:00-17:00");
  EXPECT_EQ(core::paced_session_minutes(s, 60, ws, cfg, kNow), 66u);
  ws.timezone = "Asia/Tokyo";  // 17:00 there: closed until 09:00 tomorrow, 16 h away
  EXPECT_EQ(core::paced_session_minutes(s, 60, ws, cfg, kNow), 16u * 60 + 6);
}

TEST(PacedEstimate, AWindowThatClosesTodaySendsTheRestTomorrow) {
  const auto cfg = no_warmup();
  const Session s = make_session("s1", 90);
  WorkspacePace ws = at_rate(600);
  ws.hours = core::parse_sending_hours("07:00-08:30");  // 30 minutes left: 300 releases
  // 300 today, 100 at tomorrow's opening (23 h away) + 10 minutes.
  EXPECT_EQ(core::paced_session_minutes(s, 400, ws, cfg, kNow), 23u * 60 + 10);
}

TEST(PacedEstimate, MetaCountsItsBacklogAndTheWindow) {
  WorkspacePace ws;
  TargetPace t;
  t.campaign_backlogs = {3600};
  EXPECT_EQ(core::paced_meta_minutes(3600, 3600 * 60, 0, &t, ws, kNow), 2u);
  EXPECT_EQ(core::paced_meta_minutes(3600, 3600 * 60, 0, nullptr, ws, kNow), 1u);
  ws.hours = core::parse_sending_hours("09:00-17:00");
  EXPECT_EQ(core::paced_meta_minutes(3600, 3600 * 60, 0, nullptr, ws, kNow), 61u);
}

TEST(PacedEstimate, DecideTakesTheSlowestSessionWithPacingOn) {
  auto cfg = no_warmup();
  Workspace w;
  w.add(make_session("s1", 90, true));
  w.add(make_session("s2", 90));
  WorkspacePace pace = at_rate(600);
  pace.targets["s2"].campaign_backlogs = {1000};  // s2 is busy
  auto view = w.view();
  view.pace = &pace;
  const auto d = core::decide(direct(), 100, view, cfg, kNow);
  ASSERT_TRUE(d.prediction);
  // 50 each: s1 in 5 minutes, s2 after 50 of the busy campaign: 10 minutes.
  EXPECT_EQ(d.prediction->webjs.estimated_minutes, 10u);
  cfg.pacing.enabled = false;  // section 4's estimate
  const auto v1 = core::decide(direct(), 100, view, cfg, kNow);
  EXPECT_NE(v1.prediction->webjs.estimated_minutes, 10u);
}

TEST(PacedEstimate, ADecisionIsCountedForTheNextOne) {
  Workspace w;
  w.add(make_session("s1", 90, true));
  WorkspacePace pace = at_rate(600);
  auto view = w.view();
  view.pace = &pace;
  const auto cfg = no_warmup();
  const auto first = core::decide(direct(), 60, view, cfg, kNow);
  core::add_to_backlogs(pace, first);
  const auto second = core::decide(direct(), 60, view, cfg, kNow);
  EXPECT_EQ(first.prediction->webjs.estimated_minutes, 6u);
  EXPECT_EQ(second.prediction->webjs.estimated_minutes, 12u);
}

}  // namespace
}  // namespace wa::test
