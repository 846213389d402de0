// Decisions end to end (CONTRACT.md section 4): every selection branch with its exact type and
// reason, every output key, the decision JSON, contacts_key jobs, redis.prefix, missing sessions,
// duplicates and redeliveries, and jobs pushed without a notify entry.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <set>
#include <thread>

#include "e2e_util.hpp"

namespace wa::test {
namespace {

using Strings = std::vector<std::string>;

// Asserts the decision's type and reason, and returns it.
json::object expect_decision(Env& env, const std::string& job_id, const std::string& type,
                             const std::string& reason) {
  auto d = wait_decision(env.c, job_id);
  if (!d) {
    ADD_FAILURE() << "no decision for " << job_id << "\n" << env.log();
    return {};
  }
  EXPECT_EQ(str_of(*d, "type"), type) << job_id << ": " << json::serialize(*d);
  EXPECT_EQ(str_of(*d, "reason"), reason) << job_id << ": " << json::serialize(*d);
  return std::move(*d);
}

std::string session_id_of(const json::object& d) {
  const json::value* s = d.if_contains("session");
  if (s == nullptr || !s->is_object()) return "";
  return str_of(s->get_object(), "id");
}

long long int_of(const json::object& o, std::string_view k) {
  const json::value* v = o.if_contains(k);
  return v != nullptr && v->is_int64() ? v->get_int64() : -999;
}

// No dispatch list, stored decision or active entry exists for the campaign.
void expect_no_outputs(Env& env, const std::string& campaign) {
  EXPECT_TRUE(env.c.cmd({"KEYS", "wa:dispatch:" + campaign + ":*"}).elements.empty()) << campaign;
  EXPECT_EQ(env.c.integer({"EXISTS", "wa:campaign:" + campaign + ":decision"}), 0) << campaign;
  EXPECT_TRUE(env.c.cmd({"ZSCORE", "wa:campaigns:active", campaign}).nil()) << campaign;
}

Strings numbers(int from, int to) {
  Strings out;
  for (int i = from; i <= to; ++i)
    out.push_back(std::to_string(i));
  return out;
}

// ---------------------------------------------------------------------------------------------
// 1. Template not approved.

TEST(TemplateNotApproved, PendingAndPausedAreQueuedAndRetried) {
  Env env;
  pin_health(env.c);
  seed_session(env.c, {.id = "s1", .primary = true, .health = 95});
  seed_meta(env.c, "1", true);
  push_job(
      env.c,
      R"({"job_id":"jp","campaign_id":11,"workspace_id":"1","template_mode":"template","template":{"id":1,"status":"PENDING"},"contacts":[1,2]})");
  push_job(
      env.c,
      R"({"job_id":"jq","campaign_id":12,"workspace_id":"1","template_mode":"template","provider_preference":"webjs","template":{"status":"PAUSED"},"contacts":[1,2]})");
  env.start();
  for (const std::string id : {"jp", "jq"}) {
    SCOPED_TRACE(id);
    const auto d = expect_decision(env, id, "queue", "template_not_approved");
    EXPECT_TRUE(d.contains("retry_at")) << json::serialize(d);
    EXPECT_EQ(int_of(d, "confidence"), 0);
    EXPECT_TRUE(d.at("session").is_null());
    EXPECT_TRUE(d.at("distribution").as_array().empty());
    // It is tried again (attempts 1) after the backoff.
    const auto again = wait_decision(env.c, id, 1);
    ASSERT_TRUE(again) << env.log();
    EXPECT_EQ(str_of(*again, "reason"), "template_not_approved");
  }
  expect_no_outputs(env, "11");
  expect_no_outputs(env, "12");
}

TEST(TemplateNotApproved, RejectedAndDisabledGoStraightToDead) {
  Env env;
  pin_health(env.c);
  seed_session(env.c, {.id = "s1", .primary = true, .health = 95});
  seed_meta(env.c, "1", true);
  const std::string rejected =
      R"({"job_id":"jr","campaign_id":21,"workspace_id":"1","template_mode":"template","provider_preference":"meta_api","template":{"status":"REJECTED"},"contacts":[1]})";
  const std::string disabled =
      R"({"job_id":"jd","campaign_id":"c-22","workspace_id":1,"template_mode":"template","template":{"status":"DISABLED"},"contacts":[1]})";
  push_job(env.c, rejected);
  push_job(env.c, disabled);
  env.start();
  ASSERT_TRUE(wait_until([&] { return events_of(env.c, "dead").size() == 2; })) << env.log();
  ASSERT_TRUE(env.wait_idle());
  const auto dead = events_of(env.c, "dead");
  EXPECT_EQ(str_of(dead[0], "job_id"), "jr");
  EXPECT_EQ(dead[0].at("campaign_id"), json::value(21));
  EXPECT_EQ(dead[0].at("workspace_id"), json::value("1"));
  EXPECT_EQ(str_of(dead[1], "job_id"), "jd");
  EXPECT_EQ(dead[1].at("campaign_id"), json::value("c-22"));
  EXPECT_EQ(dead[1].at("workspace_id"), json::value(1));
  for (const auto& e : dead) {
    EXPECT_NE(str_of(e, "error").find("template"), std::string::npos) << json::serialize(e);
    EXPECT_TRUE(is_iso8601(str_of(e, "at"))) << json::serialize(e);
  }
  // Straight to dead: never delayed, never retried, no decision offers a retry.
  EXPECT_EQ(env.c.integer({"ZCARD", "queues:wa-campaigns:delayed"}), 0);
  for (const auto& r : results(env.c)) {
    if (!r.contains("type")) continue;
    EXPECT_EQ(str_of(r, "type"), "queue");
    EXPECT_EQ(str_of(r, "reason"), "template_not_approved");
    EXPECT_FALSE(r.contains("retry_at")) << json::serialize(r);
    EXPECT_EQ(int_of(r, "attempts"), 0);
  }
  const Strings dead_list = env.c.list("queues:wa-campaigns:dead");
  ASSERT_EQ(dead_list.size(), 2u);
  EXPECT_EQ(str_of(parse_object(dead_list[0]), "payload"), rejected);
  EXPECT_EQ(str_of(parse_object(dead_list[1]), "payload"), disabled);
  expect_no_outputs(env, "21");
  expect_no_outputs(env, "c-22");
}

// ---------------------------------------------------------------------------------------------
// 2. An explicit provider preference.

TEST(Preference, WebjsWhenAvailable) {
  Env env;
  pin_health(env.c);
  seed_session(env.c, {.id = "s1", .primary = true, .health = 95});
  seed_meta(env.c, "1", true);
  push_job(
      env.c,
      R"({"job_id":"a","campaign_id":31,"workspace_id":"1","template_mode":"direct","provider_preference":"webjs","template":{"status":"APPROVED"},"contacts":[1,2,3]})");
  push_job(
      env.c,
      R"({"job_id":"b","campaign_id":32,"workspace_id":"1","template_mode":"template","provider_preference":"webjs","template":{"status":"APPROVED","webjs_compatible":true},"contacts":[4,5]})");
  env.start();
  auto a = expect_decision(env, "a", "webjs", "preferred_provider");
  EXPECT_EQ(session_id_of(a), "s1");
  EXPECT_EQ(env.c.list("wa:dispatch:31:s1"), (Strings{"1", "2", "3"}));
  auto b = expect_decision(env, "b", "webjs", "preferred_provider");
  EXPECT_EQ(env.c.list("wa:dispatch:32:s1"), (Strings{"4", "5"}));
  EXPECT_EQ(b.at("factors").at("user_preference_score").to_number<double>(), 100.0);
  EXPECT_EQ(env.c.integer({"EXISTS", "wa:dispatch:31:meta_api"}), 0);
}

TEST(Preference, WebjsUnavailableWaitsEvenWithMeta) {
  Env env;
  pin_health(env.c);
  // Workspace 1: a healthy session, but the template is not webjs-compatible.
  seed_session(env.c, {.id = "s1", .primary = true, .health = 95});
  seed_meta(env.c, "1", true);
  // Workspace 2: its only session is disconnected.
  seed_session(env.c, {.id = "s2", .workspace = "2", .status = "disconnected", .health = 95});
  seed_meta(env.c, "2", true);
  push_job(
      env.c,
      R"({"job_id":"a","campaign_id":41,"workspace_id":"1","template_mode":"template","provider_preference":"webjs","template":{"status":"APPROVED","webjs_compatible":false},"contacts":[1]})");
  push_job(
      env.c,
      R"({"job_id":"b","campaign_id":42,"workspace_id":"2","template_mode":"direct","provider_preference":"webjs","template":{"status":"APPROVED"},"contacts":[1]})");
  env.start();
  for (const std::string id : {"a", "b"}) {
    auto d = expect_decision(env, id, "queue", "preferred_provider_unavailable");
    EXPECT_EQ(d.at("factors").at("user_preference_score").to_number<double>(), 0.0) << id;
    EXPECT_TRUE(d.contains("retry_at")) << id;
  }
  expect_no_outputs(env, "41");
  expect_no_outputs(env, "42");
}

TEST(Preference, MetaApiWhenAvailable) {
  Env env;
  pin_health(env.c);
  seed_session(env.c, {.id = "s1", .primary = true, .health = 95});
  seed_meta(env.c, "1", true);
  push_job(
      env.c,
      R"({"job_id":"a","campaign_id":51,"workspace_id":"1","template_mode":"direct","provider_preference":"meta_api","template":{"id":"tpl","status":"APPROVED"},"contacts":[3,1,2]})");
  env.start();
  auto d = expect_decision(env, "a", "meta_api", "preferred_provider");
  EXPECT_TRUE(d.at("session").is_null());
  EXPECT_EQ(int_of(d, "confidence"), 75);
  EXPECT_EQ(distribution_of(d),
            (std::vector<DistEntry>{{"meta_api", 3, "wa:dispatch:51:meta_api"}}));
  EXPECT_EQ(env.c.list("wa:dispatch:51:meta_api"), (Strings{"3", "1", "2"}));
  EXPECT_EQ(env.c.integer({"EXISTS", "wa:dispatch:51:s1"}), 0);
}

TEST(Preference, MetaApiUnavailableWaitsEvenWithAHealthySession) {
  Env env;
  pin_health(env.c);
  seed_session(env.c, {.id = "s1", .primary = true, .health = 95});
  seed_meta(env.c, "1", true);
  seed_session(env.c, {.id = "s2", .workspace = "2", .primary = true, .health = 95});
  seed_meta(env.c, "2", false);
  // Configured, but no template (direct): Meta cannot reach people outside the 24 h window.
  push_job(
      env.c,
      R"({"job_id":"a","campaign_id":61,"workspace_id":"1","template_mode":"direct","provider_preference":"meta_api","contacts":[1]})");
  // Configured, but the template is PAUSED.
  push_job(
      env.c,
      R"({"job_id":"b","campaign_id":62,"workspace_id":"1","template_mode":"direct","provider_preference":"meta_api","template":{"status":"PAUSED"},"contacts":[1]})");
  // An APPROVED template, but Meta is not configured.
  push_job(
      env.c,
      R"({"job_id":"c","campaign_id":63,"workspace_id":"2","template_mode":"template","provider_preference":"meta_api","template":{"status":"APPROVED"},"contacts":[1]})");
  env.start();
  for (const std::string id : {"a", "b", "c"}) {
    expect_decision(env, id, "queue", "preferred_provider_unavailable");
  }
  for (const std::string campaign : {"61", "62", "63"})
    expect_no_outputs(env, campaign);
}

// ---------------------------------------------------------------------------------------------
// 3. Template mode (APPROVED template), automatic preference.

TEST(TemplateMode, FollowsTheOrderOfSection4) {
  Env env;
  pin_health(env.c);
  // w1: a primary-tier session and Meta → webjs first.
  seed_session(env.c, {.id = "p1", .workspace = "w1", .health = 85});
  seed_meta(env.c, "w1", true);
  // w2: only a secondary-tier session, Meta configured → Meta.
  seed_session(env.c, {.id = "p2", .workspace = "w2", .primary = true, .health = 70});
  seed_meta(env.c, "w2", true);
  // w3: only a secondary-tier session, no Meta → webjs through the secondary tier.
  seed_session(env.c, {.id = "p3", .workspace = "w3", .health = 65});
  seed_meta(env.c, "w3", false);
  // w4: a primary-tier session but the template is not webjs-compatible, no Meta → nothing.
  seed_session(env.c, {.id = "p4", .workspace = "w4", .primary = true, .health = 95});
  // w5: the same with Meta → Meta.
  seed_session(env.c, {.id = "p5", .workspace = "w5", .primary = true, .health = 95});
  seed_meta(env.c, "w5", true);
  const std::string tmpl =
      R"("template_mode":"template","template":{"status":"APPROVED"},"contacts":[1,2])";
  const std::string incompatible =
      R"("template_mode":"template","template":{"status":"APPROVED","webjs_compatible":false},"contacts":[1,2])";
  push_job(env.c, R"({"job_id":"t1","campaign_id":71,"workspace_id":"w1",)" + tmpl + "}");
  push_job(env.c, R"({"job_id":"t2","campaign_id":72,"workspace_id":"w2",)" + tmpl + "}");
  push_job(env.c, R"({"job_id":"t3","campaign_id":73,"workspace_id":"w3",)" + tmpl + "}");
  push_job(env.c, R"({"job_id":"t4","campaign_id":74,"workspace_id":"w4",)" + incompatible + "}");
  push_job(env.c, R"({"job_id":"t5","campaign_id":75,"workspace_id":"w5",)" + incompatible + "}");
  env.start();

  auto t1 = expect_decision(env, "t1", "webjs", "template_webjs");
  EXPECT_EQ(session_id_of(t1), "p1");
  EXPECT_EQ(int_of(t1, "confidence"), 85);
  EXPECT_EQ(t1.at("factors").at("campaign_mode_score").to_number<double>(), 75.0);
  EXPECT_EQ(env.c.list("wa:dispatch:71:p1"), (Strings{"1", "2"}));

  auto t2 = expect_decision(env, "t2", "meta_api", "standard_template");
  EXPECT_EQ(env.c.list("wa:dispatch:72:meta_api"), (Strings{"1", "2"}));
  EXPECT_EQ(env.c.integer({"EXISTS", "wa:dispatch:72:p2"}), 0);
  EXPECT_EQ(int_of(t2, "confidence"), 75);

  auto t3 = expect_decision(env, "t3", "webjs", "template_webjs");
  EXPECT_EQ(session_id_of(t3), "p3");
  EXPECT_EQ(int_of(t3, "confidence"), 65);
  EXPECT_EQ(env.c.list("wa:dispatch:73:p3"), (Strings{"1", "2"}));

  expect_decision(env, "t4", "queue", "no_provider_available");
  expect_no_outputs(env, "74");

  expect_decision(env, "t5", "meta_api", "standard_template");
  EXPECT_EQ(env.c.list("wa:dispatch:75:meta_api"), (Strings{"1", "2"}));
}

// ---------------------------------------------------------------------------------------------
// 4. Direct mode.

TEST(DirectMode, FollowsTheOrderOfSection4) {
  Env env;
  pin_health(env.c);
  // d1: is_primary sorts first, but the primary tier is by health: d1b is "the" session.
  seed_session(env.c, {.id = "d1a", .workspace = "d1", .primary = true, .health = 70});
  seed_session(env.c, {.id = "d1b", .workspace = "d1", .health = 90});
  seed_meta(env.c, "d1", true);
  // d2: only the secondary tier.
  seed_session(env.c, {.id = "d2", .workspace = "d2", .primary = true, .health = 70});
  seed_meta(env.c, "d2", true);
  // d3: no eligible session (disconnected, inactive, too unhealthy, a Meta number), Meta with
  // an APPROVED template → Meta fallback.
  seed_session(env.c, {.id = "d3a", .workspace = "d3", .status = "disconnected", .health = 95});
  seed_session(env.c, {.id = "d3b", .workspace = "d3", .active = false, .health = 95});
  seed_session(env.c, {.id = "d3c", .workspace = "d3", .health = 50});
  seed_session(env.c, {.id = "d3d", .workspace = "d3", .provider = "meta", .health = 95});
  seed_meta(env.c, "d3", true);
  // d4: the same sessions' kinds, Meta configured, but no APPROVED template.
  seed_session(env.c, {.id = "d4", .workspace = "d4", .status = "qr_scanning", .health = 95});
  seed_meta(env.c, "d4", true);
  // d5: an APPROVED template but Meta not configured.
  seed_meta(env.c, "d5", false);
  const std::string direct = R"("template_mode":"direct","contacts":[1,2,3,4,5,6,7,8,9,10])";
  const std::string approved =
      R"("template_mode":"direct","template":{"status":"APPROVED"},"contacts":[1,2,3])";
  push_job(env.c, R"({"job_id":"j1","campaign_id":81,"workspace_id":"d1",)" + direct + "}");
  push_job(env.c, R"({"job_id":"j2","campaign_id":82,"workspace_id":"d2",)" + direct + "}");
  push_job(env.c, R"({"job_id":"j3","campaign_id":83,"workspace_id":"d3",)" + approved + "}");
  push_job(env.c, R"({"job_id":"j4","campaign_id":84,"workspace_id":"d4",)" + direct + "}");
  push_job(
      env.c,
      R"({"job_id":"j4p","campaign_id":85,"workspace_id":"d4","template_mode":"direct","template":{"status":"PENDING"},"contacts":[1]})");
  push_job(env.c, R"({"job_id":"j5","campaign_id":86,"workspace_id":"d5",)" + approved + "}");
  env.start();

  auto j1 = expect_decision(env, "j1", "webjs", "primary_session");
  EXPECT_EQ(session_id_of(j1), "d1b");
  EXPECT_EQ(int_of(j1, "confidence"), 90);
  // Both sessions share the contacts (weighted capacity 70:90 of 10 → 4 and 6), in tier order.
  EXPECT_EQ(distribution_of(j1), (std::vector<DistEntry>{{"d1a", 4, "wa:dispatch:81:d1a"},
                                                         {"d1b", 6, "wa:dispatch:81:d1b"}}));
  EXPECT_EQ(env.c.list("wa:dispatch:81:d1a"), numbers(1, 4));
  EXPECT_EQ(env.c.list("wa:dispatch:81:d1b"), numbers(5, 10));

  auto j2 = expect_decision(env, "j2", "webjs", "secondary_session");
  EXPECT_EQ(session_id_of(j2), "d2");
  EXPECT_EQ(int_of(j2, "confidence"), 80);  // 70 + 10 for is_primary
  EXPECT_EQ(j2.at("session").at("is_primary"), json::value(true));
  EXPECT_EQ(env.c.list("wa:dispatch:82:d2"), numbers(1, 10));

  auto j3 = expect_decision(env, "j3", "meta_api", "webjs_unavailable_fallback");
  EXPECT_EQ(env.c.list("wa:dispatch:83:meta_api"), numbers(1, 3));
  EXPECT_TRUE(env.c.cmd({"KEYS", "wa:dispatch:83:d3*"}).elements.empty());

  expect_decision(env, "j4", "queue", "no_provider_available");
  expect_decision(env, "j4p", "queue", "no_provider_available");
  expect_decision(env, "j5", "queue", "no_provider_available");
  for (const std::string campaign : {"84", "85", "86"})
    expect_no_outputs(env, campaign);
}

// ---------------------------------------------------------------------------------------------
// Outputs and the decision JSON.

TEST(Outputs, EveryKeyOfSection4AndTheDecisionJson) {
  Env env;
  pin_health(env.c);
  seed_session(env.c, {.id = "s1", .primary = true, .health = 90});
  seed_session(env.c, {.id = "s2", .health = 90});
  const std::string payload =
      R"({"job_id":"out-1","campaign_id":7,"workspace_id":"1","template_mode":"direct","contacts":[10,"b",12,"d",14,15,"g",17,18,19,"k"],"extra":{"kept":[]}})";
  push_job(env.c, payload);
  const long long before = now_ms();
  env.start();
  auto found = wait_decision(env.c, "out-1");
  ASSERT_TRUE(found) << env.log();
  const long long after = now_ms();
  const json::object& d = *found;

  // wa:dispatch lists: equal capacities, 11 contacts → 6 and 5 (the tie to the earlier session).
  EXPECT_EQ(env.c.list("wa:dispatch:7:s1"), (Strings{"10", "b", "12", "d", "14", "15"}));
  EXPECT_EQ(env.c.list("wa:dispatch:7:s2"), (Strings{"g", "17", "18", "19", "k"}));
  EXPECT_EQ(distribution_of(d),
            (std::vector<DistEntry>{{"s1", 6, "wa:dispatch:7:s1"}, {"s2", 5, "wa:dispatch:7:s2"}}));

  // wa:campaign:<id>:decision is the same record, with a TTL of results.ttl_seconds.
  const Strings all = env.c.list("wa:results");
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(env.c.str({"GET", "wa:campaign:7:decision"}), all[0]);
  const long long ttl = env.c.integer({"TTL", "wa:campaign:7:decision"});
  EXPECT_GE(ttl, 3590);
  EXPECT_LE(ttl, 3600);

  // wa:campaigns:active: scored by the decision time in ms.
  const std::string score = env.c.str({"ZSCORE", "wa:campaigns:active", "7"});
  ASSERT_FALSE(score.empty());
  const long long score_ms = std::stoll(score);
  EXPECT_GE(score_ms, before - 5);
  EXPECT_LE(score_ms, after + 5);

  // The decision JSON: fields and JSON types.
  EXPECT_EQ(d.at("job_id"), json::value("out-1"));
  ASSERT_TRUE(d.at("campaign_id").is_int64());
  EXPECT_EQ(d.at("campaign_id").get_int64(), 7);
  EXPECT_EQ(d.at("workspace_id"), json::value("1"));
  EXPECT_EQ(d.at("template_mode"), json::value("direct"));
  EXPECT_FALSE(d.contains("template"));
  EXPECT_EQ(d.at("provider_preference"), json::value("auto"));
  EXPECT_EQ(d.at("type"), json::value("webjs"));
  EXPECT_EQ(d.at("reason"), json::value("primary_session"));
  EXPECT_EQ(d.at("confidence"), json::value(100));  // 90 + 10, at most 100
  const json::object& s = d.at("session").as_object();
  EXPECT_EQ(s.at("id"), json::value("s1"));
  EXPECT_EQ(s.at("uuid"), json::value("uuid-s1"));
  EXPECT_EQ(s.at("phone_number"), json::value("+1555s1"));
  EXPECT_EQ(s.at("health_score"), json::value(90));
  EXPECT_EQ(s.at("is_primary"), json::value(true));
  const json::object& f = d.at("factors").as_object();
  EXPECT_EQ(f.size(), 5u);
  EXPECT_DOUBLE_EQ(f.at("campaign_mode_score").to_number<double>(), 100.0);
  EXPECT_DOUBLE_EQ(f.at("session_health_score").to_number<double>(), 100.0);  // 90 × 1.2 → 100
  EXPECT_DOUBLE_EQ(f.at("user_preference_score").to_number<double>(), 50.0);
  EXPECT_DOUBLE_EQ(f.at("performance_score").to_number<double>(), 50.0);
  EXPECT_DOUBLE_EQ(f.at("weighted_score").to_number<double>(), 85.0);
  const json::object& p = d.at("prediction").as_object();
  const json::object& pw = p.at("webjs").as_object();
  EXPECT_EQ(pw.at("available"), json::value(true));
  EXPECT_EQ(pw.at("session_count"), json::value(2));
  // 2 × 1000 × 0.9 × ((0.5 + 1.0) + 0.95) / 2 × 1.2
  EXPECT_NEAR(pw.at("capacity_per_hour").to_number<double>(), 2646.0, 1e-6);
  EXPECT_EQ(pw.at("estimated_minutes"), json::value(1));
  const json::object& pm = p.at("meta_api").as_object();
  EXPECT_EQ(pm.at("available"), json::value(false));
  EXPECT_NEAR(pm.at("capacity_per_hour").to_number<double>(), 288000.0, 1e-6);
  EXPECT_EQ(pm.at("tier_limit"), json::value(250));
  EXPECT_TRUE(pm.at("estimated_minutes").is_null());
  EXPECT_EQ(p.at("recommended_provider"), json::value("webjs"));
  EXPECT_EQ(d.at("attempts"), json::value(0));
  EXPECT_FALSE(d.contains("retry_at"));
  ASSERT_TRUE(d.at("selected_at").is_string());
  const long long selected = iso_ms(str_of(d, "selected_at"));
  EXPECT_GE(selected, before - 5);
  EXPECT_LE(selected, after + 5);
  EXPECT_EQ(selected, score_ms);

  // The job is acknowledged: nothing pending, in hand or delayed.
  ASSERT_TRUE(env.wait_idle());
  EXPECT_EQ(laravel_queue_size(env.c), 0);
}

TEST(Outputs, IdsAreEchoedWithTheirJsonType) {
  Env env;
  pin_health(env.c);
  seed_session(env.c, {.id = "s1", .primary = true, .health = 90});
  seed_meta(env.c, "1", true);
  push_job(
      env.c,
      R"({"job_id":"n","campaign_id":9223372036854775807,"workspace_id":"1","template_mode":"template","template":{"id":55,"status":"APPROVED"},"contacts":[1]})");
  push_job(
      env.c,
      R"({"job_id":"s","campaign_id":"camp-x","workspace_id":1,"template_mode":"template","template":{"id":"tpl-9","status":"APPROVED","webjs_compatible":false},"contacts":["a"]})");
  env.start();
  auto n = expect_decision(env, "n", "webjs", "template_webjs");
  ASSERT_TRUE(n.at("campaign_id").is_int64()) << json::serialize(n);
  EXPECT_EQ(n.at("campaign_id").get_int64(), std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(n.at("workspace_id"), json::value("1"));
  EXPECT_EQ(n.at("template").at("id"), json::value(55));
  EXPECT_EQ(n.at("template").at("status"), json::value("APPROVED"));
  EXPECT_EQ(env.c.list("wa:dispatch:9223372036854775807:s1"), (Strings{"1"}));
  EXPECT_FALSE(env.c.cmd({"ZSCORE", "wa:campaigns:active", "9223372036854775807"}).nil());

  auto s = expect_decision(env, "s", "meta_api", "standard_template");
  EXPECT_EQ(s.at("campaign_id"), json::value("camp-x"));
  ASSERT_TRUE(s.at("workspace_id").is_int64()) << json::serialize(s);
  EXPECT_EQ(s.at("workspace_id").get_int64(), 1);
  EXPECT_EQ(s.at("template").at("id"), json::value("tpl-9"));
  EXPECT_EQ(s.at("template").at("webjs_compatible"), json::value(false));
  EXPECT_EQ(distribution_of(s),
            (std::vector<DistEntry>{{"meta_api", 1, "wa:dispatch:camp-x:meta_api"}}));
  EXPECT_EQ(env.c.list("wa:dispatch:camp-x:meta_api"), (Strings{"a"}));
  EXPECT_EQ(parse_object(env.c.str({"GET", "wa:campaign:camp-x:decision"})).at("campaign_id"),
            json::value("camp-x"));
  EXPECT_FALSE(env.c.cmd({"ZSCORE", "wa:campaigns:active", "camp-x"}).nil());
}

// ---------------------------------------------------------------------------------------------
// Tier order, the session limit, balancing strategies, predictions.

TEST(Balancing, TierOrderAndMaxSessionsPerWorkspace) {
  Env env;
  pin_health(env.c);
  seed_session(env.c, {.id = "p", .primary = true, .health = 85});
  seed_session(env.c, {.id = "e", .last_activity_ago = -1, .health = 95});
  seed_session(env.c, {.id = "d", .health = 90});
  seed_session(env.c, {.id = "a", .health = 90});
  seed_session(env.c, {.id = "b", .last_activity_ago = 100, .health = 90});
  seed_session(env.c, {.id = "c", .last_activity_ago = -1, .health = 90});
  const std::string t = std::to_string(now_seconds() - 10);
  env.c.cmd({"HSET", "wa:session:a", "last_activity_at", t});
  env.c.cmd({"HSET", "wa:session:d", "last_activity_at", t});
  push_job(
      env.c,
      R"({"job_id":"t","campaign_id":141,"workspace_id":"1","template_mode":"direct","contacts":[1,2,3,4,5,6,7,8,9]})");
  push_job(
      env.c,
      R"({"job_id":"t2","campaign_id":143,"workspace_id":"1","template_mode":"direct","contacts":[1,2]})");
  env.start(
      "retry: {base_delay: 0.2, max_delay: 1, jitter: 0.2, max_attempts: 3}\n"
      "load_balancing: {strategy: round_robin}\n"
      "health: {check_interval: 0.5, max_sessions_per_workspace: 4}\n");
  // Tier order: p (is_primary), e (health 95), a and d (same activity: id order), b, c (never
  // active); only the first four count.
  auto d = expect_decision(env, "t", "webjs", "primary_session");
  EXPECT_EQ(session_id_of(d), "p");
  EXPECT_EQ(int_of(d, "confidence"), 95);
  EXPECT_EQ(distribution_of(d), (std::vector<DistEntry>{{"p", 3, "wa:dispatch:141:p"},
                                                        {"e", 2, "wa:dispatch:141:e"},
                                                        {"a", 2, "wa:dispatch:141:a"},
                                                        {"d", 2, "wa:dispatch:141:d"}}));
  EXPECT_EQ(env.c.list("wa:dispatch:141:p"), (Strings{"1", "5", "9"}));
  EXPECT_EQ(env.c.list("wa:dispatch:141:e"), (Strings{"2", "6"}));
  EXPECT_EQ(env.c.list("wa:dispatch:141:a"), (Strings{"3", "7"}));
  EXPECT_EQ(env.c.list("wa:dispatch:141:d"), (Strings{"4", "8"}));
  EXPECT_EQ(d.at("prediction").at("webjs").at("session_count"), json::value(4));
  // Targets that get no contact are left out of the distribution.
  auto two = expect_decision(env, "t2", "webjs", "primary_session");
  EXPECT_EQ(distribution_of(two),
            (std::vector<DistEntry>{{"p", 1, "wa:dispatch:143:p"}, {"e", 1, "wa:dispatch:143:e"}}));
  EXPECT_TRUE(env.c.cmd({"KEYS", "wa:dispatch:143:[ad]"}).elements.empty());
}

TEST(Balancing, HealthScoreStrategyIgnoresPerformance) {
  for (const std::string strategy : {"health_score", "weighted_capacity"}) {
    SCOPED_TRACE(strategy);
    Env env;
    pin_health(env.c);
    seed_session(env.c, {.id = "s1", .primary = true, .health = 90});
    seed_session(env.c, {.id = "s2", .health = 60});
    // s1 performs badly: success 0 and response 0 → performance multiplier 0.5.
    env.c.cmd(
        {"HSET", "wa:session:s1", "health_metrics",
         R"({"connection_stability":100,"message_success_rate":0,"recent_activity":100,"error_rate":0,"response_time":0,"uptime":100})"});
    push_job(
        env.c,
        R"({"job_id":"h","campaign_id":142,"workspace_id":"1","template_mode":"direct","contacts":[1,2,3,4,5,6,7,8,9,10]})");
    env.start(kFastConfig + "load_balancing: {strategy: " + strategy + "}\n");
    auto d = expect_decision(env, "h", "webjs", "primary_session");
    // health_score: 90:60 → 6/4. weighted_capacity: 540:882 → 3.8/6.2 → 4/6.
    const long long first = strategy == "health_score" ? 6 : 4;
    EXPECT_EQ(distribution_of(d),
              (std::vector<DistEntry>{{"s1", first, "wa:dispatch:142:s1"},
                                      {"s2", 10 - first, "wa:dispatch:142:s2"}}));
    EXPECT_EQ(env.c.list("wa:dispatch:142:s1"), numbers(1, static_cast<int>(first)));
    EXPECT_EQ(env.c.list("wa:dispatch:142:s2"), numbers(static_cast<int>(first) + 1, 10));
  }
}

TEST(Prediction, EstimatesAndRecommendation) {
  Env env;
  pin_health(env.c);
  seed_session(env.c, {.id = "s1", .primary = true, .health = 90});
  seed_meta(env.c, "1", true, {{"throughput_mps", "80"}, {"tier_limit", "100000"}});
  seed_session(env.c, {.id = "s2", .workspace = "2", .primary = true, .health = 90});
  seed_meta(env.c, "2", true, {{"throughput_mps", "1"}, {"tier_limit", "2"}});
  std::string many = "[";
  for (int i = 1; i <= 2000; ++i)
    many += (i > 1 ? "," : "") + std::to_string(i);
  many += "]";
  push_job(
      env.c,
      R"({"job_id":"a","campaign_id":151,"workspace_id":"1","template_mode":"template","template":{"status":"APPROVED"},"contacts":)" +
          many + "}");
  push_job(
      env.c,
      R"({"job_id":"b","campaign_id":152,"workspace_id":"2","template_mode":"template","template":{"status":"APPROVED"},"contacts":[1,2,3,4,5]})");
  push_job(
      env.c,
      R"({"job_id":"c","campaign_id":153,"workspace_id":"1","template_mode":"direct","contacts":[]})");
  env.start();
  // a: webjs 2000 / (1000 × 0.9 × 1.225 × 1.0) per hour → 109 min; Meta 288000/h → 1 min.
  auto a = expect_decision(env, "a", "webjs", "template_webjs");
  const json::object& pa = a.at("prediction").as_object();
  EXPECT_NEAR(pa.at("webjs").at("capacity_per_hour").to_number<double>(), 1102.5, 1e-6);
  EXPECT_EQ(pa.at("webjs").at("estimated_minutes"), json::value(109));
  EXPECT_EQ(pa.at("meta_api").at("available"), json::value(true));
  EXPECT_EQ(pa.at("meta_api").at("tier_limit"), json::value(100000));
  EXPECT_EQ(pa.at("meta_api").at("estimated_minutes"), json::value(1));
  EXPECT_EQ(pa.at("recommended_provider"), json::value("meta_api"));
  // b: Meta at 1 msg/s and 2 recipients a day: 5 contacts → 2 days + 1 min.
  auto b = expect_decision(env, "b", "webjs", "template_webjs");
  const json::object& pb = b.at("prediction").as_object();
  EXPECT_NEAR(pb.at("meta_api").at("capacity_per_hour").to_number<double>(), 3600.0, 1e-6);
  EXPECT_EQ(pb.at("meta_api").at("estimated_minutes"), json::value(2 * 1440 + 1));
  EXPECT_EQ(pb.at("webjs").at("estimated_minutes"), json::value(1));
  EXPECT_EQ(pb.at("recommended_provider"), json::value("webjs"));
  // c: no contacts at all: served, nothing dispatched, 0 minutes; Meta unavailable (no template).
  auto c = expect_decision(env, "c", "webjs", "primary_session");
  EXPECT_TRUE(distribution_of(c).empty());
  EXPECT_EQ(c.at("prediction").at("webjs").at("estimated_minutes"), json::value(0));
  EXPECT_TRUE(c.at("prediction").at("meta_api").at("estimated_minutes").is_null());
  EXPECT_EQ(c.at("prediction").at("meta_api").at("available"), json::value(false));
  EXPECT_TRUE(env.c.cmd({"KEYS", "wa:dispatch:153:*"}).elements.empty());
  EXPECT_FALSE(env.c.cmd({"ZSCORE", "wa:campaigns:active", "153"}).nil());
}

TEST(Prediction, WholeMinutesAreNotRoundedUpByFloatingPointError) {
  Env env;
  pin_health(env.c);
  seed_meta(env.c, "1", true, {{"throughput_mps", "1"}, {"tier_limit", "1000000"}});
  // 1860 contacts at 3600 per hour take exactly 31 minutes (1860 / 3600 × 60 in floating point
  // is 31.000000000000004).
  std::string contacts = "[";
  for (int i = 1; i <= 1860; ++i)
    contacts += (i > 1 ? "," : "") + std::to_string(i);
  contacts += "]";
  push_job(
      env.c,
      R"({"job_id":"a","campaign_id":156,"workspace_id":"1","template_mode":"template","template":{"status":"APPROVED"},"contacts":)" +
          contacts + "}");
  env.start();
  auto a = expect_decision(env, "a", "meta_api", "standard_template");
  EXPECT_EQ(a.at("prediction").at("meta_api").at("estimated_minutes"), json::value(31));
}

TEST(Prediction, NullWhenPredictiveAnalyticsIsOff) {
  Env env;
  pin_health(env.c);
  seed_session(env.c, {.id = "s1", .primary = true, .health = 90});
  push_job(
      env.c,
      R"({"job_id":"a","campaign_id":155,"workspace_id":"1","template_mode":"direct","contacts":[1]})");
  env.start(kFastConfig + "load_balancing: {enable_predictive_analytics: false}\n");
  auto a = expect_decision(env, "a", "webjs", "primary_session");
  ASSERT_TRUE(a.contains("prediction"));
  EXPECT_TRUE(a.at("prediction").is_null());
}

// ---------------------------------------------------------------------------------------------
// Optional fields and sessions without a stored health.

TEST(Payload, NullOptionalFieldsCountAsAbsent) {
  Env env;
  pin_health(env.c);
  seed_session(env.c, {.id = "s1", .primary = true, .health = 90});
  push_job(
      env.c,
      R"({"job_id":null,"campaign_id":161,"workspace_id":"1","template_mode":"direct","provider_preference":null,"template":null,"attempts":null,"contacts":[1],"contacts_key":null})");
  env.start();
  std::optional<json::object> d;
  ASSERT_TRUE(wait_until([&] {
    for (auto& r : results(env.c))
      d = std::move(r);
    return d.has_value();
  })) << env.log();
  EXPECT_EQ(str_of(*d, "type"), "webjs");
  EXPECT_EQ(str_of(*d, "provider_preference"), "auto");
  EXPECT_EQ(int_of(*d, "attempts"), 0);
  EXPECT_EQ(str_of(*d, "job_id").rfind("auto-", 0), 0u) << json::serialize(*d);
  EXPECT_FALSE(d->contains("template"));
  EXPECT_EQ(env.c.list("wa:dispatch:161:s1"), (Strings{"1"}));
}

TEST(Health, ASessionWithoutAStoredScoreIsComputedBeforeUse) {
  Env env;
  pin_health(env.c);  // no health cycle: the decision itself must compute it
  seed_session(env.c, {.id = "s1", .primary = true});
  push_job(
      env.c,
      R"({"job_id":"a","campaign_id":171,"workspace_id":"1","template_mode":"direct","contacts":[1]})");
  env.start();
  auto d = expect_decision(env, "a", "webjs", "primary_session");
  // connected, active a minute ago, no messages: (35 + 20 + 20 + 13.5 + 15) / 1.1 → 94.
  EXPECT_EQ(d.at("session").at("health_score"), json::value(94));
  EXPECT_EQ(env.c.str({"HGET", "wa:session:s1", "health_score"}), "94");
  EXPECT_FALSE(env.c.str({"HGET", "wa:session:s1", "health_metrics"}).empty());
}

// ---------------------------------------------------------------------------------------------
// contacts_key jobs.

Strings big_list(Client& c, const std::string& key, int n) {
  Strings all;
  for (int i = 0; i < n; ++i)
    all.push_back("c" + std::to_string(i));
  for (int i = 0; i < n; i += 1000) {
    std::vector<std::string> args{"RPUSH", key};
    args.insert(args.end(), all.begin() + i, all.begin() + std::min(n, i + 1000));
    c.cmd(args);
  }
  return all;
}

TEST(ContactsKey, TenThousandContactsAreSplitWithNoneLost) {
  Env env;
  pin_health(env.c);
  seed_session(env.c, {.id = "s1", .health = 90});
  seed_session(env.c, {.id = "s2", .health = 85});
  seed_session(env.c, {.id = "s3", .health = 80});
  const Strings all = big_list(env.c, "contacts:big", 10000);
  push_job(
      env.c,
      R"({"job_id":"big","campaign_id":91,"workspace_id":"1","template_mode":"direct","contacts_key":"contacts:big"})");
  env.start();
  auto d = expect_decision(env, "big", "webjs", "primary_session");
  // Capacities proportional to health 90:85:80 → 3529.41, 3333.33, 3137.25 → 3530/3333/3137.
  EXPECT_EQ(distribution_of(d), (std::vector<DistEntry>{{"s1", 3530, "wa:dispatch:91:s1"},
                                                        {"s2", 3333, "wa:dispatch:91:s2"},
                                                        {"s3", 3137, "wa:dispatch:91:s3"}}));
  Strings joined;
  for (const std::string sid : {"s1", "s2", "s3"}) {
    const Strings part = env.c.list("wa:dispatch:91:" + sid);
    joined.insert(joined.end(), part.begin(), part.end());
  }
  EXPECT_EQ(joined, all);  // contiguous blocks in input order: every contact exactly once
  EXPECT_EQ(env.c.integer({"LLEN", "contacts:big"}), 10000);
}

TEST(ContactsKey, ListsGetNoTtlFromTheSourceAndASecondJobAppends) {
  Env env;
  pin_health(env.c);
  seed_session(env.c, {.id = "s1", .health = 90});
  seed_session(env.c, {.id = "s2", .health = 90});
  const Strings first = big_list(env.c, "contacts:a", 3000);
  env.c.cmd({"EXPIRE", "contacts:a", "3600"});  // the app's temporary list
  push_job(
      env.c,
      R"({"job_id":"ka","campaign_id":94,"workspace_id":"1","template_mode":"direct","contacts_key":"contacts:a"})");
  env.start();
  expect_decision(env, "ka", "webjs", "primary_session");
  const Strings a1 = env.c.list("wa:dispatch:94:s1"), a2 = env.c.list("wa:dispatch:94:s2");
  EXPECT_EQ(a1, Strings(first.begin(), first.begin() + 1500));
  EXPECT_EQ(a2, Strings(first.begin() + 1500, first.end()));
  for (const std::string sid : {"s1", "s2"}) {
    EXPECT_EQ(env.c.integer({"TTL", "wa:dispatch:94:" + sid}), -1) << sid;
  }
  EXPECT_GT(env.c.integer({"TTL", "contacts:a"}), 0);
  // The same campaign again, its lists not yet popped: the new blocks are appended.
  env.c.cmd({"RPUSH", "contacts:b", "x1", "x2", "x3", "x4"});
  push_job(
      env.c,
      R"({"job_id":"kb","campaign_id":94,"workspace_id":"1","template_mode":"direct","contacts_key":"contacts:b"})");
  expect_decision(env, "kb", "webjs", "primary_session");
  // Appended in bounded steps right after the decision.
  ASSERT_TRUE(wait_until([&] { return env.c.integer({"EXISTS", "wa:appending"}) == 0; }));
  Strings e1 = a1, e2 = a2;
  e1.insert(e1.end(), {"x1", "x2"});
  e2.insert(e2.end(), {"x3", "x4"});
  EXPECT_EQ(env.c.list("wa:dispatch:94:s1"), e1);
  EXPECT_EQ(env.c.list("wa:dispatch:94:s2"), e2);
}

// The finish script's side of exactly once (contacts_key jobs do not go through MULTI/EXEC):
// the marker and the decision live results.ttl_seconds, and the same job delivered again is
// acknowledged without new outputs.
TEST(ContactsKey, ARedeliveredJobIsAcknowledgedWithoutNewOutputs) {
  Env env;
  pin_health(env.c);
  seed_session(env.c, {.id = "s1", .primary = true, .health = 90});
  env.c.cmd({"RPUSH", "contacts:rd", "a", "b", "c"});
  const std::string payload =
      R"({"job_id":"krd","campaign_id":95,"workspace_id":"1","template_mode":"direct","contacts_key":"contacts:rd"})";
  push_job(env.c, payload);
  env.start();  // kFastConfig: results.ttl_seconds 3600
  expect_decision(env, "krd", "webjs", "primary_session");
  ASSERT_TRUE(env.wait_idle()) << env.log();
  for (const std::string key : {"wa:decided:krd:0", "wa:campaign:95:decision"}) {
    const long long ttl = env.c.integer({"TTL", key});
    EXPECT_GT(ttl, 3500) << key;
    EXPECT_LE(ttl, 3600) << key;
  }
  push_job(env.c, payload);  // redelivered (a duplicate push, or after a crash)
  ASSERT_TRUE(env.wait_idle()) << env.log();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(env.c.integer({"LLEN", "wa:results"}), 1);
  EXPECT_EQ(env.c.list("wa:dispatch:95:s1"), (Strings{"a", "b", "c"}));
  EXPECT_EQ(env.c.integer({"LLEN", "queues:wa-campaigns:dead"}), 0);
  EXPECT_EQ(laravel_queue_size(env.c), 0);
}

TEST(ContactsKey, RoundRobinDealsEveryContactOnce) {
  Env env;
  pin_health(env.c);
  seed_session(env.c, {.id = "s1", .health = 90});
  seed_session(env.c, {.id = "s2", .health = 85});
  seed_session(env.c, {.id = "s3", .health = 80});
  const Strings all = big_list(env.c, "contacts:rr", 25001);  // three chunks of the script
  push_job(
      env.c,
      R"({"job_id":"rr","campaign_id":92,"workspace_id":"1","template_mode":"direct","contacts_key":"contacts:rr"})");
  push_job(
      env.c,
      R"({"job_id":"rr2","campaign_id":93,"workspace_id":"1","template_mode":"direct","contacts":[1,2,3,4,5,6,7]})");
  env.start(kFastConfig + "load_balancing: {strategy: round_robin}\n");
  auto d = expect_decision(env, "rr", "webjs", "primary_session");
  EXPECT_EQ(distribution_of(d), (std::vector<DistEntry>{{"s1", 8334, "wa:dispatch:92:s1"},
                                                        {"s2", 8334, "wa:dispatch:92:s2"},
                                                        {"s3", 8333, "wa:dispatch:92:s3"}}));
  const Strings sids{"s1", "s2", "s3"};
  std::vector<Strings> expected(3);
  for (std::size_t i = 0; i < all.size(); ++i)
    expected[i % 3].push_back(all[i]);
  for (std::size_t k = 0; k < 3; ++k) {
    EXPECT_EQ(env.c.list("wa:dispatch:92:" + sids[k]), expected[k]) << sids[k];
  }
  // 25,001 contacts are dealt by the daemon into stage lists, renamed into place: none is left.
  EXPECT_TRUE(env.c.cmd({"KEYS", "wa:staging:*"}).strings().empty());
  for (std::size_t k = 0; k < 3; ++k)
    EXPECT_EQ(env.c.integer({"TTL", "wa:dispatch:92:" + sids[k]}), -1) << sids[k];
  expect_decision(env, "rr2", "webjs", "primary_session");
  EXPECT_EQ(env.c.list("wa:dispatch:93:s1"), (Strings{"1", "4", "7"}));
  EXPECT_EQ(env.c.list("wa:dispatch:93:s2"), (Strings{"2", "5"}));
  EXPECT_EQ(env.c.list("wa:dispatch:93:s3"), (Strings{"3", "6"}));
}

// ---------------------------------------------------------------------------------------------
// redis.prefix.

// The stage lists of a big round-robin job are daemon keys like any other: prefixed (CONTRACT.md
// conventions), and gone once the dispatch lists, prefixed too, hold every contact.
TEST(Prefix, StagedRoundRobinDealingUsesPrefixedKeysOnly) {
  Env env;
  const std::string P = "laravel_database_";
  pin_health(env.c, P);
  seed_session(env.c, {.id = "s1", .health = 90}, P);
  seed_session(env.c, {.id = "s2", .health = 85}, P);
  const Strings all = big_list(env.c, P + "contacts:rr", 10001);  // staged: >= 10,000
  push_job(
      env.c,
      R"({"job_id":"prr","campaign_id":97,"workspace_id":"1","template_mode":"direct","contacts_key":"contacts:rr"})",
      P);
  env.start("redis: {unix_socket: \"" + env.redis.socket() + "\", prefix: " + P + "}\n" +
            kFastConfig + "load_balancing: {strategy: round_robin}\n");
  auto d = wait_decision(env.c, "prr", 0, std::chrono::seconds(8), P);
  ASSERT_TRUE(d) << env.log();
  EXPECT_EQ(distribution_of(*d), (std::vector<DistEntry>{{"s1", 5001, "wa:dispatch:97:s1"},
                                                         {"s2", 5000, "wa:dispatch:97:s2"}}));
  Strings s1, s2;
  for (std::size_t i = 0; i < all.size(); ++i)
    (i % 2 == 0 ? s1 : s2).push_back(all[i]);
  EXPECT_EQ(env.c.list(P + "wa:dispatch:97:s1"), s1);
  EXPECT_EQ(env.c.list(P + "wa:dispatch:97:s2"), s2);
  EXPECT_TRUE(env.c.cmd({"KEYS", "*staging*"}).strings().empty());
  for (const auto& key : env.c.cmd({"KEYS", "*"}).strings())
    EXPECT_TRUE(key.starts_with(P)) << key;
}

TEST(Prefix, AppliedToEveryKeyButNotToTheJsonKey) {
  Env env;
  const std::string P = "laravel_database_";
  seed_session(env.c, {.id = "s1", .primary = true}, P);
  seed_meta(env.c, "1", true, {}, P);
  Strings list;
  for (int i = 1; i <= 25; ++i)
    list.push_back("x" + std::to_string(i));
  std::vector<std::string> rpush{"RPUSH", P + "contacts:list"};
  rpush.insert(rpush.end(), list.begin(), list.end());
  env.c.cmd(rpush);
  push_job(
      env.c,
      R"({"job_id":"k","campaign_id":5,"workspace_id":"1","template_mode":"direct","contacts_key":"contacts:list"})",
      P);
  push_job(
      env.c,
      R"({"job_id":"m","campaign_id":6,"workspace_id":"1","template_mode":"direct","template":{"status":"APPROVED"},"provider_preference":"meta_api","contacts":[1,2]})",
      P);
  push_job(
      env.c,
      R"({"job_id":"q","campaign_id":8,"workspace_id":"1","template_mode":"template","template":{"status":"PENDING"},"contacts":[1]})",
      P);
  push_job(env.c, "not json", P);
  env.c.cmd({"RPUSH", P + "wa:events",
             R"({"session_id":"s1","workspace_id":"1","provider":"webjs","status":"delivered"})"});
  env.start("redis: {unix_socket: \"" + env.redis.socket() + "\", prefix: " + P + "}\n" +
            kFastConfig);
  auto k = wait_decision(env.c, "k", 0, std::chrono::seconds(8), P);
  ASSERT_TRUE(k) << env.log();
  EXPECT_EQ(str_of(*k, "type"), "webjs");
  EXPECT_EQ(distribution_of(*k), (std::vector<DistEntry>{{"s1", 25, "wa:dispatch:5:s1"}}));
  EXPECT_EQ(env.c.list(P + "wa:dispatch:5:s1"), list);
  EXPECT_EQ(parse_object(env.c.str({"GET", P + "wa:campaign:5:decision"})), *k);
  auto m = wait_decision(env.c, "m", 0, std::chrono::seconds(8), P);
  ASSERT_TRUE(m) << env.log();
  EXPECT_EQ(distribution_of(*m),
            (std::vector<DistEntry>{{"meta_api", 2, "wa:dispatch:6:meta_api"}}));
  EXPECT_EQ(env.c.list(P + "wa:dispatch:6:meta_api"), (Strings{"1", "2"}));
  ASSERT_TRUE(wait_decision(env.c, "q", 0, std::chrono::seconds(8), P)) << env.log();
  ASSERT_TRUE(wait_until([&] {
    return env.c.integer({"LLEN", P + "queues:wa-campaigns:dead"}) == 1;
  })) << env.log();
  ASSERT_TRUE(wait_until([&] {
    return env.c.integer({"EXISTS", P + "wa:events"}) == 0;
  })) << env.log();
  ASSERT_TRUE(wait_until([&] {
    return !env.c.str({"HGET", P + "wa:session:s1", "health_score"}).empty();
  })) << env.log();
  EXPECT_FALSE(env.c.cmd({"ZSCORE", P + "wa:campaigns:active", "5"}).nil());
  // The alerts channel carries the prefix too.
  Subscriber alerts(env.redis.socket(), P + "wa:alerts");
  for (int i = 0; i < 5; ++i) {
    env.c.cmd({"RPUSH", P + "wa:events",
               R"({"session_id":"s1","workspace_id":"1","provider":"webjs","status":"failed"})"});
  }
  const auto alert = alerts.next(std::chrono::seconds(4));
  ASSERT_TRUE(alert) << env.log();
  EXPECT_EQ(str_of(parse_object(*alert), "session_id"), "s1");
  // The PENDING job is waiting for a retry, or dead after max_attempts: counted once either way
  // (read atomically, next to the "not json" dead entry).
  const std::string q = P + "queues:wa-campaigns";
  EXPECT_EQ(env.c.integer({"EVAL",
                           "return redis.call('llen', KEYS[1]) + redis.call('zcard', KEYS[2]) + "
                           "redis.call('zcard', KEYS[3]) + redis.call('llen', KEYS[4])",
                           "4", q, q + ":delayed", q + ":reserved", q + ":dead"}),
            2);
  // Every key in Redis carries the prefix: the daemon wrote none without it.
  for (const auto& key : env.c.cmd({"KEYS", "*"}).strings()) {
    EXPECT_EQ(key.rfind(P, 0), 0u) << "unprefixed key " << key;
  }
}

// ---------------------------------------------------------------------------------------------
// Sessions whose hash is missing or unreadable.

TEST(MissingSession, IsSkippedAndLoggedWithoutStoppingTheDecision) {
  Env env;
  seed_session(env.c, {.id = "s1", .primary = true});
  env.c.cmd({"SADD", "wa:workspace:1:sessions", "ghost", "broken"});
  env.c.cmd({"HSET", "wa:session:broken", "workspace_id", "1", "status", "connected", "is_active",
             "1", "provider_type", "webjs", "created_at", "yesterday"});
  // Workspace 2 has nothing but a missing session.
  env.c.cmd({"SADD", "wa:workspaces", "2"});
  env.c.cmd({"SADD", "wa:workspace:2:sessions", "ghost2"});
  push_job(
      env.c,
      R"({"job_id":"a","campaign_id":101,"workspace_id":"1","template_mode":"direct","contacts":[1,2,3]})");
  push_job(
      env.c,
      R"({"job_id":"b","campaign_id":102,"workspace_id":"2","template_mode":"direct","contacts":[1]})");
  env.start();
  auto a = expect_decision(env, "a", "webjs", "primary_session");
  EXPECT_EQ(distribution_of(a), (std::vector<DistEntry>{{"s1", 3, "wa:dispatch:101:s1"}}));
  EXPECT_EQ(env.c.list("wa:dispatch:101:s1"), (Strings{"1", "2", "3"}));
  expect_decision(env, "b", "queue", "no_provider_available");
  const std::string log = env.log();
  EXPECT_NE(log.find("ghost"), std::string::npos) << log;
  EXPECT_NE(log.find("broken"), std::string::npos) << log;
  EXPECT_EQ(env.c.integer({"EXISTS", "wa:session:ghost"}), 0);
  EXPECT_EQ(env.c.integer({"EXISTS", "wa:session:ghost2"}), 0);
  EXPECT_TRUE(env.c.cmd({"HGET", "wa:session:broken", "health_score"}).nil());
  EXPECT_TRUE(env.daemon->running());
}

// ---------------------------------------------------------------------------------------------
// Duplicates and redeliveries.

TEST(Duplicates, ByteIdenticalPushesGiveOneSetOfOutputs) {
  Env env;
  pin_health(env.c);
  seed_session(env.c, {.id = "s1", .primary = true, .health = 90});
  const std::string payload =
      R"({"job_id":"dup","campaign_id":111,"workspace_id":"1","template_mode":"direct","contacts":[1,2,3]})";
  push_job(env.c, payload);
  push_job(env.c, payload);
  env.start();
  ASSERT_TRUE(wait_decision(env.c, "dup")) << env.log();
  ASSERT_TRUE(env.wait_idle()) << env.log();
  // Pushed again once it was decided: acknowledged, no new outputs.
  push_job(env.c, payload);
  ASSERT_TRUE(env.wait_idle()) << env.log();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(env.c.integer({"LLEN", "wa:results"}), 1);
  EXPECT_EQ(env.c.list("wa:dispatch:111:s1"), (Strings{"1", "2", "3"}));
  EXPECT_EQ(env.c.integer({"LLEN", "queues:wa-campaigns:dead"}), 0);
  EXPECT_EQ(laravel_queue_size(env.c), 0);
}

TEST(Duplicates, RedeliveredJobIsAcknowledgedWithoutNewOutputs) {
  Env env;
  pin_health(env.c);
  seed_session(env.c, {.id = "s1", .primary = true, .health = 90});
  push_job(
      env.c,
      R"({"job_id":"re","campaign_id":121,"workspace_id":"1","template_mode":"direct","contacts":[1,2,3],"attempts":0})");
  env.start();
  ASSERT_TRUE(wait_decision(env.c, "re")) << env.log();
  ASSERT_TRUE(env.wait_idle());
  // The same job_id and attempts, other bytes (as a redelivery re-encoded by a producer).
  push_job(
      env.c,
      R"({"attempts":0,"contacts":[1,2,3],"template_mode":"direct","workspace_id":"1","campaign_id":121,"job_id":"re"})");
  push_job(
      env.c,
      R"({"job_id":"re","campaign_id":121,"workspace_id":"1","template_mode":"direct","contacts":[1,2,3]})");
  ASSERT_TRUE(env.wait_idle()) << env.log();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(env.c.integer({"LLEN", "wa:results"}), 1);
  EXPECT_EQ(env.c.list("wa:dispatch:121:s1"), (Strings{"1", "2", "3"}));
  EXPECT_EQ(env.c.integer({"LLEN", "queues:wa-campaigns:dead"}), 0);
  EXPECT_EQ(laravel_queue_size(env.c), 0);
  // A new job (another job_id) for the same campaign is served normally afterwards.
  push_job(
      env.c,
      R"({"job_id":"re-2","campaign_id":121,"workspace_id":"1","template_mode":"direct","contacts":[4]})");
  ASSERT_TRUE(wait_decision(env.c, "re-2")) << env.log();
  EXPECT_EQ(env.c.list("wa:dispatch:121:s1"), (Strings{"1", "2", "3", "4"}));
}

// ---------------------------------------------------------------------------------------------
// Jobs pushed without a notify entry.

// A daemon serving workspace 1 with one primary session, left idle long enough to be blocked
// on the notify list.
void start_idle(Env& env) {
  pin_health(env.c);
  seed_session(env.c, {.id = "s1", .primary = true, .health = 90});
  env.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(1300));
}

TEST(Notify, JobsPushedWithoutNotifyAreFoundWithinASecond) {
  Env env;
  start_idle(env);
  for (int i = 0; i < 2; ++i) {
    const std::string id = "nn" + std::to_string(i);
    const auto t0 = std::chrono::steady_clock::now();
    push_job(
        env.c,
        R"({"job_id":")" + id +
            R"(","campaign_id":131,"workspace_id":"1","template_mode":"direct","contacts":[1]})",
        "", /*notify=*/false);
    ASSERT_TRUE(wait_decision(env.c, id, 0, std::chrono::seconds(5))) << env.log();
    const auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_LT(took, std::chrono::milliseconds(1600)) << id;
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
  }
  EXPECT_EQ(env.c.integer({"LLEN", "queues:wa-campaigns:notify"}), 0);
}

