// The JSON records the daemon writes (CONTRACT.md sections 3 to 6), checked by parsing them back
// with Boost.JSON: every field, with the right JSON type.
#include "core/records.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdint>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/job.hpp"
#include "core/json_writer.hpp"
#include "core_test_helpers.hpp"

namespace {

using namespace wa::core;
namespace json = boost::json;
using ::testing::ElementsAre;
using ::testing::UnorderedElementsAreArray;
using wa::config::Config;
using wa::test::make_session;
using wa::test::Workspace;

constexpr Seconds kAt = 1795694400;  // 2026-11-26T12:00:00Z (date -u -d @1795694400)

json::object parse_object(const std::string& text) {
  boost::system::error_code ec;
  const json::value v = json::parse(text, ec);
  EXPECT_FALSE(ec) << ec.message() << " in: " << text;
  EXPECT_TRUE(v.is_object()) << text;
  return !ec && v.is_object() ? v.get_object() : json::object{};
}

std::vector<std::string> keys_of(const json::object& o) {
  std::vector<std::string> keys;
  for (const auto& m : o)
    keys.emplace_back(m.key());
  return keys;
}

std::string str(const json::value& v) {
  EXPECT_TRUE(v.is_string()) << json::serialize(v);
  return v.is_string() ? std::string(v.get_string()) : std::string();
}

Job job_from(const std::string& payload) {
  ParsedJob p = parse_job(payload);
  EXPECT_TRUE(p.job) << p.error;
  return p.job.value_or(Job{});
}

// --- iso8601 ----------------------------------------------------------------------------------

TEST(Iso8601Test, KnownInstants) {
  EXPECT_EQ(iso8601(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(iso8601(kAt), "2026-11-26T12:00:00.000Z");
  EXPECT_EQ(iso8601(86399.999), "1970-01-01T23:59:59.999Z");
  EXPECT_EQ(iso8601(1735689599), "2024-12-31T23:59:59.000Z");
  EXPECT_EQ(iso8601(1735689600), "2025-01-01T00:00:00.000Z");
}

TEST(Iso8601Test, Milliseconds) {
  EXPECT_EQ(iso8601(kAt + 0.123), "2026-11-26T12:00:00.123Z");
  EXPECT_EQ(iso8601(kAt + 0.001), "2026-11-26T12:00:00.001Z");
  EXPECT_EQ(iso8601(kAt + 59.5), "2026-11-26T12:00:59.500Z");
}

TEST(Iso8601Test, LeapDays) {
  EXPECT_EQ(iso8601(1709210096), "2024-02-29T12:34:56.000Z");
  // Years of fewer than four digits are zero-padded; beyond 9999 they take the digits they need.
  EXPECT_EQ(iso8601(-30610224001), "0999-12-31T23:59:59.000Z");
  EXPECT_EQ(iso8601(-30610224000), "1000-01-01T00:00:00.000Z");
  EXPECT_EQ(iso8601(253402300799.5), "9999-12-31T23:59:59.500Z");
  EXPECT_EQ(iso8601(253402300800), "10000-01-01T00:00:00.000Z");
  EXPECT_EQ(iso8601(1709251200), "2024-03-01T00:00:00.000Z");
  EXPECT_EQ(iso8601(1709251200 - 0.5), "2024-02-29T23:59:59.500Z");
  EXPECT_EQ(iso8601(1677628800), "2023-03-01T00:00:00.000Z");  // 2023 has no Feb 29
  EXPECT_EQ(iso8601(1677628800 - 1), "2023-02-28T23:59:59.000Z");
  EXPECT_EQ(iso8601(951782400), "2000-02-29T00:00:00.000Z");   // divisible by 400
  EXPECT_EQ(iso8601(4107542400), "2100-03-01T00:00:00.000Z");  // 2100 is not a leap year
  EXPECT_EQ(iso8601(4107542400 - 1), "2100-02-28T23:59:59.000Z");
}

TEST(DispatchKeyTest, WithoutPrefix) {
  EXPECT_EQ(dispatch_key("42", "s1"), "wa:dispatch:42:s1");
  EXPECT_EQ(dispatch_key("camp-x", "meta_api"), "wa:dispatch:camp-x:meta_api");
}

// --- decision_json ----------------------------------------------------------------------------

class DecisionJsonTest : public ::testing::Test {
 protected:
  Config cfg;
  Workspace ws;

  DecisionJsonTest() {
    Session& a = ws.add(make_session("s1", 90, true));
    a.uuid = "u-1";
    a.phone_number = "+15550001";
    ws.add(make_session("s2", 70));
    ws.meta.configured = true;
  }
  json::object record(const Job& job, std::uint64_t contacts,
                      std::optional<Seconds> retry_at = std::nullopt) {
    const Decision d = decide(spec_of(job), contacts, ws.view(), cfg);
    return parse_object(decision_json(job, d, kAt, retry_at));
  }
};

const std::set<std::string> kDecisionKeys{
    "job_id",  "campaign_id", "workspace_id", "template_mode", "provider_preference",
    "type",    "reason",      "confidence",   "session",       "distribution",
    "factors", "prediction",  "attempts",     "selected_at"};

TEST_F(DecisionJsonTest, WebjsDecisionHasEveryFieldWithTheRightType) {
  const Job job =
      job_from(R"({"job_id":"j-1","campaign_id":42,"workspace_id":7,"template_mode":"direct",)"
               R"("contacts":[],"attempts":2})");
  const json::object o = record(job, 1000);
  const auto keys = keys_of(o);
  EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()), kDecisionKeys);

  EXPECT_EQ(str(o.at("job_id")), "j-1");
  ASSERT_TRUE(o.at("campaign_id").is_int64());  // came in as a number
  EXPECT_EQ(o.at("campaign_id").get_int64(), 42);
  ASSERT_TRUE(o.at("workspace_id").is_int64());
  EXPECT_EQ(o.at("workspace_id").get_int64(), 7);
  EXPECT_EQ(str(o.at("template_mode")), "direct");
  EXPECT_EQ(str(o.at("provider_preference")), "auto");
  EXPECT_EQ(str(o.at("type")), "webjs");
  EXPECT_EQ(str(o.at("reason")), "primary_session");
  ASSERT_TRUE(o.at("confidence").is_number());
  EXPECT_EQ(o.at("confidence").to_number<double>(), 100);

  const json::object& session = o.at("session").as_object();
  EXPECT_THAT(keys_of(session), UnorderedElementsAreArray(
                                    {"id", "uuid", "phone_number", "health_score", "is_primary"}));
  EXPECT_EQ(str(session.at("id")), "s1");
  EXPECT_EQ(str(session.at("uuid")), "u-1");
  EXPECT_EQ(str(session.at("phone_number")), "+15550001");
  ASSERT_TRUE(session.at("health_score").is_number());
  EXPECT_EQ(session.at("health_score").to_number<int>(), 90);
  ASSERT_TRUE(session.at("is_primary").is_bool());
  EXPECT_TRUE(session.at("is_primary").get_bool());

  const json::array& dist = o.at("distribution").as_array();
  ASSERT_EQ(dist.size(), 2u);
  std::int64_t total = 0;
  for (const json::value& v : dist) {
    const json::object& e = v.as_object();
    EXPECT_THAT(keys_of(e), UnorderedElementsAreArray({"target", "count", "key"}));
    ASSERT_TRUE(e.at("count").is_number());
    total += e.at("count").to_number<std::int64_t>();
    EXPECT_EQ(str(e.at("key")), "wa:dispatch:42:" + str(e.at("target")));
  }
  EXPECT_EQ(total, 1000);
  EXPECT_EQ(str(dist[0].at("target")), "s1");
  EXPECT_EQ(str(dist[1].at("target")), "s2");

  const json::object& f = o.at("factors").as_object();
  EXPECT_THAT(keys_of(f), UnorderedElementsAreArray({"campaign_mode_score", "session_health_score",
                                                     "user_preference_score", "performance_score",
                                                     "weighted_score"}));
  for (const auto& m : f)
    EXPECT_TRUE(m.value().is_number()) << m.key();
  EXPECT_EQ(f.at("campaign_mode_score").to_number<double>(), 100);
  EXPECT_EQ(f.at("user_preference_score").to_number<double>(), 50);
  EXPECT_EQ(f.at("performance_score").to_number<double>(), 50);

  ASSERT_TRUE(o.at("attempts").is_number());
  EXPECT_EQ(o.at("attempts").to_number<std::int64_t>(), 2);
  EXPECT_EQ(str(o.at("selected_at")), "2026-11-26T12:00:00.000Z");
}

TEST_F(DecisionJsonTest, PredictionObject) {
  const Job job =
      job_from(R"({"campaign_id":1,"workspace_id":1,"template_mode":"direct","contacts":[],)"
               R"("template":{"status":"APPROVED"}})");
  const json::object o = record(job, 2500);
  const json::object& p = o.at("prediction").as_object();
  EXPECT_THAT(keys_of(p), UnorderedElementsAreArray({"webjs", "meta_api", "recommended_provider"}));
  const json::object& w = p.at("webjs").as_object();
  EXPECT_THAT(keys_of(w), UnorderedElementsAreArray({"available", "session_count",
                                                     "capacity_per_hour", "estimated_minutes"}));
  EXPECT_TRUE(w.at("available").as_bool());
  EXPECT_EQ(w.at("session_count").to_number<int>(), 2);
  EXPECT_TRUE(w.at("capacity_per_hour").is_number());
  EXPECT_TRUE(w.at("estimated_minutes").is_number());
  const json::object& m = p.at("meta_api").as_object();
  EXPECT_THAT(keys_of(m), UnorderedElementsAreArray({"available", "capacity_per_hour", "tier_limit",
                                                     "estimated_minutes"}));
  EXPECT_TRUE(m.at("available").as_bool());
  EXPECT_EQ(m.at("capacity_per_hour").to_number<double>(), 288000);
  // v2's default tier (section 9): 250 a day, so 2,500 contacts take ten days.
  EXPECT_EQ(m.at("tier_limit").to_number<int>(), 250);
  EXPECT_EQ(m.at("estimated_minutes").to_number<int>(), 9 * 1440 + 1);
  EXPECT_EQ(str(p.at("recommended_provider")), "webjs");
}

TEST_F(DecisionJsonTest, UnavailableEstimatesAndNoRecommendationAreNull) {
  ws.sessions.clear();
  ws.meta.configured = false;
  const Job job =
      job_from(R"({"campaign_id":1,"workspace_id":1,"template_mode":"direct","contacts":[]})");
  const json::object o = record(job, 10);
  const json::object& p = o.at("prediction").as_object();
  EXPECT_FALSE(p.at("webjs").at("available").as_bool());
  EXPECT_TRUE(p.at("webjs").at("estimated_minutes").is_null());
  EXPECT_FALSE(p.at("meta_api").at("available").as_bool());
  EXPECT_TRUE(p.at("meta_api").at("estimated_minutes").is_null());
  EXPECT_TRUE(p.at("recommended_provider").is_null());
}

TEST_F(DecisionJsonTest, PredictionNullWhenOff) {
  cfg.load_balancing.enable_predictive_analytics = false;
  const Job job =
      job_from(R"({"campaign_id":1,"workspace_id":1,"template_mode":"direct","contacts":[]})");
  const json::object o = record(job, 10);
  ASSERT_TRUE(o.contains("prediction"));
  EXPECT_TRUE(o.at("prediction").is_null());
}

TEST_F(DecisionJsonTest, MetaDecisionWithStringIdsAndTemplate) {
  const Job job =
      job_from(R"({"campaign_id":"camp-x","workspace_id":"ws-1","template_mode":"template",)"
               R"("provider_preference":"meta_api","template":{"id":99,"status":"APPROVED",)"
               R"("webjs_compatible":false},"contacts_key":"k"})");
  const json::object o = record(job, 12);
  const auto keys = keys_of(o);
  std::set<std::string> expected = kDecisionKeys;
  expected.insert("template");
  EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()), expected);

  ASSERT_TRUE(o.at("campaign_id").is_string());
  EXPECT_EQ(str(o.at("campaign_id")), "camp-x");
  ASSERT_TRUE(o.at("workspace_id").is_string());
  EXPECT_EQ(str(o.at("workspace_id")), "ws-1");
  EXPECT_EQ(str(o.at("template_mode")), "template");
  EXPECT_EQ(str(o.at("provider_preference")), "meta_api");
  const json::object& t = o.at("template").as_object();
  EXPECT_EQ(t.at("id").as_int64(), 99);
  EXPECT_EQ(str(t.at("status")), "APPROVED");
  EXPECT_FALSE(t.at("webjs_compatible").as_bool());
  EXPECT_EQ(str(o.at("type")), "meta_api");
  EXPECT_EQ(str(o.at("reason")), "preferred_provider");
  EXPECT_EQ(o.at("confidence").to_number<double>(), 75);
  EXPECT_TRUE(o.at("session").is_null());
  const json::array& dist = o.at("distribution").as_array();
  ASSERT_EQ(dist.size(), 1u);
  EXPECT_EQ(str(dist[0].at("target")), "meta_api");
  EXPECT_EQ(dist[0].at("count").to_number<int>(), 12);
  EXPECT_EQ(str(dist[0].at("key")), "wa:dispatch:camp-x:meta_api");
  EXPECT_EQ(o.at("attempts").to_number<int>(), 0);
}

