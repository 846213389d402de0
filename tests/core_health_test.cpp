// Session health (CONTRACT.md section 3): the six metrics, the normalised score and alerts.
#include "core/health.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "core_test_helpers.hpp"

namespace {

using namespace wa::core;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;
using wa::config::AlertThresholds;
using wa::config::HealthWeights;
using wa::test::kNow;
using wa::test::make_session;
using wa::test::stats;

constexpr double kMinute = 60;

HealthWeights only(double HealthWeights::*field) {
  HealthWeights w{0, 0, 0, 0, 0, 0};
  w.*field = 1;
  return w;
}

class MetricsTest : public ::testing::Test {
 protected:
  // Connected since creation a day ago, last active a minute ago.
  Session s = make_session("s1", 0);

  HealthMetrics metrics(const WindowStats& w = {}) const { return compute_metrics(s, w, kNow); }
  double activity_after(double seconds) {
    s.last_activity_at = kNow - seconds;
    return metrics().recent_activity;
  }
};

// --- connection_stability ---------------------------------------------------------------------

TEST_F(MetricsTest, ConnectionStabilityByStatus) {
  const std::vector<std::pair<SessionStatus, double>> table{
      {SessionStatus::connected, 100},    {SessionStatus::connecting, 50},
      {SessionStatus::authenticated, 50}, {SessionStatus::disconnected, 20},
      {SessionStatus::qr_scanning, 20},   {SessionStatus::failed, 0},
      {SessionStatus::error, 0},          {SessionStatus::other, 0},
  };
  for (const auto& [status, expected] : table) {
    s.status = status;
    EXPECT_EQ(metrics().connection_stability, expected) << to_string(status);
  }
}

TEST_F(MetricsTest, UnknownStatusTextIsStabilityZero) {
  s.status = parse_session_status("rebooting");
  EXPECT_EQ(metrics().connection_stability, 0);
  s.status = parse_session_status("qr_scanning");
  EXPECT_EQ(metrics().connection_stability, 20);
}

// --- message_success_rate ---------------------------------------------------------------------

TEST_F(MetricsTest, SuccessRateIsEightyWithoutMessages) {
  EXPECT_EQ(metrics().message_success_rate, 80);
}

TEST_F(MetricsTest, SuccessRateIsPercentOfSuccessfulMessages) {
  EXPECT_DOUBLE_EQ(metrics(stats(10, 3)).message_success_rate, 70);
  EXPECT_DOUBLE_EQ(metrics(stats(8, 0)).message_success_rate, 100);
  // All failed is 0, not the no-message default.
  EXPECT_DOUBLE_EQ(metrics(stats(5, 5)).message_success_rate, 0);
}

// --- recent_activity --------------------------------------------------------------------------

TEST_F(MetricsTest, RecentActivityBoundariesInWholeMinutes) {
  EXPECT_EQ(activity_after(0), 100);
  EXPECT_EQ(activity_after(5 * kMinute), 100);
  EXPECT_EQ(activity_after(5 * kMinute + 59), 100);  // still 5 whole minutes
  EXPECT_EQ(activity_after(6 * kMinute), 80);
  EXPECT_EQ(activity_after(15 * kMinute), 80);
  EXPECT_EQ(activity_after(15 * kMinute + 59.9), 80);
  EXPECT_EQ(activity_after(16 * kMinute), 60);
  EXPECT_EQ(activity_after(60 * kMinute), 60);
  EXPECT_EQ(activity_after(60 * kMinute + 59), 60);
  EXPECT_EQ(activity_after(61 * kMinute), 59);
  EXPECT_EQ(activity_after(61 * kMinute + 59), 59);
  EXPECT_EQ(activity_after(100 * kMinute), 20);
  EXPECT_EQ(activity_after(119 * kMinute), 1);
  EXPECT_EQ(activity_after(120 * kMinute), 0);
  EXPECT_EQ(activity_after(121 * kMinute), 0);  // max(0, ...), never negative
  EXPECT_EQ(activity_after(100000 * kMinute), 0);
}

TEST_F(MetricsTest, RecentActivityIsZeroWhenNeverActive) {
  s.last_activity_at.reset();
  EXPECT_EQ(metrics().recent_activity, 0);
}

// --- error_rate -------------------------------------------------------------------------------

TEST_F(MetricsTest, ErrorRateIsZeroWithoutMessages) {
  EXPECT_EQ(metrics().error_rate, 0);
}

TEST_F(MetricsTest, ErrorRateIsPercentOfFailedMessages) {
  EXPECT_DOUBLE_EQ(metrics(stats(12, 3)).error_rate, 25);
  EXPECT_DOUBLE_EQ(metrics(stats(4, 4)).error_rate, 100);
  EXPECT_DOUBLE_EQ(metrics(stats(4, 0)).error_rate, 0);
}

// --- response_time ----------------------------------------------------------------------------

TEST_F(MetricsTest, ResponseTimeIsNinetyWhenNoMessageReportsOne) {
  EXPECT_EQ(metrics().response_time, 90);
  EXPECT_EQ(metrics(stats(10, 0)).response_time, 90);  // messages, but none report a time
}

TEST_F(MetricsTest, ResponseTimeFormula) {
  EXPECT_DOUBLE_EQ(metrics(stats(3, 0, 0.0)).response_time, 100);
  EXPECT_DOUBLE_EQ(metrics(stats(3, 0, 500.0)).response_time, 90);
  EXPECT_DOUBLE_EQ(metrics(stats(3, 0, 2500.0)).response_time, 50);
  EXPECT_DOUBLE_EQ(metrics(stats(3, 0, 4000.0)).response_time, 20);
  EXPECT_DOUBLE_EQ(metrics(stats(3, 0, 5000.0)).response_time, 0);
  EXPECT_DOUBLE_EQ(metrics(stats(3, 0, 7000.0)).response_time, 0);  // max(0, ...)
}

TEST_F(MetricsTest, ResponseTimeAveragesOnlyMessagesThatReportOne) {
  WindowStats w = stats(10, 0);
  w.response_time_count = 2;
  w.response_time_sum_ms = 1000;  // average 500 over the two that report
  EXPECT_DOUBLE_EQ(metrics(w).response_time, 90);
}

// --- uptime -----------------------------------------------------------------------------------

TEST_F(MetricsTest, UptimeConnectedEndsNow) {
  s.created_at = kNow - 1000;
  s.last_connected_at = kNow - 500;
  EXPECT_DOUBLE_EQ(metrics().uptime, 50);
  s.last_connected_at = s.created_at;
  EXPECT_DOUBLE_EQ(metrics().uptime, 100);
}

TEST_F(MetricsTest, UptimeConnectedIgnoresAStaleDisconnectedAt) {
  s.created_at = kNow - 1000;
  s.last_connected_at = kNow - 1000;
  s.disconnected_at = kNow - 500;
  EXPECT_DOUBLE_EQ(metrics().uptime, 100);
}

TEST_F(MetricsTest, UptimeNotConnectedEndsAtDisconnectedAt) {
  s.status = SessionStatus::disconnected;
  s.created_at = kNow - 1000;
  s.last_connected_at = kNow - 1000;
  s.disconnected_at = kNow - 250;
  s.last_activity_at = kNow - 100;  // disconnected_at wins over last_activity_at
  EXPECT_DOUBLE_EQ(metrics().uptime, 75);
  s.status = SessionStatus::authenticated;  // any status other than connected
  EXPECT_DOUBLE_EQ(metrics().uptime, 75);
}

TEST_F(MetricsTest, UptimeNotConnectedWithoutDisconnectedAtEndsAtLastActivity) {
  s.status = SessionStatus::failed;
  s.created_at = kNow - 1000;
  s.last_connected_at = kNow - 1000;
  s.disconnected_at.reset();
  s.last_activity_at = kNow - 600;
  EXPECT_DOUBLE_EQ(metrics().uptime, 40);
}

TEST_F(MetricsTest, UptimeWithNoEndEndsAtLastConnectedAt) {
  s.status = SessionStatus::disconnected;
  s.created_at = kNow - 1000;
  s.last_connected_at = kNow - 400;
  s.disconnected_at.reset();
  s.last_activity_at.reset();
  EXPECT_DOUBLE_EQ(metrics().uptime, 0);
}

TEST_F(MetricsTest, UptimeMissingLastConnectedAtMeansCreatedAt) {
  s.created_at = kNow - 1000;
  s.last_connected_at.reset();
  EXPECT_DOUBLE_EQ(metrics().uptime, 100);  // connected since creation
  s.status = SessionStatus::disconnected;
  s.disconnected_at = kNow - 500;
  EXPECT_DOUBLE_EQ(metrics().uptime, 50);
}

TEST_F(MetricsTest, UptimeIsHundredWhenNowIsCreatedAt) {
  s.created_at = kNow;
  s.last_connected_at = kNow;
  EXPECT_EQ(metrics().uptime, 100);
  s.status = SessionStatus::disconnected;
  s.last_activity_at.reset();
  EXPECT_EQ(metrics().uptime, 100);
}

TEST_F(MetricsTest, UptimeIsCappedToZeroToHundred) {
  s.status = SessionStatus::disconnected;
  s.created_at = kNow - 1000;
  s.last_connected_at = kNow - 1000;
  s.disconnected_at = kNow + 5000;  // a clock ahead of ours
  EXPECT_EQ(metrics().uptime, 100);
  s.last_connected_at = kNow - 100;
  s.disconnected_at = kNow - 500;  // disconnected before the last connection
  EXPECT_EQ(metrics().uptime, 0);
}

// --- the score --------------------------------------------------------------------------------

class ScoreTest : public ::testing::Test {
 protected:
  HealthWeights weights;  // the contract's defaults
  Session s = make_session("s1", 0);

