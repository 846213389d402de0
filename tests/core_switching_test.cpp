// Provider switching mid-campaign (CONTRACT.md section 6): which targets break, where their
// undelivered contacts go, and how the stored distribution follows.
#include "core/switching.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/select.hpp"
#include "core_test_helpers.hpp"

namespace {

using namespace wa::core;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Not;
using wa::config::Config;
using wa::config::SwitchThresholds;
using wa::test::direct;
using wa::test::make_session;
using wa::test::stats;
using wa::test::templated;
using wa::test::tmpl;
using wa::test::Workspace;

// --- switch_break -----------------------------------------------------------------------------

class SwitchBreakTest : public ::testing::Test {
 protected:
  SwitchThresholds t;  // error 10%, response 5000 ms, health 60
  Session s = make_session("s", 90);

  std::optional<SwitchReason> check() const { return switch_break(&s, t); }
};

TEST_F(SwitchBreakTest, HealthySessionDoesNotBreak) {
  EXPECT_EQ(check(), std::nullopt);
  s.last_hour = stats(100, 10, 5000.0);  // exactly at both limits
  s.health = 60;                         // exactly at the health limit
  EXPECT_EQ(check(), std::nullopt);
}

TEST_F(SwitchBreakTest, MissingSessionIsDisconnected) {
  EXPECT_EQ(switch_break(nullptr, t), SwitchReason::disconnected);
  s.exists = false;
  EXPECT_EQ(check(), SwitchReason::disconnected);
}

TEST_F(SwitchBreakTest, AnyStatusButConnectedIsDisconnected) {
  for (const SessionStatus st :
       {SessionStatus::authenticated, SessionStatus::connecting, SessionStatus::qr_scanning,
        SessionStatus::disconnected, SessionStatus::failed, SessionStatus::error,
        SessionStatus::other}) {
    s.status = st;
    EXPECT_EQ(check(), SwitchReason::disconnected) << to_string(st);
  }
}

TEST_F(SwitchBreakTest, InactiveIsDisconnected) {
  s.is_active = false;
  EXPECT_EQ(check(), SwitchReason::disconnected);
}

TEST_F(SwitchBreakTest, HealthBelowThreshold) {
  s.health = 59;
  EXPECT_EQ(check(), SwitchReason::health_below_threshold);
  t.health_score_threshold = 90;
  s.health = 89;
  EXPECT_EQ(check(), SwitchReason::health_below_threshold);
  s.health = 90;
  EXPECT_EQ(check(), std::nullopt);
}

TEST_F(SwitchBreakTest, ErrorRateAboveThreshold) {
  s.last_hour = stats(100, 11);
  EXPECT_EQ(check(), SwitchReason::error_rate_above_threshold);
  s.last_hour = stats(100, 10);
  EXPECT_EQ(check(), std::nullopt);
  t.error_rate_threshold = 5;
  EXPECT_EQ(check(), SwitchReason::error_rate_above_threshold);
}

TEST_F(SwitchBreakTest, ResponseTimeAboveThreshold) {
  s.last_hour = stats(10, 0, 5001.0);
  EXPECT_EQ(check(), SwitchReason::response_time_above_threshold);
  s.last_hour = stats(10, 0, 5000.0);
  EXPECT_EQ(check(), std::nullopt);
  t.response_time_threshold = 1000;
  EXPECT_EQ(check(), SwitchReason::response_time_above_threshold);
}

TEST_F(SwitchBreakTest, NoMessagesBreakNeitherRateNorResponse) {
  s.last_hour = {};
  t.error_rate_threshold = 0;
  t.response_time_threshold = 1;
  EXPECT_EQ(check(), std::nullopt);
}

TEST_F(SwitchBreakTest, ReasonsInTheContractsOrder) {
  s.last_hour = stats(10, 5, 9000.0);  // error rate and response time both broken
  s.health = 10;
  s.status = SessionStatus::disconnected;
  EXPECT_EQ(check(), SwitchReason::disconnected);
  s.status = SessionStatus::connected;
  EXPECT_EQ(check(), SwitchReason::health_below_threshold);
  s.health = 90;
  EXPECT_EQ(check(), SwitchReason::error_rate_above_threshold);
  s.last_hour = stats(10, 0, 9000.0);
  EXPECT_EQ(check(), SwitchReason::response_time_above_threshold);
}

TEST(SwitchReasonTest, Names) {
  EXPECT_EQ(to_string(SwitchReason::disconnected), "disconnected");
  EXPECT_EQ(to_string(SwitchReason::health_below_threshold), "health_below_threshold");
  EXPECT_EQ(to_string(SwitchReason::error_rate_above_threshold), "error_rate_above_threshold");
  EXPECT_EQ(to_string(SwitchReason::response_time_above_threshold),
            "response_time_above_threshold");
}

// --- plan_switches ----------------------------------------------------------------------------

class PlanSwitchesTest : public ::testing::Test {
 protected:
  Config cfg;
  Workspace ws;

