// Provider and session selection (CONTRACT.md section 4): the order of the rules, eligibility,
// tier order, confidence, factors, distribution and prediction.
#include "core/select.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/balance.hpp"
#include "core_test_helpers.hpp"

namespace {

using namespace wa::core;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using wa::config::Config;
using wa::test::direct;
using wa::test::kNow;
using wa::test::make_session;
using wa::test::stats;
using wa::test::templated;
using wa::test::tmpl;
using wa::test::Workspace;

constexpr TemplateStatus kApproved = TemplateStatus::approved;

class SelectTest : public ::testing::Test {
 protected:
  Config cfg;  // the contract's defaults
  Workspace ws;

  Decision run(const CampaignSpec& spec, std::uint64_t contacts = 100) {
    return decide(spec, contacts, ws.view(), cfg);
  }
  void meta_configured() { ws.meta.configured = true; }
  std::vector<std::string> eligible_ids() {
    std::vector<std::string> ids;
    for (const Session* s : eligible_sessions(ws.sessions, cfg))
      ids.push_back(s->id);
    return ids;
  }
  static std::vector<std::string> targets_of(const Decision& d) {
    std::vector<std::string> ids;
    for (const Target& t : d.distribution)
      ids.push_back(t.target);
    return ids;
  }
  static std::uint64_t total_of(const Decision& d) {
    std::uint64_t sum = 0;
    for (const Target& t : d.distribution)
      sum += t.slice.count;
    return sum;
  }
};

// Asserts the type and reason of a decision, with readable failure messages.
#define EXPECT_DECISION(d, TYPE, REASON)                           \
  do {                                                             \
    EXPECT_EQ(to_string((d).type), to_string(DecisionType::TYPE)); \
    EXPECT_EQ(to_string((d).reason), #REASON);                     \
  } while (0)

void expect_queue_shape(const Decision& d) {
  EXPECT_EQ(d.type, DecisionType::queue);
  EXPECT_EQ(d.confidence, 0);
  EXPECT_EQ(d.session, nullptr);
  EXPECT_THAT(d.distribution, IsEmpty());
}

// --- 1. template not approved -----------------------------------------------------------------

TEST_F(SelectTest, TemplateNotApprovedWaitsWhateverThePreference) {
  ws.add(make_session("p", 95, true));
  meta_configured();
  const std::vector<std::pair<TemplateStatus, bool>> statuses{
      {TemplateStatus::pending, false},
      {TemplateStatus::paused, false},
      {TemplateStatus::rejected, true},
      {TemplateStatus::disabled, true},
  };
  for (const auto& [status, permanent] : statuses) {
    for (const Preference p : {Preference::automatic, Preference::webjs, Preference::meta_api}) {
      for (const bool compatible : {true, false}) {
        SCOPED_TRACE(std::string(to_string(status)) + " " + std::string(to_string(p)));
        const Decision d = run(templated(status, compatible, p));
        EXPECT_DECISION(d, queue, template_not_approved);
        EXPECT_EQ(d.permanent, permanent);
        expect_queue_shape(d);
      }
    }
  }
}

TEST_F(SelectTest, ApprovedTemplateIsNotPermanentAndNeverTemplateNotApproved) {
  const Decision d = run(templated(kApproved));  // nothing available at all
  EXPECT_DECISION(d, queue, no_provider_available);
  EXPECT_FALSE(d.permanent);
}

TEST_F(SelectTest, DirectModeIgnoresTheTemplateStatusForWebjs) {
  ws.add(make_session("p", 95, true));
  for (const TemplateStatus st : {TemplateStatus::pending, TemplateStatus::rejected}) {
    const Decision d = run(direct(Preference::automatic, tmpl(st)));
    EXPECT_DECISION(d, webjs, primary_session);
    EXPECT_FALSE(d.permanent);
  }
}

// --- 2. explicit preference -------------------------------------------------------------------

TEST_F(SelectTest, PreferWebjsUsesASecondaryTierSession) {
  ws.add(make_session("s", 65));
  meta_configured();
  const Decision d = run(direct(Preference::webjs, tmpl(kApproved)));
  EXPECT_DECISION(d, webjs, preferred_provider);
  ASSERT_NE(d.session, nullptr);
  EXPECT_EQ(d.session->id, "s");
}

TEST_F(SelectTest, PreferWebjsInTemplateModeUsesWebjs) {
  ws.add(make_session("s", 65));
  meta_configured();
  const Decision d = run(templated(kApproved, true, Preference::webjs));
  EXPECT_DECISION(d, webjs, preferred_provider);
  EXPECT_EQ(d.session->id, "s");
}

TEST_F(SelectTest, PreferWebjsWithoutSessionWaitsAndNeverUsesMeta) {
  ws.add(make_session("low", 59));  // below the secondary tier
  meta_configured();
  const Decision d = run(direct(Preference::webjs, tmpl(kApproved)));
  EXPECT_DECISION(d, queue, preferred_provider_unavailable);
  EXPECT_FALSE(d.permanent);
  expect_queue_shape(d);
}

TEST_F(SelectTest, PreferWebjsInTemplateModeNeedsWebjsCompatible) {
  ws.add(make_session("p", 95, true));
  const Decision d = run(templated(kApproved, false, Preference::webjs));
  EXPECT_DECISION(d, queue, preferred_provider_unavailable);
  expect_queue_shape(d);
}

TEST_F(SelectTest, PreferMetaUsesMetaEvenWithAPrimarySession) {
  ws.add(make_session("p", 100, true));
  meta_configured();
  for (const CampaignSpec& spec : {direct(Preference::meta_api, tmpl(kApproved)),
                                   templated(kApproved, true, Preference::meta_api)}) {
    const Decision d = run(spec, 10);
    EXPECT_DECISION(d, meta_api, preferred_provider);
    EXPECT_EQ(d.session, nullptr);
    EXPECT_EQ(d.confidence, 75);
  }
}

TEST_F(SelectTest, PreferMetaNeedsConfiguredMeta) {
  ws.add(make_session("p", 100, true));
  const Decision d = run(templated(kApproved, true, Preference::meta_api));
  EXPECT_DECISION(d, queue, preferred_provider_unavailable);
  expect_queue_shape(d);
}

TEST_F(SelectTest, PreferMetaNeedsAnApprovedTemplateAlsoInDirectMode) {
  ws.add(make_session("p", 100, true));
  meta_configured();
  for (const CampaignSpec& spec :
       {direct(Preference::meta_api), direct(Preference::meta_api, tmpl(TemplateStatus::pending)),
        direct(Preference::meta_api, tmpl(TemplateStatus::paused))}) {
    const Decision d = run(spec);
    EXPECT_DECISION(d, queue, preferred_provider_unavailable);
    expect_queue_shape(d);
  }
}

// --- 3. template mode, auto -------------------------------------------------------------------

TEST_F(SelectTest, TemplatePrimaryCompatibleSessionBeatsMeta) {
  ws.add(make_session("p", 85));
  meta_configured();
  const Decision d = run(templated(kApproved));
  EXPECT_DECISION(d, webjs, template_webjs);
  EXPECT_EQ(d.session->id, "p");
}

TEST_F(SelectTest, TemplateMetaBeatsSecondaryTier) {
  ws.add(make_session("s", 79));
  meta_configured();
  const Decision d = run(templated(kApproved), 42);
  EXPECT_DECISION(d, meta_api, standard_template);
  EXPECT_EQ(d.session, nullptr);
  EXPECT_EQ(d.confidence, 75);
}

TEST_F(SelectTest, TemplateNotWebjsCompatibleGoesToMetaEvenWithPrimary) {
  ws.add(make_session("p", 100, true));
  meta_configured();
  const Decision d = run(templated(kApproved, false));
  EXPECT_DECISION(d, meta_api, standard_template);
}

TEST_F(SelectTest, TemplateSecondaryTierWhenMetaIsNotConfigured) {
  ws.add(make_session("s", 70));
  const Decision d = run(templated(kApproved));
  EXPECT_DECISION(d, webjs, template_webjs);
  EXPECT_EQ(d.session->id, "s");
}

TEST_F(SelectTest, TemplateNotCompatibleAndNoMetaWaits) {
  ws.add(make_session("p", 100, true));
  const Decision d = run(templated(kApproved, false));
  EXPECT_DECISION(d, queue, no_provider_available);
  EXPECT_FALSE(d.permanent);
  expect_queue_shape(d);
}

TEST_F(SelectTest, TemplateNothingAvailableWaits) {
  const Decision d = run(templated(kApproved));
  EXPECT_DECISION(d, queue, no_provider_available);
  expect_queue_shape(d);
}

// --- 4. direct mode, auto ---------------------------------------------------------------------

TEST_F(SelectTest, DirectPrimarySessionFirst) {
  ws.add(make_session("s", 70));
  ws.add(make_session("p", 80));  // exactly min_score_primary
  meta_configured();
  const Decision d = run(direct(Preference::automatic, tmpl(kApproved)));
  EXPECT_DECISION(d, webjs, primary_session);
  EXPECT_EQ(d.session->id, "p");
}

TEST_F(SelectTest, DirectSecondarySessionBeatsMeta) {
  ws.add(make_session("s", 79));
  meta_configured();
  const Decision d = run(direct(Preference::automatic, tmpl(kApproved)));
  EXPECT_DECISION(d, webjs, secondary_session);
  EXPECT_EQ(d.session->id, "s");
}

TEST_F(SelectTest, DirectSecondaryTierStartsAtMinScoreSecondary) {
  ws.add(make_session("s", 60));
  EXPECT_DECISION(run(direct()), webjs, secondary_session);
  ws.sessions[0].health = 59;
  EXPECT_DECISION(run(direct()), queue, no_provider_available);
}

TEST_F(SelectTest, DirectMetaFallbackNeedsAnApprovedTemplate) {
  meta_configured();
  EXPECT_DECISION(run(direct(Preference::automatic, tmpl(kApproved))), meta_api,
                  webjs_unavailable_fallback);
  EXPECT_DECISION(run(direct()), queue, no_provider_available);
  EXPECT_DECISION(run(direct(Preference::automatic, tmpl(TemplateStatus::pending))), queue,
                  no_provider_available);
  EXPECT_DECISION(run(direct(Preference::automatic, tmpl(TemplateStatus::rejected))), queue,
                  no_provider_available);
  EXPECT_FALSE(run(direct(Preference::automatic, tmpl(TemplateStatus::rejected))).permanent);
}

TEST_F(SelectTest, DirectMetaFallbackNeedsConfiguredMeta) {
  const Decision d = run(direct(Preference::automatic, tmpl(kApproved)));
  EXPECT_DECISION(d, queue, no_provider_available);
  expect_queue_shape(d);
}

TEST_F(SelectTest, DirectWithNotCompatibleTemplateStillUsesWebjs) {
  ws.add(make_session("p", 90));
  EXPECT_DECISION(run(direct(Preference::automatic, tmpl(kApproved, false))), webjs,
                  primary_session);
}

TEST_F(SelectTest, PrimaryTierIsByHealthNotByTheIsPrimaryFlag) {
  ws.add(make_session("flagged", 65, true));  // is_primary, but only secondary-tier health
  ws.add(make_session("strong", 95));
  const Decision d = run(direct());
  EXPECT_DECISION(d, webjs, primary_session);
  EXPECT_EQ(d.session->id, "strong");
  EXPECT_EQ(d.confidence, 95);
  // Balancing still covers every eligible session, in tier order (is_primary first).
  EXPECT_THAT(targets_of(d), ElementsAre("flagged", "strong"));
}

// --- eligibility and tier order ---------------------------------------------------------------

TEST_F(SelectTest, TierOrderIsPrimaryFlagThenHealthThenActivityThenId) {
  auto& never = ws.add(make_session("a-never", 80));
  never.last_activity_at.reset();
  auto& older = ws.add(make_session("b-older", 80));
  older.last_activity_at = kNow - 600;
  auto& newer = ws.add(make_session("z-newer", 80));
  newer.last_activity_at = kNow - 60;
  auto& tie2 = ws.add(make_session("y-tie", 80));
  tie2.last_activity_at = kNow - 600;
  ws.add(make_session("low-primary", 61, true));
  ws.add(make_session("healthier", 90));
  EXPECT_THAT(eligible_ids(),
              ElementsAre("low-primary", "healthier", "z-newer", "b-older", "y-tie", "a-never"));
}

TEST_F(SelectTest, SessionIdBreaksTies) {
  ws.add(make_session("s3", 75));
  ws.add(make_session("s1", 75));
  ws.add(make_session("s2", 75));
  EXPECT_THAT(eligible_ids(), ElementsAre("s1", "s2", "s3"));
}

TEST_F(SelectTest, NeverActiveSortsLastEvenAgainstVeryOldActivity) {
  auto& never = ws.add(make_session("a", 75));
  never.last_activity_at.reset();
  auto& ancient = ws.add(make_session("b", 75));
  ancient.last_activity_at = 0;
  EXPECT_THAT(eligible_ids(), ElementsAre("b", "a"));
}

TEST_F(SelectTest, OnlyConnectedActiveWebjsSessionsInTheSecondaryTierAreEligible) {
  ws.add(make_session("ok", 60));
  ws.add(make_session("meta", 90)).provider = ProviderType::meta;
  ws.add(make_session("other", 90)).provider = ProviderType::other;
  ws.add(make_session("authenticated", 90)).status = SessionStatus::authenticated;
  ws.add(make_session("connecting", 90)).status = SessionStatus::connecting;
  ws.add(make_session("disconnected", 90)).status = SessionStatus::disconnected;
  ws.add(make_session("inactive", 90)).is_active = false;
  ws.add(make_session("weak", 59));
  ws.add(make_session("missing", 90)).exists = false;  // id in the set, hash missing
  EXPECT_THAT(eligible_ids(), ElementsAre("ok"));
}

TEST_F(SelectTest, SessionsBreakingASwitchThresholdAreNotEligibleWhileAutoSwitchingIsOn) {
  ws.add(make_session("ok", 90));
  ws.add(make_session("errors", 90)).last_hour = stats(10, 2);        // 20% > 10%
  ws.add(make_session("slow", 90)).last_hour = stats(10, 0, 6000.0);  // 6000 ms > 5000
  ws.add(make_session("edge", 90)).last_hour = stats(10, 1, 5000.0);  // exactly at both: fine
  cfg.selection.switch_thresholds.health_score_threshold = 70;
  ws.add(make_session("below", 65));
  EXPECT_THAT(eligible_ids(), ElementsAre("edge", "ok"));

  cfg.selection.enable_auto_switching = false;
  EXPECT_THAT(eligible_ids(), ElementsAre("edge", "errors", "ok", "slow", "below"));
}

TEST_F(SelectTest, MaxSessionsPerWorkspaceKeepsTheFirstInTierOrder) {
  ws.add(make_session("s1", 70));
  ws.add(make_session("s2", 95));
  ws.add(make_session("s3", 60));
  ws.add(make_session("s4", 85));
  cfg.health.max_sessions_per_workspace = 2;
  EXPECT_THAT(eligible_ids(), ElementsAre("s2", "s4"));
  const Decision d = run(direct(), 1000);
  EXPECT_THAT(targets_of(d), ElementsAre("s2", "s4"));
  ASSERT_TRUE(d.prediction);
  EXPECT_EQ(d.prediction->webjs.session_count, 2u);
}

TEST_F(SelectTest, MaxSessionsCanLeaveOnlyTheSecondaryTier) {
  ws.add(make_session("flagged", 65, true));
  ws.add(make_session("strong", 95));
  cfg.health.max_sessions_per_workspace = 1;
  const Decision d = run(direct());
  EXPECT_DECISION(d, webjs, secondary_session);
  EXPECT_EQ(d.session->id, "flagged");
}

// --- confidence -------------------------------------------------------------------------------

TEST_F(SelectTest, ConfidenceIsHealthPlusTenForPrimaryCappedAtHundred) {
  ws.add(make_session("p", 85, true));
  EXPECT_EQ(run(direct()).confidence, 95);
  ws.sessions[0].health = 95;
  EXPECT_EQ(run(direct()).confidence, 100);
  ws.sessions[0].is_primary = false;
  EXPECT_EQ(run(direct()).confidence, 95);
  ws.sessions[0].health = 70;
  EXPECT_EQ(run(direct()).confidence, 70);
}

TEST_F(SelectTest, ConfidenceForMetaIs75AndQueueIs0) {
  meta_configured();
  EXPECT_EQ(run(templated(kApproved)).confidence, 75);
  EXPECT_EQ(run(templated(TemplateStatus::pending)).confidence, 0);
  ws.meta.configured = false;
  EXPECT_EQ(run(templated(kApproved)).confidence, 0);
}

// --- factors ----------------------------------------------------------------------------------

TEST_F(SelectTest, CampaignModeScore) {
  EXPECT_EQ(run(direct()).factors.campaign_mode_score, 100);
  EXPECT_EQ(
      run(direct(Preference::automatic, tmpl(TemplateStatus::pending))).factors.campaign_mode_score,
      100);
  EXPECT_EQ(run(templated(kApproved)).factors.campaign_mode_score, 75);
  EXPECT_EQ(run(templated(TemplateStatus::pending)).factors.campaign_mode_score, 0);
  EXPECT_EQ(run(templated(TemplateStatus::rejected)).factors.campaign_mode_score, 0);
}

TEST_F(SelectTest, SessionHealthScoreIsZeroWithoutEligibleSessions) {
  ws.add(make_session("down", 100)).status = SessionStatus::disconnected;
  EXPECT_EQ(run(direct()).factors.session_health_score, 0);
}

TEST_F(SelectTest, SessionHealthScoreMeanTimesStrongMultiplier) {
  ws.add(make_session("a", 90));
  ws.add(make_session("b", 80));
  ws.add(make_session("c", 60));
  ws.add(make_session("down", 100)).is_active = false;  // not eligible: not counted
  // mean 76.67 × (1 + 0.1 × 2) = 92
  EXPECT_NEAR(run(direct()).factors.session_health_score, 230.0 / 3 * 1.2, 1e-9);
}

TEST_F(SelectTest, SessionHealthScoreStrongMeansAtLeast70) {
  ws.add(make_session("a", 69));
  ws.add(make_session("b", 65));
  EXPECT_DOUBLE_EQ(run(direct()).factors.session_health_score, 67);
  ws.sessions[0].health = 70;
  EXPECT_DOUBLE_EQ(run(direct()).factors.session_health_score, 67.5 * 1.1);
}

TEST_F(SelectTest, SessionHealthScoreMultiplierIsCappedAt1Point5) {
  for (int i = 0; i < 6; ++i)
    ws.add(make_session("strong" + std::to_string(i), 70));
  for (int i = 0; i < 4; ++i)
    ws.add(make_session("weak" + std::to_string(i), 60));
  // mean 66 × min(1.5, 1.6) = 99 (not 105.6 -> 100)
  EXPECT_DOUBLE_EQ(run(direct()).factors.session_health_score, 99);
}

TEST_F(SelectTest, SessionHealthScoreIsAtMost100) {
  ws.add(make_session("a", 95));
  ws.add(make_session("b", 90));
  EXPECT_DOUBLE_EQ(run(direct()).factors.session_health_score, 100);  // 92.5 × 1.2 = 111
}

TEST_F(SelectTest, UserPreferenceScore) {
  ws.add(make_session("s", 90));
  EXPECT_EQ(run(direct()).factors.user_preference_score, 50);
  EXPECT_EQ(run(direct(Preference::webjs)).factors.user_preference_score, 100);
  EXPECT_EQ(run(direct(Preference::meta_api, tmpl(kApproved))).factors.user_preference_score, 0);
  meta_configured();
  EXPECT_EQ(run(direct(Preference::meta_api, tmpl(kApproved))).factors.user_preference_score, 100);
  EXPECT_EQ(run(templated(kApproved, false, Preference::webjs)).factors.user_preference_score, 0);
}

TEST_F(SelectTest, PerformanceScoreIsFiftyWithoutData) {
  EXPECT_EQ(run(direct()).factors.performance_score, 50);
}

TEST_F(SelectTest, PerformanceScoreIsTheBestProvidersSuccessRate) {
  ws.webjs_7d = stats(10, 1);  // 90%
  EXPECT_DOUBLE_EQ(run(direct()).factors.performance_score, 90);
  ws.meta_7d = stats(20, 1);  // 95%
  EXPECT_DOUBLE_EQ(run(direct()).factors.performance_score, 95);
  ws.webjs_7d = stats(4, 0);  // 100%
  EXPECT_DOUBLE_EQ(run(direct()).factors.performance_score, 100);
}

TEST_F(SelectTest, PerformanceScoreOfAllFailedIsZeroNotFifty) {
  ws.webjs_7d = stats(10, 10);
  EXPECT_EQ(run(direct()).factors.performance_score, 0);
  ws.webjs_7d = {};
  ws.meta_7d = stats(3, 3);
  EXPECT_EQ(run(direct()).factors.performance_score, 0);
}

TEST_F(SelectTest, WeightedScoreCombinesTheFourFactors) {
  ws.add(make_session("a", 90));
  ws.add(make_session("b", 65));
  ws.webjs_7d = stats(10, 2);  // 80%
  const Decision d = run(templated(kApproved, true, Preference::webjs));
  const Factors& f = d.factors;
  EXPECT_EQ(f.campaign_mode_score, 75);
  EXPECT_DOUBLE_EQ(f.session_health_score, 77.5 * 1.1);
  EXPECT_EQ(f.user_preference_score, 100);
  EXPECT_DOUBLE_EQ(f.performance_score, 80);
  EXPECT_NEAR(f.weighted_score, 0.4 * 75 + 0.3 * 77.5 * 1.1 + 0.2 * 100 + 0.1 * 80, 1e-9);
}

TEST_F(SelectTest, FactorsAreReportedForQueueDecisionsToo) {
  const Decision d = run(templated(TemplateStatus::pending, true, Preference::meta_api));
  EXPECT_EQ(d.factors.campaign_mode_score, 0);
  EXPECT_EQ(d.factors.user_preference_score, 0);
  EXPECT_EQ(d.factors.performance_score, 50);
  EXPECT_DOUBLE_EQ(d.factors.weighted_score, 0.1 * 50);
}

// --- distribution -----------------------------------------------------------------------------

TEST_F(SelectTest, WebjsDistributionCoversEveryEligibleSessionInTierOrder) {
  ws.add(make_session("b", 70));
  ws.add(make_session("a", 90, true));
  ws.add(make_session("c", 80));
  ws.add(make_session("x", 90)).status = SessionStatus::failed;
  const Decision d = run(direct(), 1000);
  EXPECT_THAT(targets_of(d), ElementsAre("a", "c", "b"));
  EXPECT_EQ(total_of(d), 1000u);
  std::uint64_t next = 0;
  for (const Target& t : d.distribution) {
    ASSERT_NE(t.session, nullptr);
    EXPECT_EQ(t.session->id, t.target);
    EXPECT_EQ(t.slice.first, next);  // contiguous blocks in input order
    EXPECT_EQ(t.slice.stride, 1u);
    next += t.slice.count;
  }
}

TEST_F(SelectTest, TargetsWithoutContactsAreLeftOut) {
  ws.add(make_session("a", 90));
  ws.add(make_session("b", 80));
  ws.add(make_session("c", 70));
  const Decision one = run(direct(), 1);
  EXPECT_THAT(targets_of(one), ElementsAre("a"));
  EXPECT_EQ(total_of(one), 1u);
  const Decision none = run(direct(), 0);
  EXPECT_DECISION(none, webjs, primary_session);
  EXPECT_THAT(none.distribution, IsEmpty());
}

TEST_F(SelectTest, MetaGetsOneTargetWithEveryContact) {
  meta_configured();
  const Decision d = run(templated(kApproved), 12345);
  ASSERT_EQ(d.distribution.size(), 1u);
  EXPECT_EQ(d.distribution[0].target, "meta_api");
  EXPECT_EQ(d.distribution[0].session, nullptr);
  EXPECT_EQ(d.distribution[0].slice, (Slice{0, 1, 12345}));
  EXPECT_THAT(run(templated(kApproved), 0).distribution, IsEmpty());
}

TEST_F(SelectTest, QueueHasNoDistributionAndNoSession) {
  ws.add(make_session("a", 90));
  expect_queue_shape(run(templated(TemplateStatus::paused), 500));
  expect_queue_shape(run(direct(Preference::meta_api), 500));
}

TEST_F(SelectTest, PreferredWebjsDistributesOverTheSecondaryTier) {
  ws.add(make_session("a", 65));
  ws.add(make_session("b", 62));
  const Decision d = run(direct(Preference::webjs), 100);
  EXPECT_THAT(targets_of(d), ElementsAre("a", "b"));
  EXPECT_EQ(total_of(d), 100u);
}

// --- prediction -------------------------------------------------------------------------------

TEST(EstimateMinutesTest, CeilOfContactsOverCapacityTimesSixty) {
  EXPECT_EQ(estimate_minutes(0, 1000), 0u);
  EXPECT_EQ(estimate_minutes(0, 0), 0u);
  EXPECT_EQ(estimate_minutes(1, 1000), 1u);
  EXPECT_EQ(estimate_minutes(1000, 1000), 60u);
  EXPECT_EQ(estimate_minutes(1001, 1000), 61u);
  EXPECT_EQ(estimate_minutes(500, 288000), 1u);
  EXPECT_EQ(estimate_minutes(100, 0), std::nullopt);
}

TEST(EstimateMinutesTest, MetaWaitsADayPerTierLimit) {
  // 2500 contacts, tier 1000, 80 mps: 2 × 1440 + ceil(500 / 288000 × 60) = 2881
  EXPECT_EQ(estimate_meta_minutes(2500, 80 * 3600.0, 1000), 2881u);
  EXPECT_EQ(estimate_meta_minutes(1000, 80 * 3600.0, 1000), 1u);
  EXPECT_EQ(estimate_meta_minutes(1001, 80 * 3600.0, 1000), 1441u);
  EXPECT_EQ(estimate_meta_minutes(2000, 80 * 3600.0, 1000), 1441u);
  EXPECT_EQ(estimate_meta_minutes(0, 80 * 3600.0, 1000), 0u);
  // Within one tier it is the plain estimate.
  EXPECT_EQ(estimate_meta_minutes(100000, 3600.0, 1000000), 1667u);  // ceil(1666.7)
}

TEST_F(SelectTest, PredictionOfAWebjsDecision) {
  ws.add(make_session("a", 90));
  ws.add(make_session("b", 70));
  ws.meta = {true, 10, 500, "GREEN", ""};
  const std::uint64_t contacts = 1000;
  const Decision d = run(direct(Preference::automatic, tmpl(kApproved)), contacts);
  ASSERT_TRUE(d.prediction);
  const Prediction& p = *d.prediction;
  // Capacity = base 1000 × health/100 × multiplier ((1.5 + 0.95) / 2) × 1.2 for direct.
  const double capacity = 1000 * (0.9 + 0.7) * 1.225 * 1.2;
  EXPECT_TRUE(p.webjs.available);
  EXPECT_EQ(p.webjs.session_count, 2u);
  EXPECT_NEAR(p.webjs.capacity_per_hour, capacity, 1e-6);
  EXPECT_EQ(p.webjs.estimated_minutes, 26u);  // ceil(1000 / 2352 × 60) = ceil(25.5)
  EXPECT_TRUE(p.meta_api.available);
  EXPECT_DOUBLE_EQ(p.meta_api.capacity_per_hour, 36000);
  EXPECT_EQ(p.meta_api.tier_limit, 500u);
  EXPECT_EQ(p.meta_api.estimated_minutes, 1440u + 1u);  // 2 days of 500
  EXPECT_EQ(p.recommended, DecisionType::webjs);
}

TEST_F(SelectTest, PredictionTemplateModeUsesTheTemplateCapacity) {
  ws.add(make_session("a", 90));
  const Decision d = run(templated(kApproved), 100);
  ASSERT_TRUE(d.prediction);
  EXPECT_NEAR(d.prediction->webjs.capacity_per_hour, 1000 * 0.9 * 1.225 * 1.0, 1e-6);
}

TEST_F(SelectTest, PredictionRecommendsMetaWhenFaster) {
  ws.add(make_session("a", 90));
  meta_configured();  // 80 mps
  ws.meta.tier_limit = 2000;
  const Decision d = run(direct(Preference::automatic, tmpl(kApproved)), 900);
  ASSERT_TRUE(d.prediction);
  EXPECT_EQ(d.prediction->meta_api.estimated_minutes, 1u);
  EXPECT_GT(*d.prediction->webjs.estimated_minutes, 1u);
  EXPECT_EQ(d.prediction->recommended, DecisionType::meta_api);
  // The prediction explains; it never overrides the rules.
  EXPECT_DECISION(d, webjs, primary_session);
}

TEST_F(SelectTest, PredictionPrefersWebjsOnATie) {
  ws.add(make_session("a", 100));
  cfg.load_balancing.base_capacity = 100000;
  meta_configured();
  const Decision d = run(direct(Preference::automatic, tmpl(kApproved)), 100);
  ASSERT_TRUE(d.prediction);
  EXPECT_EQ(d.prediction->webjs.estimated_minutes, 1u);
  EXPECT_EQ(d.prediction->meta_api.estimated_minutes, 1u);
  EXPECT_EQ(d.prediction->recommended, DecisionType::webjs);

  const Decision none = run(direct(Preference::automatic, tmpl(kApproved)), 0);
  EXPECT_EQ(none.prediction->webjs.estimated_minutes, 0u);
  EXPECT_EQ(none.prediction->meta_api.estimated_minutes, 0u);
  EXPECT_EQ(none.prediction->recommended, DecisionType::webjs);
}

TEST_F(SelectTest, PredictionWithNothingAvailable) {
  ws.add(make_session("down", 90)).status = SessionStatus::disconnected;
  const Decision d = run(direct(), 100);
  ASSERT_TRUE(d.prediction);
  EXPECT_FALSE(d.prediction->webjs.available);
  EXPECT_EQ(d.prediction->webjs.session_count, 0u);
  EXPECT_EQ(d.prediction->webjs.estimated_minutes, std::nullopt);
  EXPECT_FALSE(d.prediction->meta_api.available);
  EXPECT_EQ(d.prediction->meta_api.estimated_minutes, std::nullopt);
  EXPECT_EQ(d.prediction->meta_api.capacity_per_hour, 80 * 3600.0);
  EXPECT_EQ(d.prediction->meta_api.tier_limit, 250u);  // v2's default (section 9)
  EXPECT_EQ(d.prediction->recommended, std::nullopt);
}

TEST_F(SelectTest, PredictionAvailabilityFollowsSectionFour) {
  ws.add(make_session("a", 90));
  meta_configured();
  // Template not webjs_compatible: webjs is not available to this job.
  const Decision incompatible = run(templated(kApproved, false), 100);
  EXPECT_FALSE(incompatible.prediction->webjs.available);
  EXPECT_EQ(incompatible.prediction->webjs.estimated_minutes, std::nullopt);
  EXPECT_TRUE(incompatible.prediction->meta_api.available);
  EXPECT_EQ(incompatible.prediction->recommended, DecisionType::meta_api);
  // Direct mode without an approved template: Meta is not available.
  const Decision no_template = run(direct(), 100);
  EXPECT_TRUE(no_template.prediction->webjs.available);
  EXPECT_FALSE(no_template.prediction->meta_api.available);
  EXPECT_EQ(no_template.prediction->meta_api.estimated_minutes, std::nullopt);
  EXPECT_EQ(no_template.prediction->recommended, DecisionType::webjs);
}

TEST_F(SelectTest, PredictionIsNullWhenPredictiveAnalyticsIsOff) {
  ws.add(make_session("a", 90));
  cfg.load_balancing.enable_predictive_analytics = false;
  EXPECT_FALSE(run(direct()).prediction.has_value());
  EXPECT_FALSE(run(templated(TemplateStatus::pending)).prediction.has_value());
}

TEST(SpecOfTest, CopiesTheSelectionParts) {
  Job job;
  job.mode = TemplateMode::template_;
  job.preference = Preference::meta_api;
  job.tmpl = wa::test::tmpl(TemplateStatus::paused, false);
  const CampaignSpec spec = spec_of(job);
  EXPECT_EQ(spec.mode, TemplateMode::template_);
  EXPECT_EQ(spec.preference, Preference::meta_api);
  EXPECT_EQ(spec.tmpl, job.tmpl);
  EXPECT_FALSE(spec.template_approved());
}

TEST(ReasonNamesTest, MatchTheContract) {
  EXPECT_EQ(to_string(Reason::template_not_approved), "template_not_approved");
  EXPECT_EQ(to_string(Reason::preferred_provider), "preferred_provider");
  EXPECT_EQ(to_string(Reason::preferred_provider_unavailable), "preferred_provider_unavailable");
  EXPECT_EQ(to_string(Reason::template_webjs), "template_webjs");
  EXPECT_EQ(to_string(Reason::standard_template), "standard_template");
  EXPECT_EQ(to_string(Reason::primary_session), "primary_session");
  EXPECT_EQ(to_string(Reason::secondary_session), "secondary_session");
  EXPECT_EQ(to_string(Reason::webjs_unavailable_fallback), "webjs_unavailable_fallback");
  EXPECT_EQ(to_string(Reason::no_provider_available), "no_provider_available");
  EXPECT_EQ(to_string(DecisionType::webjs), "webjs");
  EXPECT_EQ(to_string(DecisionType::meta_api), "meta_api");
  EXPECT_EQ(to_string(DecisionType::queue), "queue");
}

}  // namespace