  ScoreTest() {
    s.created_at = kNow - 7 * 86400;
    s.last_connected_at = s.created_at;  // uptime 100
  }
  int score(const WindowStats& w, double minutes_since_activity) {
    s.last_activity_at = kNow - minutes_since_activity * kMinute;
    return health_score(compute_metrics(s, w, kNow), weights);
  }
};

TEST_F(ScoreTest, WorkedExampleTenGoodMessagesScores99) {
  const WindowStats w = stats(10, 0, 500.0);
  EXPECT_EQ(compute_metrics(s, w, kNow), (HealthMetrics{100, 100, 100, 0, 90, 100}));
  EXPECT_EQ(score(w, 1), 99);
}

TEST_F(ScoreTest, WorkedExampleNoMessagesScores94) {
  EXPECT_EQ(score({}, 1), 94);
}

TEST_F(ScoreTest, WorkedExampleOneFailureInTwelveAt4000MsScores78) {
  const WindowStats w = stats(12, 1, 4000.0);
  s.last_activity_at = kNow - 50 * kMinute;
  const HealthMetrics m = compute_metrics(s, w, kNow);
  EXPECT_EQ(m.recent_activity, 60);
  EXPECT_DOUBLE_EQ(m.response_time, 20);
  EXPECT_NEAR(m.message_success_rate, 100.0 * 11 / 12, 1e-9);
  EXPECT_NEAR(m.error_rate, 100.0 / 12, 1e-9);
  EXPECT_EQ(score(w, 50), 78);
}

TEST_F(ScoreTest, WorkedExampleFiveFailuresInTenScores77) {
  EXPECT_EQ(score(stats(10, 5, 500.0), 1), 77);
}

TEST_F(ScoreTest, ScoresAreNotStuckInTheSeedsEightyToHundredBand) {
  s.status = SessionStatus::disconnected;
  s.disconnected_at = s.created_at;  // uptime 0
  EXPECT_LT(score(stats(10, 10, 6000.0), 500), 60);
}

TEST_F(ScoreTest, DivisorIsTheSumOfTheFiveNonErrorWeights) {
  const HealthMetrics m{100, 50, 0, 0, 100, 0};
  // Only stability and uptime weigh: (1·100 + 1·0) / 2 = 50. A fixed 1.10 divisor gives 91.
  EXPECT_EQ(health_score(m, HealthWeights{1, 0, 0, 0, 0, 1}), 50);
  // All five at 1: (100 + 50 + 0 + 100 + 0) / 5 = 50.
  EXPECT_EQ(health_score(m, HealthWeights{1, 1, 1, 0, 1, 1}), 50);
  // Scaling every weight (error included) changes the error term, not the weighted mean.
  EXPECT_EQ(health_score(m, HealthWeights{2, 2, 2, 0, 2, 2}), 50);
  // Defaults: (35 + 12.5 + 0 + 15 + 0) / 1.10 = 56.82 -> 57.
  EXPECT_EQ(health_score(m, HealthWeights{}), 57);
}

TEST_F(ScoreTest, ErrorRateIsSubtractedWithItsWeightOutsideTheMean) {
  const HealthMetrics m{100, 100, 100, 40, 100, 100};
  EXPECT_EQ(health_score(m, HealthWeights{}), 100 - 8);
  HealthWeights w;
  w.error_rate = 0.5;
  EXPECT_EQ(health_score(m, w), 100 - 20);
  w.error_rate = 0;
  EXPECT_EQ(health_score(m, w), 100);
}

TEST_F(ScoreTest, RoundsHalfAwayFromZero) {
  const HealthWeights w = only(&HealthWeights::connection_stability);
  auto with_stability = [](double v) { return HealthMetrics{v, 0, 0, 0, 0, 0}; };
  EXPECT_EQ(health_score(with_stability(0.5), w), 1);  // half-to-even gives 0
  EXPECT_EQ(health_score(with_stability(2.5), w), 3);  // half-to-even gives 2
  EXPECT_EQ(health_score(with_stability(72.5), w), 73);
  EXPECT_EQ(health_score(with_stability(72.49), w), 72);
  EXPECT_EQ(health_score(with_stability(72.51), w), 73);

  EXPECT_EQ(round_half_away(0.5), 1);
  EXPECT_EQ(round_half_away(1.5), 2);
  EXPECT_EQ(round_half_away(2.5), 3);
  EXPECT_EQ(round_half_away(-0.5), -1);
  EXPECT_EQ(round_half_away(-2.5), -3);
  EXPECT_EQ(round_half_away(2.4999), 2);
  EXPECT_EQ(round_half_away(-2.4999), -2);
  EXPECT_EQ(round_half_away(0), 0);
}

TEST_F(ScoreTest, ClampedToZeroToHundred) {
  EXPECT_EQ(health_score(HealthMetrics{0, 0, 0, 100, 0, 0}, HealthWeights{}), 0);
  EXPECT_EQ(health_score(HealthMetrics{10, 10, 10, 100, 10, 10}, HealthWeights{}), 0);
  HealthWeights w;
  w.error_rate = -1;  // not a valid config, but the score still stays within 0..100
  EXPECT_EQ(health_score(HealthMetrics{100, 100, 100, 50, 100, 100}, w), 100);
  EXPECT_EQ(health_score(HealthMetrics{250, 250, 250, 0, 250, 250}, HealthWeights{}), 100);
}

TEST_F(ScoreTest, ScoreIsAlwaysWithinRangeForRealMetrics) {
  const std::vector<SessionStatus> statuses{SessionStatus::connected, SessionStatus::connecting,
                                            SessionStatus::disconnected, SessionStatus::error};
  for (const SessionStatus st : statuses) {
    s.status = st;
    for (std::uint64_t failed = 0; failed <= 10; failed += 5) {
      for (const double minutes : {0.0, 10.0, 30.0, 90.0, 1000.0}) {
        const int h = score(stats(10, failed, 100.0 * static_cast<double>(failed)), minutes);
        EXPECT_GE(h, 0);
        EXPECT_LE(h, 100);
      }
    }
  }
}

// --- alerts -----------------------------------------------------------------------------------

class AlertTest : public ::testing::Test {
 protected:
  AlertThresholds t;  // defaults: high_error_rate 15, slow_delivery 10000, low_success_rate 80

