// Provider switching mid-campaign (CONTRACT.md section 6): which targets break, where their
// undelivered contacts go, and how the stored distribution follows.
#include "core/switching.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
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

// --- moving in bounded steps ------------------------------------------------------------------

// A plan over `total` positions: contiguous blocks of the given sizes, or (stride > 1) dealt
// round robin over the targets.
MovePlan plan_over(std::uint64_t total, const std::vector<std::string>& targets,
                   const std::vector<std::uint64_t>& blocks = {}) {
  MovePlan p;
  p.from = "s9";
  p.total = total;
  const std::uint64_t k = targets.size();
  std::uint64_t next = 0;
  for (std::uint64_t j = 0; j < k; ++j) {
    if (blocks.empty()) {
      p.to.push_back({targets[j], {j, k, total > j ? (total - j + k - 1) / k : 0}});
    } else {
      p.to.push_back({targets[j], {next, 1, blocks[j]}});
      next += blocks[j];
    }
  }
  return p;
}

// Runs the plan's steps over a list holding 0 … list_len−1 the way the daemon and the step script
// do; `sender` pops that many contacts from the head before each step (what the target's own
// sender may do meanwhile). Returns each target's list, and the sender's in "sent".
std::map<std::string, std::vector<std::uint64_t>> run_steps(MovePlan plan, std::uint64_t list_len,
                                                            std::uint64_t max,
                                                            std::uint64_t sender = 0) {
  std::deque<std::uint64_t> list;
  for (std::uint64_t i = 0; i < list_len; ++i)
    list.push_back(i);
  std::map<std::string, std::vector<std::uint64_t>> out;
  for (int guard = 0; guard < 100000; ++guard) {
    for (std::uint64_t i = 0; i < sender && !list.empty(); ++i) {
      out["sent"].push_back(list.front());
      list.pop_front();
    }
    const MoveStep step = next_step(plan, max);
    if (list.size() < step.count) {  // the script's {-1, len}
      cut_plan(plan, plan.done + list.size());
      continue;
    }
    std::vector<std::uint64_t> chunk(list.begin(), list.begin() + step.count);
    list.erase(list.begin(), list.begin() + step.count);
    std::uint64_t covered = 0;
    for (const StepShare& s : step.shares) {
      for (std::uint64_t k = 0; k < s.slice.count; ++k)
        out[s.target].push_back(chunk.at(s.slice.position(k)));
      covered += s.slice.count;
    }
    EXPECT_EQ(covered, step.count);
    advance(plan, step);
    if (step.last) break;
  }
  for (const std::uint64_t x : list)
    out["left"].push_back(x);
  return out;
}

std::vector<std::string> targets_of(const SwitchMove& m) {
  std::vector<std::string> out;
  for (const Target& t : m.decision.distribution)
    out.push_back(t.target);
  return out;
}

// Every contact 0 … n−1 exactly once over all lists, and each list in order.
void expect_exactly_once_in_order(const std::map<std::string, std::vector<std::uint64_t>>& lists,
                                  std::uint64_t n) {
  std::vector<std::uint64_t> all;
  for (const auto& [target, items] : lists) {
    EXPECT_TRUE(std::is_sorted(items.begin(), items.end())) << target;
    EXPECT_EQ(std::adjacent_find(items.begin(), items.end()), items.end()) << target;
    all.insert(all.end(), items.begin(), items.end());
  }
  std::sort(all.begin(), all.end());
  std::vector<std::uint64_t> expected(n);
  std::iota(expected.begin(), expected.end(), 0);
  EXPECT_EQ(all, expected);
}

TEST(MoveStepsTest, SliceWithinAWindowIsRelativeToIt) {
  EXPECT_EQ(slice_within({10, 1, 20}, 0, 15), (Slice{10, 1, 5}));
  EXPECT_EQ(slice_within({10, 1, 20}, 15, 100), (Slice{0, 1, 15}));
  EXPECT_EQ(slice_within({10, 1, 20}, 30, 40), (Slice{0, 1, 0}));
  EXPECT_EQ(slice_within({10, 1, 20}, 0, 10), (Slice{0, 1, 0}));
  // Every 3rd from 1: 1 4 7 10 13 16; in [5, 14): 7 10 13 → 2 5 8 relative to 5.
  EXPECT_EQ(slice_within({1, 3, 6}, 5, 14), (Slice{2, 3, 3}));
  EXPECT_EQ(slice_within({1, 3, 6}, 17, 30), (Slice{0, 3, 0}));
  EXPECT_EQ(slice_within({1, 3, 6}, 5, 5), (Slice{0, 3, 0}));
}