TEST_F(DecisionJsonTest, TemplateIdKeepsItsJsonTypeAndIsOmittedWhenAbsent) {
  const Job with_string =
      job_from(R"({"campaign_id":1,"workspace_id":1,"template_mode":"template",)"
               R"("template":{"id":"t-1","status":"PENDING"},"contacts":[]})");
  EXPECT_EQ(str(record(with_string, 1).at("template").at("id")), "t-1");
  const Job without = job_from(R"({"campaign_id":1,"workspace_id":1,"template_mode":"template",)"
                               R"("template":{"status":"PENDING"},"contacts":[]})");
  const json::object t = record(without, 1).at("template").as_object();
  EXPECT_FALSE(t.contains("id"));
  EXPECT_TRUE(t.at("webjs_compatible").as_bool());
}

TEST_F(DecisionJsonTest, QueueDecisionWithRetryAt) {
  const Job job = job_from(R"({"campaign_id":5,"workspace_id":"w","template_mode":"template",)"
                           R"("template":{"status":"PAUSED"},"contacts":[1,2,3],"attempts":4})");
  const json::object o = record(job, 3, kAt + 600.25);
  EXPECT_EQ(str(o.at("type")), "queue");
  EXPECT_EQ(str(o.at("reason")), "template_not_approved");
  EXPECT_EQ(o.at("confidence").to_number<double>(), 0);
  EXPECT_TRUE(o.at("session").is_null());
  EXPECT_TRUE(o.at("distribution").as_array().empty());
  EXPECT_EQ(str(o.at("retry_at")), "2026-11-26T12:10:00.250Z");
  EXPECT_EQ(o.at("attempts").to_number<int>(), 4);
  // Without retry_at (the last try, going to dead) the member is absent, not null.
  EXPECT_FALSE(record(job, 3).contains("retry_at"));
}