  std::vector<SwitchMove> plan(const CampaignSpec& spec, std::vector<TargetState> targets) {
    return plan_switches(spec, targets, ws.view(), cfg);
  }
  static std::vector<std::string> destinations(const SwitchMove& m) {
    std::vector<std::string> out;
    for (const Target& t : m.decision.distribution)
      out.push_back(t.target);
    return out;
  }
  static std::uint64_t moved_total(const SwitchMove& m) {
    std::uint64_t sum = 0;
    for (const Target& t : m.decision.distribution)
      sum += t.slice.count;
    return sum;
  }
};

TEST_F(PlanSwitchesTest, HealthyTargetsDoNotMove) {
  ws.add(make_session("s1", 90));
  ws.add(make_session("s2", 70));
  EXPECT_THAT(plan(direct(), {{"s1", 50}, {"s2", 20}}), IsEmpty());
}

TEST_F(PlanSwitchesTest, DisconnectedTargetMovesToTheEligibleSessions) {
  ws.add(make_session("s1", 95, true)).status = SessionStatus::disconnected;
  ws.add(make_session("s2", 90));
  ws.add(make_session("s3", 70));
  const auto moves = plan(direct(), {{"s1", 100}, {"s2", 50}});
  ASSERT_EQ(moves.size(), 1u);
  const SwitchMove& m = moves[0];
  EXPECT_EQ(m.from, "s1");
  EXPECT_EQ(m.reason, SwitchReason::disconnected);
  EXPECT_EQ(m.moved, 100u);
  EXPECT_EQ(m.decision.type, DecisionType::webjs);
  EXPECT_THAT(destinations(m), ElementsAre("s2", "s3"));  // tier order, never s1
  EXPECT_EQ(moved_total(m), 100u);
  // The moved contacts keep their order: contiguous blocks of positions 0 … moved−1.
  std::uint64_t next = 0;
  for (const Target& t : m.decision.distribution) {
    EXPECT_EQ(t.slice.first, next);
    EXPECT_EQ(t.slice.stride, 1u);
    next += t.slice.count;
  }
}

TEST_F(PlanSwitchesTest, NeverMovesBackToABrokenSession) {
  // s1 is connected, active and healthy enough to be in the secondary tier, but its error rate
  // breaks the switch threshold: it loses its contacts and gets none back.
  ws.add(make_session("s1", 95, true)).last_hour = stats(20, 4);  // 20% > 10%
  ws.add(make_session("s2", 65));
  const auto moves = plan(direct(), {{"s1", 30}, {"s2", 10}});
  ASSERT_EQ(moves.size(), 1u);
  EXPECT_EQ(moves[0].reason, SwitchReason::error_rate_above_threshold);
  EXPECT_EQ(moves[0].moved, 30u);
  EXPECT_THAT(destinations(moves[0]), ElementsAre("s2"));
}

TEST_F(PlanSwitchesTest, SlowAndUnhealthyTargetsMoveWithTheirReasons) {
  ws.add(make_session("slow", 90)).last_hour = stats(10, 0, 8000.0);
  ws.add(make_session("weak", 50));
  ws.add(make_session("good", 85));
  const auto moves = plan(direct(), {{"slow", 7}, {"weak", 3}, {"good", 1}});
  ASSERT_EQ(moves.size(), 2u);
  EXPECT_EQ(moves[0].from, "slow");
  EXPECT_EQ(moves[0].reason, SwitchReason::response_time_above_threshold);
  EXPECT_THAT(destinations(moves[0]), ElementsAre("good"));
  EXPECT_EQ(moves[1].from, "weak");
  EXPECT_EQ(moves[1].reason, SwitchReason::health_below_threshold);
  EXPECT_THAT(destinations(moves[1]), ElementsAre("good"));
  for (const SwitchMove& m : moves) {
    EXPECT_THAT(destinations(m), Not(Contains(m.from)));
    EXPECT_EQ(moved_total(m), m.moved);
  }
}

TEST_F(PlanSwitchesTest, TargetMissingFromTheWorkspaceIsDisconnected) {
  ws.add(make_session("s2", 90));
  const auto moves = plan(direct(), {{"gone", 12}});
  ASSERT_EQ(moves.size(), 1u);
  EXPECT_EQ(moves[0].reason, SwitchReason::disconnected);
  EXPECT_EQ(moves[0].moved, 12u);
  EXPECT_THAT(destinations(moves[0]), ElementsAre("s2"));
}

TEST_F(PlanSwitchesTest, TemplateModeMovesToMetaWhereSectionFourAllows) {
  ws.add(make_session("s1", 90)).status = SessionStatus::failed;
  ws.meta.configured = true;
  const auto moves = plan(templated(TemplateStatus::approved), {{"s1", 40}});
  ASSERT_EQ(moves.size(), 1u);
  EXPECT_EQ(moves[0].moved, 40u);
  EXPECT_EQ(moves[0].decision.type, DecisionType::meta_api);
  EXPECT_THAT(destinations(moves[0]), ElementsAre("meta_api"));
  EXPECT_EQ(moved_total(moves[0]), 40u);
}

TEST_F(PlanSwitchesTest, FollowsSectionFoursOrderOfProviders) {
  // Template mode: with no primary-tier session left, Meta comes before a secondary-tier one.
  ws.add(make_session("s1", 90)).status = SessionStatus::disconnected;
  ws.add(make_session("s2", 70));
  ws.meta.configured = true;
  const auto templated_moves = plan(templated(TemplateStatus::approved), {{"s1", 5}});
  ASSERT_EQ(templated_moves.size(), 1u);
  EXPECT_THAT(destinations(templated_moves[0]), ElementsAre("meta_api"));
  // Direct mode: the secondary-tier session comes before the Meta fallback.
  const auto direct_moves =
      plan(direct(Preference::automatic, tmpl(TemplateStatus::approved)), {{"s1", 5}});
  ASSERT_EQ(direct_moves.size(), 1u);
  EXPECT_THAT(destinations(direct_moves[0]), ElementsAre("s2"));
}

TEST_F(PlanSwitchesTest, DirectModeWithoutTemplateHasNowhereToGo) {
  ws.add(make_session("s1", 90)).status = SessionStatus::disconnected;
  ws.meta.configured = true;  // Meta cannot take free-form text without an approved template
  const auto moves = plan(direct(), {{"s1", 25}});
  ASSERT_EQ(moves.size(), 1u);
  EXPECT_EQ(moves[0].from, "s1");
  EXPECT_EQ(moves[0].reason, SwitchReason::disconnected);
  EXPECT_EQ(moves[0].moved, 0u);
  EXPECT_EQ(moves[0].decision.type, DecisionType::queue);
  EXPECT_THAT(moves[0].decision.distribution, IsEmpty());
}

TEST_F(PlanSwitchesTest, PreferenceIsRespectedWhenMoving) {
  ws.add(make_session("s1", 90)).status = SessionStatus::disconnected;
  ws.meta.configured = true;
  // A webjs preference never spends money on Meta, even with an approved template.
  const auto moves = plan(direct(Preference::webjs, tmpl(TemplateStatus::approved)), {{"s1", 9}});
  ASSERT_EQ(moves.size(), 1u);
  EXPECT_EQ(moves[0].moved, 0u);
  EXPECT_EQ(moves[0].decision.type, DecisionType::queue);
}

TEST_F(PlanSwitchesTest, MetaTargetsAndEmptyTargetsNeverBreak) {
  ws.add(make_session("s1", 90)).status = SessionStatus::disconnected;
  ws.add(make_session("s2", 90));
  EXPECT_THAT(plan(direct(), {{"meta_api", 100}, {"s1", 0}, {"gone", 0}}), IsEmpty());
}

TEST_F(PlanSwitchesTest, SeveralBrokenTargetsEachGetAMove) {
  ws.add(make_session("a", 90)).is_active = false;
  ws.add(make_session("b", 90)).exists = false;
  ws.add(make_session("c", 80));
  ws.add(make_session("d", 75));
  const auto moves = plan(direct(), {{"a", 10}, {"c", 4}, {"b", 6}, {"meta_api", 3}});
  ASSERT_EQ(moves.size(), 2u);
  EXPECT_EQ(moves[0].from, "a");
  EXPECT_EQ(moves[0].moved, 10u);
  EXPECT_EQ(moves[1].from, "b");
  EXPECT_EQ(moves[1].moved, 6u);
  for (const SwitchMove& m : moves) {
    EXPECT_THAT(destinations(m), ElementsAre("c", "d"));
    EXPECT_EQ(moved_total(m), m.moved);
  }
}

// --- apply_move -------------------------------------------------------------------------------

SwitchMove move_to(std::string from, std::uint64_t moved,
                   const std::vector<std::pair<std::string, std::uint64_t>>& to) {
  SwitchMove m;
  m.from = std::move(from);
  m.moved = moved;
  m.decision.type = to.empty() ? DecisionType::queue : DecisionType::webjs;
  std::uint64_t next = 0;
  for (const auto& [target, count] : to) {
    m.decision.distribution.push_back({target, nullptr, Slice{next, 1, count}});
    next += count;
  }
  return m;
}

std::uint64_t sum_of(const std::vector<DistributionEntry>& d) {
  std::uint64_t s = 0;
  for (const auto& e : d)
    s += e.count;
  return s;
}

TEST(ApplyMoveTest, WholeTargetMovesAndItsEntryGoes) {
  std::vector<DistributionEntry> d{{"s1", 100}, {"s2", 50}};
  apply_move(d, move_to("s1", 100, {{"s2", 60}, {"s3", 40}}));
  EXPECT_THAT(d, ElementsAre(DistributionEntry{"s2", 110}, DistributionEntry{"s3", 40}));
  EXPECT_EQ(sum_of(d), 150u);
}

TEST(ApplyMoveTest, PartlyDeliveredTargetKeepsWhatItSent) {
  std::vector<DistributionEntry> d{{"s1", 100}, {"s2", 50}};
  apply_move(d, move_to("s1", 30, {{"s2", 20}, {"s3", 10}}));
  EXPECT_THAT(d, ElementsAre(DistributionEntry{"s1", 70}, DistributionEntry{"s2", 70},
                             DistributionEntry{"s3", 10}));
  EXPECT_EQ(sum_of(d), 150u);
}

TEST(ApplyMoveTest, NewTargetsAreAppendedInTheMovesOrder) {
  std::vector<DistributionEntry> d{{"s1", 10}, {"s2", 5}};
  apply_move(d, move_to("s2", 5, {{"meta_api", 5}}));
  EXPECT_THAT(d, ElementsAre(DistributionEntry{"s1", 10}, DistributionEntry{"meta_api", 5}));
  apply_move(d, move_to("s1", 10, {{"z", 3}, {"a", 7}}));
  EXPECT_THAT(d, ElementsAre(DistributionEntry{"meta_api", 5}, DistributionEntry{"z", 3},
                             DistributionEntry{"a", 7}));
}

TEST(ApplyMoveTest, NowhereChangesNothing) {
  std::vector<DistributionEntry> d{{"s1", 10}, {"s2", 5}};
  const auto before = d;
  apply_move(d, move_to("s1", 0, {}));
  EXPECT_EQ(d, before);
}

TEST(ApplyMoveTest, PlannedMovesKeepTheTotal) {
  Config cfg;
  Workspace ws;
  ws.add(make_session("s1", 90)).status = SessionStatus::disconnected;
  ws.add(make_session("s2", 85));
  ws.add(make_session("s3", 75));
  ws.add(make_session("s4", 65)).last_hour = stats(10, 3);
  std::vector<DistributionEntry> d{{"s1", 500}, {"s2", 300}, {"s4", 200}};
  const std::vector<TargetState> targets{{"s1", 420}, {"s2", 100}, {"s4", 199}};
  const auto moves = plan_switches(direct(), targets, ws.view(), cfg);
  ASSERT_EQ(moves.size(), 2u);
  for (const SwitchMove& m : moves)
    apply_move(d, m);
  EXPECT_EQ(sum_of(d), 1000u);
  EXPECT_THAT(d, ElementsAre(DistributionEntry{"s1", 80}, DistributionEntry{"s2", 300 + 223 + 106},
                             DistributionEntry{"s4", 1}, DistributionEntry{"s3", 197 + 93}));
}

}  // namespace