TEST(MoveStepsTest, StepsTakeTheHeadAndCrossBlockBoundaries) {
  MovePlan p = plan_over(12, {"a", "b"}, {7, 5});
  MoveStep s = next_step(p, 5);
  EXPECT_EQ(s.offset, 0u);
  EXPECT_EQ(s.count, 5u);
  EXPECT_THAT(s.shares, ElementsAre(StepShare{"a", {0, 1, 5}}));
  EXPECT_FALSE(s.last);
  advance(p, s);
  s = next_step(p, 5);
  EXPECT_EQ(s.offset, 5u);
  EXPECT_THAT(s.shares, ElementsAre(StepShare{"a", {0, 1, 2}}, StepShare{"b", {2, 1, 3}}));
  advance(p, s);
  s = next_step(p, 5);
  EXPECT_EQ(s.count, 2u);
  EXPECT_THAT(s.shares, ElementsAre(StepShare{"b", {0, 1, 2}}));
  EXPECT_TRUE(s.last);
}

TEST(MoveStepsTest, ASmallMoveIsOneStep) {
  const MovePlan p = plan_over(7, {"a", "b", "c"});
  const MoveStep s = next_step(p, 5000);
  EXPECT_EQ(s.count, 7u);
  EXPECT_TRUE(s.last);
  EXPECT_THAT(s.shares, ElementsAre(StepShare{"a", {0, 3, 3}}, StepShare{"b", {1, 3, 2}},
                                    StepShare{"c", {2, 3, 2}}));
}

TEST(MoveStepsTest, StepsFillEachTargetAsTheWholePlanWould) {
  for (const std::uint64_t n : {1u, 2u, 999u, 1000u, 1001u, 23456u}) {
    for (const std::uint64_t max : {1u, 7u, 1000u, 5000u}) {
      if (n / max > 5000) continue;
      SCOPED_TRACE("n " + std::to_string(n) + ", steps of " + std::to_string(max));
      for (const MovePlan& p :
           {plan_over(n, {"a", "b", "c"}), plan_over(n, {"a", "b"}, {n / 3, n - n / 3}),
            plan_over(n, {"a"}, {n})}) {
        auto lists = run_steps(p, n, max);
        for (const MoveTarget& t : p.to) {
          std::vector<std::uint64_t> whole;
          for (std::uint64_t k = 0; k < t.slice.count; ++k)
            whole.push_back(t.slice.position(k));
          EXPECT_EQ(lists[t.target], whole) << t.target;
        }
        expect_exactly_once_in_order(lists, n);
      }
    }
  }
}

TEST(MoveStepsTest, ContactsTheSenderPopsMeanwhileAreNotMovedAndNoneIsLost) {
  for (const std::uint64_t sender : {1u, 3u, 250u}) {
    SCOPED_TRACE("the sender pops " + std::to_string(sender) + " before each step");
    for (const MovePlan& p :
         {plan_over(10000, {"a", "b", "c"}), plan_over(10000, {"a", "b"}, {5000, 5000})}) {
      const auto lists = run_steps(p, 10000, 1000, sender);
      expect_exactly_once_in_order(lists, 10000);
      EXPECT_FALSE(lists.contains("left"));
    }
  }
}

TEST(MoveStepsTest, AListLongerThanPlannedKeepsItsTail) {
  // A job decided before the break added to the list after planning: the next cycle moves it.
  const auto lists = run_steps(plan_over(100, {"a", "b"}), 130, 40);
  EXPECT_EQ(lists.at("left").size(), 30u);
  EXPECT_EQ(lists.at("left").front(), 100u);
  expect_exactly_once_in_order(lists, 130);
}