TEST_F(DecisionJsonTest, StringsAreEscaped) {
  Session& s = ws.sessions[0];
  s.id = "s\"1\\";
  s.uuid = "u\n\t\x01";
  const Job job = job_from(R"({"job_id":"a\"b\u0002c","campaign_id":"c\"1","workspace_id":1,)"
                           R"("template_mode":"direct","contacts":[]})");
  const json::object o = record(job, 3);
  EXPECT_EQ(str(o.at("job_id")),
            "a\"b\x02"
            "c");
  EXPECT_EQ(str(o.at("session").at("id")), "s\"1\\");
  EXPECT_EQ(str(o.at("session").at("uuid")), "u\n\t\x01");
  EXPECT_EQ(str(o.at("distribution").at(0).at("key")), "wa:dispatch:c\"1:s\"1\\");
}

// A session hash's bytes are the app's: ill-formed UTF-8 in them must not make the record
// unreadable (a strict parser such as PHP's json_decode returns null on it).
TEST_F(DecisionJsonTest, IllFormedUtf8InTheSessionBecomesReplacementCharacters) {
  Session& s = ws.sessions[0];
  s.id = "s\xFF";
  s.uuid = "u-\xE2\x82";
  s.phone_number = "+1555\xED\xA0\x80";
  const Job job = job_from(R"({"job_id":"j","campaign_id":1,"workspace_id":1,)"
                           R"("template_mode":"direct","contacts":[]})");
  const json::object o = record(job, 3);  // parses: valid UTF-8
  EXPECT_EQ(str(o.at("session").at("id")), "s\xEF\xBF\xBD");
  EXPECT_EQ(str(o.at("session").at("uuid")), "u-\xEF\xBF\xBD");
  EXPECT_EQ(str(o.at("session").at("phone_number")), "+1555\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
}

// --- dead entries and events ------------------------------------------------------------------

TEST(DeadEntryJsonTest, PayloadAsAJsonString) {
  const std::string payload = "{\"campaign_id\": \"x\\\"y\", \"n\":1.50}\n\t\x01 \xc3\xa9";
  const json::object o = parse_object(dead_entry_json(payload, "campaign_id: required", kAt));
  EXPECT_THAT(keys_of(o), UnorderedElementsAreArray({"payload", "error", "failed_at"}));
  EXPECT_EQ(str(o.at("payload")), payload);  // the exact bytes
  EXPECT_EQ(str(o.at("error")), "campaign_id: required");
  EXPECT_EQ(str(o.at("failed_at")), "2026-11-26T12:00:00.000Z");
}

TEST(DeadEntryJsonTest, InvalidUtf8PayloadIsBase64) {
  const std::string payload = "{\"a\":\"\xff\"}";
  const std::string text = dead_entry_json(payload, "payload: not valid JSON", kAt);
  EXPECT_TRUE(is_valid_utf8(text));
  const json::object o = parse_object(text);
  EXPECT_THAT(keys_of(o), UnorderedElementsAreArray({"payload_base64", "error", "failed_at"}));
  EXPECT_EQ(str(o.at("payload_base64")), "eyJhIjoi/yJ9");
  EXPECT_EQ(str(o.at("error")), "payload: not valid JSON");
}

TEST(DeadEntryJsonTest, EmptyAndBinaryPayloads) {
  EXPECT_EQ(str(parse_object(dead_entry_json("", "e", kAt)).at("payload")), "");
  const std::string nul("a\0b", 3);  // valid UTF-8: kept as a string with \u0000
  EXPECT_EQ(str(parse_object(dead_entry_json(nul, "e", kAt)).at("payload")), nul);
}

TEST(DeadEntryJsonTest, ParserErrorsEndUpInValidJson) {
  // Whatever parse_job says about a payload must make a valid dead entry.
  std::string long_value = "a";
  for (int i = 0; i < 60; ++i)
    long_value += "\xe2\x82\xac";
  for (const std::string& payload : std::vector<std::string>{
           "not json", "\xff\xfe", std::string(5000, '['),
           R"({"campaign_id":")" + long_value + R"(","template_mode":")" + long_value + "\"}",
           R"({"campaign_id":0,"workspace_id":"","template_mode":"sms","contacts":"x\n"})"}) {
    const ParsedJob p = parse_job(payload);
    ASSERT_FALSE(p.job);
    const std::string text = dead_entry_json(payload, p.error, kAt);
    EXPECT_TRUE(is_valid_utf8(text)) << p.error;
    EXPECT_EQ(str(parse_object(text).at("error")), p.error);
  }
}