  static WindowStats with_delivery(WindowStats w, double avg_ms) {
    w.delivery_time_count = 4;
    w.delivery_time_sum_ms = avg_ms * 4;
    return w;
  }
};

TEST_F(AlertTest, NoMessagesNoAlerts) {
  EXPECT_THAT(broken_limits({}, t), IsEmpty());
  // Delivery times without messages in the window still break nothing.
  EXPECT_THAT(broken_limits(with_delivery({}, 99999), t), IsEmpty());
}

TEST_F(AlertTest, HealthyWindowNoAlerts) {
  EXPECT_THAT(broken_limits(with_delivery(stats(20, 0), 500), t), IsEmpty());
}

TEST_F(AlertTest, ErrorRateBrokenOnlyStrictlyAbove) {
  // 3/20 = 15% exactly: at the threshold is not beyond it (success 85% is fine too).
  EXPECT_THAT(broken_limits(stats(20, 3), t), IsEmpty());
  t.low_success_rate = 0;  // isolate the error-rate limit
  EXPECT_THAT(broken_limits(stats(20, 4), t),
              ElementsAre(Alert{AlertType::high_error_rate, 20, 15}));
}

TEST_F(AlertTest, SuccessRateBrokenOnlyStrictlyBelow) {
  t.high_error_rate = 100;                                 // isolate the success-rate limit
  EXPECT_THAT(broken_limits(stats(20, 4), t), IsEmpty());  // 80% exactly
  EXPECT_THAT(broken_limits(stats(20, 5), t),
              ElementsAre(Alert{AlertType::low_success_rate, 75, 80}));
}

TEST_F(AlertTest, SlowDeliveryOnlyWithDeliveryTimesAndStrictlyAbove) {
  EXPECT_THAT(broken_limits(stats(20, 0), t), IsEmpty());  // no delivery times at all
  EXPECT_THAT(broken_limits(with_delivery(stats(20, 0), 10000), t), IsEmpty());
  EXPECT_THAT(broken_limits(with_delivery(stats(20, 0), 10001), t),
              ElementsAre(Alert{AlertType::slow_delivery, 10001, 10000}));
}

TEST_F(AlertTest, ResponseTimeIsNotDeliveryTime) {
  EXPECT_THAT(broken_limits(stats(20, 0, 50000.0), t), IsEmpty());
}

TEST_F(AlertTest, ListsEveryBrokenLimit) {
  const auto alerts = broken_limits(with_delivery(stats(10, 5), 20000), t);
  EXPECT_THAT(alerts, UnorderedElementsAre(Alert{AlertType::high_error_rate, 50, 15},
                                           Alert{AlertType::low_success_rate, 50, 80},
                                           Alert{AlertType::slow_delivery, 20000, 10000}));
}

TEST_F(AlertTest, ConfiguredThresholdsAreUsed) {
  t.high_error_rate = 40;
  t.low_success_rate = 55;
  t.slow_delivery = 30000;
  EXPECT_THAT(broken_limits(with_delivery(stats(10, 5), 20000), t),
              UnorderedElementsAre(Alert{AlertType::high_error_rate, 50, 40},
                                   Alert{AlertType::low_success_rate, 50, 55}));
}

TEST_F(AlertTest, TypeNames) {
  EXPECT_EQ(to_string(AlertType::high_error_rate), "high_error_rate");
  EXPECT_EQ(to_string(AlertType::low_success_rate), "low_success_rate");
  EXPECT_EQ(to_string(AlertType::slow_delivery), "slow_delivery");
  EXPECT_EQ(to_string(AlertType::silent), "silent");
}

TEST(AlertMaskTest, SilentHasItsOwnBitAndIsEdgeTriggered) {
  const AlertMask err = mask_of({Alert{AlertType::high_error_rate, 0, 0}});
  const AlertMask silent = mask_of({Alert{AlertType::silent, 0, 50}});
  EXPECT_NE(silent, 0u);
  EXPECT_EQ(silent & (err | mask_of({Alert{AlertType::low_success_rate, 0, 0}}) |
                      mask_of({Alert{AlertType::slow_delivery, 0, 0}})),
            0u);
  EXPECT_TRUE(alert_is_new(err, err | silent));  // silent on top of a limit already reported
  EXPECT_FALSE(alert_is_new(err | silent, silent));
  EXPECT_FALSE(alert_is_new(silent, silent));
  EXPECT_TRUE(alert_is_new(0, silent));
}

TEST(AlertMaskTest, EachTypeHasItsOwnBit) {
  const AlertMask e = mask_of({Alert{AlertType::high_error_rate, 0, 0}});
  const AlertMask s = mask_of({Alert{AlertType::low_success_rate, 0, 0}});
  const AlertMask d = mask_of({Alert{AlertType::slow_delivery, 0, 0}});
  EXPECT_EQ(mask_of({}), 0u);
  EXPECT_NE(e, 0u);
  EXPECT_NE(s, 0u);
  EXPECT_NE(d, 0u);
  EXPECT_EQ(e & s, 0u);
  EXPECT_EQ(e & d, 0u);
  EXPECT_EQ(s & d, 0u);
  EXPECT_EQ(
      mask_of({Alert{AlertType::high_error_rate, 1, 2}, Alert{AlertType::slow_delivery, 3, 4}}),
      e | d);
}

TEST(AlertMaskTest, EdgeTriggered) {
  const AlertMask none = 0;
  const AlertMask err = mask_of({Alert{AlertType::high_error_rate, 0, 0}});
  const AlertMask slow = mask_of({Alert{AlertType::slow_delivery, 0, 0}});
  EXPECT_TRUE(alert_is_new(none, err));         // starts breaking: alert
  EXPECT_FALSE(alert_is_new(err, err));         // stays bad: no repeat
  EXPECT_FALSE(alert_is_new(err | slow, err));  // recovers partly: nothing new
  EXPECT_TRUE(alert_is_new(err, err | slow));   // a further limit: alert again
  EXPECT_FALSE(alert_is_new(err, none));        // recovers: nothing
  EXPECT_FALSE(alert_is_new(none, none));
  EXPECT_TRUE(alert_is_new(slow, err));  // a different limit than before
}

TEST(AlertMaskTest, SequenceOfChecksAlertsOnlyOnNewLimits) {
  const AlertThresholds t;
  const std::vector<WindowStats> checks{stats(20, 0), stats(20, 10), stats(20, 12), stats(20, 0),
                                        stats(20, 10)};
  std::vector<bool> sent;
  AlertMask previous = 0;
  for (const WindowStats& w : checks) {
    const AlertMask now = mask_of(broken_limits(w, t));
    sent.push_back(alert_is_new(previous, now));
    previous = now;
  }
  EXPECT_THAT(sent, ElementsAre(false, true, false, false, true));
}

}  // namespace