TEST(MoveStepsTest, CutPlanDropsPositionsPastTheEnd) {
  MovePlan p = plan_over(10, {"a", "b"}, {6, 4});
  p.done = 3;
  cut_plan(p, 5);
  EXPECT_EQ(p.total, 5u);
  EXPECT_THAT(p.to, ElementsAre(MoveTarget{"a", {0, 1, 5}}, MoveTarget{"b", {6, 1, 0}}));
  cut_plan(p, 1);  // never below what is done
  EXPECT_EQ(p.total, 3u);
  cut_plan(p, 50);  // nor longer than planned
  EXPECT_EQ(p.total, 3u);
  MovePlan rr = plan_over(10, {"a", "b", "c"});
  cut_plan(rr, 5);  // 0 3 | 1 4 | 2
  EXPECT_THAT(rr.to, ElementsAre(MoveTarget{"a", {0, 3, 2}}, MoveTarget{"b", {1, 3, 2}},
                                 MoveTarget{"c", {2, 3, 1}}));
}

TEST(MoveStepsTest, TheRecordCountsWhatMovedToTheTargetsThatGotSome) {
  MovePlan p = plan_over(10, {"a", "b"}, {6, 4});
  p.reason = SwitchReason::health_below_threshold;
  SwitchMove m = record_of(p);
  EXPECT_EQ(m.from, "s9");
  EXPECT_EQ(m.reason, SwitchReason::health_below_threshold);
  EXPECT_EQ(m.moved, 10u);
  EXPECT_EQ(m.decision.type, DecisionType::webjs);
  EXPECT_THAT(targets_of(m), ElementsAre("a", "b"));
  cut_plan(p, 4);
  m = record_of(p);
  EXPECT_EQ(m.moved, 4u);
  EXPECT_THAT(targets_of(m), ElementsAre("a"));
  EXPECT_EQ(record_of(plan_over(3, {"meta_api"}, {3})).decision.type, DecisionType::meta_api);
}

TEST(MoveStepsTest, StepsUpdateTheDistributionAsTheWholeMoveDoes) {
  Config cfg;
  Workspace ws;
  ws.add(make_session("s1", 90)).status = SessionStatus::disconnected;
  ws.add(make_session("s2", 85));
  ws.add(make_session("s3", 75));
  const std::vector<DistributionEntry> before{{"s1", 25000}, {"s2", 300}};
  const std::vector<TargetState> targets{{"s1", 23457}, {"s2", 100}};
  for (const bool round_robin : {false, true}) {
    cfg.load_balancing.strategy =
        round_robin ? wa::config::Strategy::round_robin : wa::config::Strategy::weighted_capacity;
    const auto moves = plan_switches(direct(), targets, ws.view(), cfg);
    ASSERT_EQ(moves.size(), 1u);
    auto whole = before;
    apply_move(whole, moves[0]);
    auto stepped = before;
    MovePlan p = plan_of(moves[0]);
    EXPECT_EQ(p.total, 23457u);
    while (p.done < p.total) {
      const MoveStep s = next_step(p, 5000);
      apply_step(stepped, p.from, s);
      advance(p, s);
    }
    EXPECT_EQ(stepped, whole);
  }
}

TEST(MoveStepsTest, ApplyStepDropsAnEmptiedSourceAndAppendsNewTargets) {
  std::vector<DistributionEntry> d{{"s1", 6}, {"s2", 5}};
  MovePlan p = plan_over(6, {"s2", "meta_api"}, {4, 2});
  MoveStep s = next_step(p, 4);
  apply_step(d, "s1", s);
  EXPECT_THAT(d, ElementsAre(DistributionEntry{"s1", 2}, DistributionEntry{"s2", 9}));
  advance(p, s);
  apply_step(d, "s1", next_step(p, 4));
  EXPECT_THAT(d, ElementsAre(DistributionEntry{"s2", 9}, DistributionEntry{"meta_api", 2}));
}

TEST(MoveStepsTest, ProgressRecordRoundTrips) {
  MovePlan p = plan_over(1000001, {"s\"1", "meta_api"}, {600000, 400001});
  p.reason = SwitchReason::response_time_above_threshold;
  p.done = 15000;
  p.session = R"({"id":"s\"1","uuid":"u","phone_number":"+1","health_score":80,"is_primary":true})";
  const auto back = parse_progress(progress_json(p));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, p);
  MovePlan rr = plan_over(10, {"a", "b", "c"});
  EXPECT_EQ(rr.session, "null");
  EXPECT_EQ(parse_progress(progress_json(rr)), rr);
}