// A job in the delayed zset is taken within a second of its due time, with nothing pushed (the
// daemon idles on the notify list meanwhile), and leaves no notify entry behind. (That the entry
// is pushed and taken with it is JobQueueTest.EveryJobPutBackGetsItsNotifyEntry.) The producer
// scores it as Laravel's Queue::later() does, in whole Unix seconds (a scheduled campaign).
TEST(Notify, AScheduledJobIsTakenWithinASecondOfItsDueTimeNotBefore) {
  Env env;
  start_idle(env);
  const long long due_s = now_ms() / 1000 + 2;
  const long long due = due_s * 1000;
  env.c.cmd({"ZADD", "queues:wa-campaigns:delayed", std::to_string(due_s),
             R"({"job_id":"later","campaign_id":132,"workspace_id":"1","template_mode":"direct",)"
             R"("contacts":[1],"attempts":1})"});
  const auto d = wait_decision(env.c, "later", 1, std::chrono::seconds(6));
  ASSERT_TRUE(d) << env.log();
  const long long taken = iso_ms(str_of(*d, "selected_at"));
  EXPECT_GE(taken, due);                        // not before it is due
  EXPECT_LT(taken, due + 1600) << taken - due;  // and within the second after (+ slack)
  EXPECT_EQ(env.c.integer({"ZCARD", "queues:wa-campaigns:delayed"}), 0);
  EXPECT_EQ(env.c.integer({"LLEN", "queues:wa-campaigns:notify"}), 0);  // its entry was taken too
  EXPECT_EQ(env.c.list("wa:dispatch:132:s1"), (std::vector<std::string>{"1"}));
}

// ---------------------------------------------------------------------------------------------
// Workspace snapshots (reused for up to a second) never delay a job.

TEST(Snapshot, APhoneConnectedAMomentAgoServesTheNextJob) {
  Env env;
  pin_health(env.c);
  seed_session(env.c, {.id = "s1", .status = "disconnected", .primary = true, .health = 90});
  env.start();
  push_job(
      env.c,
      R"({"job_id":"sn1","campaign_id":141,"workspace_id":"1","template_mode":"direct","contacts":[1]})");
  expect_decision(env, "sn1", "queue", "no_provider_available");
  // The phone connects; the next job comes while the daemon's snapshot of the workspace (read
  // for sn1, with s1 disconnected) is still young enough to be reused.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  env.c.cmd({"HSET", "wa:session:s1", "status", "connected"});
  push_job(
      env.c,
      R"({"job_id":"sn2","campaign_id":142,"workspace_id":"1","template_mode":"direct","contacts":[2]})");
  const auto d = expect_decision(env, "sn2", "webjs", "primary_session");
  EXPECT_EQ(session_id_of(d), "s1");
  EXPECT_EQ(env.c.list("wa:dispatch:142:s1"), (Strings{"2"}));
}

}  // namespace
}  // namespace wa::test