TEST(DeadEventJsonTest, Fields) {
  const json::object o =
      parse_object(dead_event_json("j-1", Id{"42", true}, Id{"w-1", false}, "bad", kAt));
  EXPECT_THAT(keys_of(o),
              ElementsAre("event", "job_id", "campaign_id", "workspace_id", "error", "at"));
  EXPECT_EQ(str(o.at("event")), "dead");
  EXPECT_EQ(str(o.at("job_id")), "j-1");
  EXPECT_EQ(o.at("campaign_id").as_int64(), 42);
  EXPECT_EQ(str(o.at("workspace_id")), "w-1");
  EXPECT_EQ(str(o.at("error")), "bad");
  EXPECT_EQ(str(o.at("at")), "2026-11-26T12:00:00.000Z");
}

TEST(DeadEventJsonTest, IdsKeepTheirTypeAndMissingWorkspaceIsNull) {
  const json::object o = parse_object(
      dead_event_json("j", Id{"c-1", false}, std::nullopt, "workspace_id: required", kAt));
  EXPECT_EQ(str(o.at("campaign_id")), "c-1");
  ASSERT_TRUE(o.contains("workspace_id"));
  EXPECT_TRUE(o.at("workspace_id").is_null());
  const json::object n = parse_object(
      dead_event_json("j", Id{"c-1", false}, Id{"9223372036854775807", true}, "", kAt));
  EXPECT_EQ(n.at("workspace_id").as_int64(), INT64_MAX);
}

