// The stored decision as provider switching reads and rewrites it (core/stored_decision.hpp).
#include "core/stored_decision.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

namespace {

using namespace wa::core;
namespace json = boost::json;

const std::string kGood =
    R"({"campaign_id":42,"workspace_id":"w1","type":"webjs","template_mode":"template",)"
    R"("provider_preference":"meta_api","template":{"status":"APPROVED","webjs_compatible":false},)"
    R"("session":{"id":"s1"},"distribution":[{"target":"s1","count":3,"key":"k1"},)"
    R"({"target":"meta_api","count":2},{"target":"","count":5},{"target":"s2"},7]})";

TEST(StoredDecision, ReadsAGoodRecord) {
  const auto c = parse_stored_decision("42", kGood);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->id, "42");
  EXPECT_EQ(c->campaign_id, (Id{"42", true}));
  EXPECT_EQ(c->workspace_id, "w1");
  EXPECT_EQ(c->spec.mode, TemplateMode::template_);
  EXPECT_EQ(c->spec.preference, Preference::meta_api);
  ASSERT_TRUE(c->spec.tmpl.has_value());
  EXPECT_EQ(c->spec.tmpl->status, TemplateStatus::approved);
  EXPECT_FALSE(c->spec.tmpl->webjs_compatible);
  // Entries without a target or a numeric count are left out.
  EXPECT_EQ(c->distribution, (std::vector<DistributionEntry>{{"s1", 3}, {"meta_api", 2}}));
  EXPECT_EQ(c->decision, kGood);
}

TEST(StoredDecision, DefaultsWhatIsAbsent) {
  const auto c = parse_stored_decision("c", R"({"campaign_id":"c","workspace_id":7})");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->campaign_id, (Id{"c", false}));
  EXPECT_EQ(c->workspace_id, "7");
  EXPECT_EQ(c->spec.mode, TemplateMode::direct);
  EXPECT_EQ(c->spec.preference, Preference::automatic);
  EXPECT_FALSE(c->spec.tmpl.has_value());
  EXPECT_TRUE(c->distribution.empty());
}

TEST(StoredDecision, RefusesAMalformedRecord) {
  EXPECT_FALSE(parse_stored_decision("1", "{not json").has_value());
  EXPECT_FALSE(parse_stored_decision("1", "[1,2]").has_value());
  EXPECT_FALSE(parse_stored_decision("1", R"({"campaign_id":1})").has_value());  // no workspace
  EXPECT_FALSE(parse_stored_decision("1", R"({"workspace_id":""})").has_value());
}

TEST(StoredDecision, UpdatedDecisionRewritesDistributionTypeAndSession) {
  auto c = parse_stored_decision("42", kGood);
  ASSERT_TRUE(c.has_value());
  const std::string moved = R"({"id":"s9","uuid":"u","phone_number":"p"})";
  // s1 keeps an entry: its session stays.
  json::value kept = json::parse(updated_decision(*c, {{"s1", 1}, {"s9", 2}}, moved));
  EXPECT_EQ(kept.at("session").at("id").as_string(), "s1");
  EXPECT_EQ(kept.at("type").as_string(), "webjs");
  EXPECT_EQ(kept.at("distribution").at(1).at("key").as_string(), "wa:dispatch:42:s9");
  // Only Meta left: the type follows, and the session is the move's.
  json::value meta = json::parse(updated_decision(*c, {{"meta_api", 5}}, moved));
  EXPECT_EQ(meta.at("type").as_string(), "meta_api");
  EXPECT_EQ(meta.at("session").at("id").as_string(), "s9");
  EXPECT_EQ(meta.at("distribution").at(0).at("count").as_int64(), 5);
  EXPECT_EQ(meta.at("campaign_id").as_int64(), 42);  // the rest is kept
  // A session that is not JSON is stored as null.
  json::value none = json::parse(updated_decision(*c, {{"meta_api", 5}}, "oops"));
  EXPECT_TRUE(none.at("session").is_null());
}

TEST(StoredDecision, SessionJson) {
  EXPECT_EQ(session_json(nullptr), "null");
  Session s;
  s.id = "s1";
  s.uuid = "u1";
  s.phone_number = "+1";
  s.health = 80;
  s.is_primary = true;
  EXPECT_EQ(json::parse(session_json(&s)),
            json::parse(R"({"id":"s1","uuid":"u1","phone_number":"+1","health_score":80,)"
                        R"("is_primary":true})"));
}

}  // namespace