TEST(MoveStepsTest, MalformedProgressRecordsAreRefused) {
  const MovePlan good = plan_over(10, {"a", "b"}, {6, 4});
  ASSERT_TRUE(parse_progress(progress_json(good)));
  auto with = [&](auto change) {
    MovePlan p = good;
    change(p);
    return parse_progress(progress_json(p));
  };
  EXPECT_FALSE(with([](MovePlan& p) { p.done = 11; }));
  EXPECT_FALSE(with([](MovePlan& p) { p.to[1].slice.count = 5; }));   // covers 11 of 10
  EXPECT_FALSE(with([](MovePlan& p) { p.to[1].slice.count = 3; }));   // covers 9 of 10
  EXPECT_FALSE(with([](MovePlan& p) { p.to[1].slice.first = 7; }));   // past the end
  EXPECT_FALSE(with([](MovePlan& p) { p.to[1].slice.stride = 0; }));  // no progression
  EXPECT_FALSE(parse_progress("not json"));
  EXPECT_FALSE(parse_progress(R"({"from":"s1","reason":"tired","total":0,"done":0,"to":[]})"));
  EXPECT_FALSE(
      parse_progress(R"({"from":"s1","reason":"disconnected","total":-1,"done":0,"to":[]})"));
  EXPECT_TRUE(
      parse_progress(R"({"from":"s1","reason":"disconnected","total":0,"done":0,"to":[]})"));
}

TEST(MoveStepsTest, ReasonsByName) {
  for (const SwitchReason r :
       {SwitchReason::disconnected, SwitchReason::health_below_threshold,
        SwitchReason::error_rate_above_threshold, SwitchReason::response_time_above_threshold}) {
    EXPECT_EQ(switch_reason_of(to_string(r)), r);
  }
  EXPECT_EQ(switch_reason_of("Disconnected"), std::nullopt);
}

// --- Ready items (pacing) ---------------------------------------------------------------------

TEST(ReadyItemTest, CampaignIdAsTextWhateverItsJsonType) {
  EXPECT_EQ(parse_ready_item(
                R"({"campaign_id":42,"contact":"7001","released_at":"2026-12-04T10:00:00.000Z"})"),
            (ReadyItem{"42", "7001"}));
  EXPECT_EQ(parse_ready_item(R"({"campaign_id":"camp-a","contact":"x"})"),
            (ReadyItem{"camp-a", "x"}));
  EXPECT_EQ(parse_ready_item(R"({"campaign_id":9223372036854775807,"contact":"1"})"),
            (ReadyItem{"9223372036854775807", "1"}));
  EXPECT_EQ(parse_ready_item(R"({"contact":"1","campaign_id":"07"})"), (ReadyItem{"07", "1"}));
}

TEST(ReadyItemTest, AnythingElseIsNoItem) {
  for (const char* text :
       {"not json", "[]", "42", R"({"contact":"1"})", R"({"campaign_id":42})",
        R"({"campaign_id":42,"contact":7})", R"({"campaign_id":42,"contact":null})",
        R"({"campaign_id":"","contact":"1"})", R"({"campaign_id":4.5,"contact":"1"})",
        R"({"campaign_id":-4,"contact":"1"})", R"({"campaign_id":null,"contact":"1"})",
        R"({"campaign_id":[42],"contact":"1"})"}) {
    EXPECT_EQ(parse_ready_item(text), std::nullopt) << text;
  }
}

TEST(ReadyItemTest, CountsPerCampaign) {
  const std::vector<std::string> items{R"({"campaign_id":42,"contact":"1"})",
                                       R"({"campaign_id":"b","contact":"2"})", "garbage",
                                       R"({"campaign_id":42,"contact":"3"})"};
  EXPECT_EQ(ready_counts(items), (std::map<std::string, std::uint64_t>{{"42", 2}, {"b", 1}}));
  EXPECT_THAT(ready_counts(std::vector<std::string>{}), IsEmpty());
}

}  // namespace