// --- alerts, switches, metrics ----------------------------------------------------------------

TEST(AlertJsonTest, Fields) {
  const std::vector<Alert> alerts{{AlertType::high_error_rate, 20, 15},
                                  {AlertType::slow_delivery, 12000.5, 10000}};
  const json::object o = parse_object(alert_json("s1", "7", alerts, 64, kAt));
  EXPECT_THAT(keys_of(o), UnorderedElementsAreArray({"event", "session_id", "workspace_id",
                                                     "alerts", "health_score", "at"}));
  EXPECT_EQ(str(o.at("event")), "alert");
  EXPECT_EQ(str(o.at("session_id")), "s1");
  EXPECT_EQ(str(o.at("workspace_id")), "7");
  EXPECT_EQ(o.at("health_score").to_number<int>(), 64);
  EXPECT_EQ(str(o.at("at")), "2026-11-26T12:00:00.000Z");
  const json::array& a = o.at("alerts").as_array();
  ASSERT_EQ(a.size(), 2u);
  EXPECT_THAT(keys_of(a[0].as_object()), UnorderedElementsAreArray({"type", "value", "threshold"}));
  EXPECT_EQ(str(a[0].at("type")), "high_error_rate");
  EXPECT_EQ(a[0].at("value").to_number<double>(), 20);
  EXPECT_EQ(a[0].at("threshold").to_number<double>(), 15);
  EXPECT_EQ(str(a[1].at("type")), "slow_delivery");
  EXPECT_EQ(a[1].at("value").to_number<double>(), 12000.5);
  EXPECT_EQ(a[1].at("threshold").to_number<double>(), 10000);
}

TEST(AlertJsonTest, SilentEntry) {
  const std::vector<Alert> alerts{{AlertType::silent, 12.5, 50}};
  const json::object o = parse_object(alert_json("s9", "7", alerts, 90, kAt));
  const json::array& a = o.at("alerts").as_array();
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(str(a[0].at("type")), "silent");
  EXPECT_EQ(a[0].at("value").to_number<double>(), 12.5);
  EXPECT_EQ(a[0].at("threshold").to_number<double>(), 50);
}

TEST(AlertJsonTest, NonTerminatingRatesAreNumbers) {
  const std::vector<Alert> alerts{{AlertType::low_success_rate, 200.0 / 3, 80}};
  const json::object o = parse_object(alert_json("s", "w", alerts, 50, kAt));
  EXPECT_DOUBLE_EQ(o.at("alerts").at(0).at("value").to_number<double>(), 200.0 / 3);
}

TEST(SwitchJsonTest, MovedToSessions) {
  SwitchMove m;
  m.from = "s1";
  m.reason = SwitchReason::health_below_threshold;
  m.moved = 100;
  m.decision.type = DecisionType::webjs;
  m.decision.distribution = {{"s2", nullptr, {0, 1, 60}}, {"s3", nullptr, {60, 1, 40}}};
  const json::object o = parse_object(switch_json(Id{"42", true}, m, kAt));
  EXPECT_THAT(keys_of(o), UnorderedElementsAreArray(
                              {"event", "campaign_id", "from", "to", "moved", "reason", "at"}));
  EXPECT_EQ(str(o.at("event")), "provider_switch");
  EXPECT_EQ(o.at("campaign_id").as_int64(), 42);
  EXPECT_EQ(str(o.at("from")), "s1");
  EXPECT_EQ(o.at("to").as_array(), (json::array{"s2", "s3"}));
  EXPECT_EQ(o.at("moved").to_number<int>(), 100);
  EXPECT_EQ(str(o.at("reason")), "health_below_threshold");
  EXPECT_EQ(str(o.at("at")), "2026-11-26T12:00:00.000Z");
}

TEST(SwitchJsonTest, NowhereToGoIsAnEmptyToAndZeroMoved) {
  Config cfg;
  Workspace ws;
  ws.add(make_session("s1", 90)).status = SessionStatus::disconnected;
  const auto moves =
      plan_switches(wa::test::direct(), std::vector<TargetState>{{"s1", 30}}, ws.view(), cfg);
  ASSERT_EQ(moves.size(), 1u);
  const json::object o = parse_object(switch_json(Id{"camp", false}, moves[0], kAt));
  EXPECT_EQ(str(o.at("campaign_id")), "camp");
  ASSERT_TRUE(o.at("to").is_array());
  EXPECT_TRUE(o.at("to").as_array().empty());
  EXPECT_EQ(o.at("moved").to_number<int>(), 0);
  EXPECT_EQ(str(o.at("reason")), "disconnected");
}

TEST(SwitchJsonTest, MovedToMeta) {
  Config cfg;
  Workspace ws;
  ws.add(make_session("s1", 90)).is_active = false;
  ws.meta.configured = true;
  const auto moves = plan_switches(wa::test::templated(TemplateStatus::approved),
                                   std::vector<TargetState>{{"s1", 8}}, ws.view(), cfg);
  ASSERT_EQ(moves.size(), 1u);
  const json::object o = parse_object(switch_json(Id{"7", true}, moves[0], kAt));
  EXPECT_EQ(o.at("to").as_array(), (json::array{"meta_api"}));
  EXPECT_EQ(o.at("moved").to_number<int>(), 8);
}

TEST(MetricsJsonTest, SixNumbers) {
  const json::object o = parse_object(metrics_json(HealthMetrics{100, 91.5, 60, 8.25, 20, 0}));
  EXPECT_THAT(keys_of(o), UnorderedElementsAreArray({"connection_stability", "message_success_rate",
                                                     "recent_activity", "error_rate",
                                                     "response_time", "uptime"}));
  EXPECT_EQ(o.at("connection_stability").to_number<double>(), 100);
  EXPECT_EQ(o.at("message_success_rate").to_number<double>(), 91.5);
  EXPECT_EQ(o.at("recent_activity").to_number<double>(), 60);
  EXPECT_EQ(o.at("error_rate").to_number<double>(), 8.25);
  EXPECT_EQ(o.at("response_time").to_number<double>(), 20);
  EXPECT_EQ(o.at("uptime").to_number<double>(), 0);
}

// --- JSON writer escaping ---------------------------------------------------------------------

TEST(JsonEscapingTest, ControlCharactersQuotesAndBackslashes) {
  std::string all_controls;
  for (int c = 0; c < 0x20; ++c)
    all_controls.push_back(static_cast<char>(c));
  const std::string s = all_controls + "\"\\/\x7f \xc3\xa9 \xe2\x82\xac";
  std::string out;
  append_json_string(out, s);
  for (const char c : out) {
    EXPECT_GE(static_cast<unsigned char>(c), 0x20) << "raw control character in " << out;
  }
  const json::value v = json::parse(out);
  ASSERT_TRUE(v.is_string());
  EXPECT_EQ(std::string(v.get_string()), s);
}

TEST(JsonEscapingTest, ShortEscapes) {
  std::string out;
  append_json_string(out, "\"\\\n\r\t\b\f\x01\x1f");
  EXPECT_EQ(out, R"("\"\\\n\r\t\b\f\u0001\u001f")");
}

// Literal keys are copied as they are; keys made at run time are still escaped.
TEST(JsonEscapingTest, LiteralKeysAreCopiedAndOtherKeysEscaped) {
  std::string out;
  JsonWriter w(out);
  const std::string made = "q\"uote\n";
  w.begin_object()
      .member("plain", 1)
      .member(made, 2)
      .key(std::string_view("back\\slash"))
      .number(3)
      .key("last")
      .null()
      .end_object();
  EXPECT_EQ(out, R"({"plain":1,"q\"uote\n":2,"back\\slash":3,"last":null})");
}

// A char array holding a shorter string is a key up to its NUL, not its whole size.
TEST(JsonEscapingTest, AKeyInACharArrayEndsAtItsNul) {
  char buf[16] = "id";
  std::string out;
  JsonWriter w(out);
  w.begin_object().member(buf, 7).end_object();
  EXPECT_EQ(out, R"({"id":7})");
}

TEST(JsonEscapingTest, WriterProducesValidJsonAndNoNan) {
  std::string out;
  JsonWriter w(out);
  w.begin_object()
      .member("a", 1)
      .member("nan", std::numeric_limits<double>::quiet_NaN())
      .member("inf", std::numeric_limits<double>::infinity())
      .key("arr")
      .begin_array()
      .number(std::int64_t{-5})
      .number(std::uint64_t{18446744073709551615u})
      .number(0.1)
      .boolean(false)
      .null()
      .string("x")
      .begin_object()
      .end_object()
      .end_array()
      .end_object();
  const json::object o = parse_object(out);
  EXPECT_TRUE(o.at("nan").is_null());
  EXPECT_TRUE(o.at("inf").is_null());
  const json::array& a = o.at("arr").as_array();
  ASSERT_EQ(a.size(), 7u);
  EXPECT_EQ(a[0].as_int64(), -5);
  EXPECT_EQ(a[1].as_uint64(), 18446744073709551615u);
  EXPECT_EQ(a[2].as_double(), 0.1);  // shortest round-trip form
}

}  // namespace
