// Campaign job payloads (CONTRACT.md sections 1 and 5): validation, derived ids, the payload
// rewrite for re-queueing, UTF-8 and base64.
#include "core/job.hpp"

#include "core/base64.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace {

using namespace wa::core;
namespace json = boost::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// A payload built from raw JSON member texts, so that number spellings (1.0, 1e3) stay as
// written. Starts from a valid minimal direct-mode job; `set` replaces or adds a member and
// `drop` removes one.
class Payload {
 public:
  Payload() {
    members_ = {{"campaign_id", "1"},
                {"workspace_id", "2"},
                {"template_mode", R"("direct")"},
                {"contacts", "[]"}};
  }
  Payload& set(const std::string& key, const std::string& raw) {
    for (auto& [k, v] : members_) {
      if (k == key) {
        v = raw;
        return *this;
      }
    }
    members_.emplace_back(key, raw);
    return *this;
  }
  Payload& drop(const std::string& key) {
    std::erase_if(members_, [&](const auto& m) { return m.first == key; });
    return *this;
  }
  std::string str() const {
    std::string out = "{";
    for (const auto& [k, v] : members_) {
      if (out.size() > 1) out += ",";
      out += "\"" + k + "\":" + v;
    }
    return out + "}";
  }
  operator std::string() const { return str(); }

 private:
  std::vector<std::pair<std::string, std::string>> members_;
};

Job valid(const std::string& payload) {
  ParsedJob p = parse_job(payload);
  EXPECT_TRUE(p.job.has_value()) << payload << "\nerror: " << p.error;
  EXPECT_THAT(p.error, IsEmpty());
  return p.job.value_or(Job{});
}

std::string error_of(const std::string& payload) {
  const ParsedJob p = parse_job(payload);
  EXPECT_FALSE(p.job.has_value()) << "accepted: " << payload;
  EXPECT_THAT(p.error, Not(IsEmpty())) << payload;
  return p.error;
}

const std::string k2p63 = "9223372036854775808";
const std::string k2p63m1 = "9223372036854775807";

// --- valid jobs -------------------------------------------------------------------------------

TEST(ParseJobTest, MinimalDirectJob) {
  const Job j = valid(Payload());
  EXPECT_EQ(j.campaign_id, (Id{"1", true}));
  EXPECT_EQ(j.workspace_id, (Id{"2", true}));
  EXPECT_EQ(j.mode, TemplateMode::direct);
  EXPECT_EQ(j.preference, Preference::automatic);
  EXPECT_FALSE(j.tmpl.has_value());
  EXPECT_FALSE(j.contacts_key.has_value());
  EXPECT_THAT(j.contacts, IsEmpty());
  EXPECT_EQ(j.attempts, 0);
  EXPECT_TRUE(j.job_id_derived);
  EXPECT_FALSE(j.job_id.empty());
}

TEST(ParseJobTest, FullTemplateJob) {
  const Job j = valid(Payload()
                          .set("job_id", R"("job-7")")
                          .set("campaign_id", R"("camp-7")")
                          .set("workspace_id", R"("ws-3")")
                          .set("template_mode", R"("template")")
                          .set("provider_preference", R"("meta_api")")
                          .set("template", R"({"id":"tpl-1","status":"APPROVED",)"
                                           R"("webjs_compatible":false})")
                          .set("contacts", R"([5,"+15550001",7])")
                          .set("attempts", "3"));
  EXPECT_EQ(j.job_id, "job-7");
  EXPECT_FALSE(j.job_id_derived);
  EXPECT_EQ(j.campaign_id, (Id{"camp-7", false}));
  EXPECT_EQ(j.workspace_id, (Id{"ws-3", false}));
  EXPECT_EQ(j.mode, TemplateMode::template_);
  EXPECT_EQ(j.preference, Preference::meta_api);
  ASSERT_TRUE(j.tmpl.has_value());
  EXPECT_EQ(j.tmpl->id_json, R"("tpl-1")");
  EXPECT_EQ(j.tmpl->status, TemplateStatus::approved);
  EXPECT_FALSE(j.tmpl->webjs_compatible);
  EXPECT_TRUE(j.template_approved());
  EXPECT_THAT(j.contacts, ElementsAre("5", "+15550001", "7"));
  EXPECT_EQ(j.attempts, 3);
}

TEST(ParseJobTest, EveryPreferenceAndStatus) {
  for (const auto& [text, pref] :
       std::vector<std::pair<std::string, Preference>>{{"auto", Preference::automatic},
                                                       {"webjs", Preference::webjs},
                                                       {"meta_api", Preference::meta_api}}) {
    EXPECT_EQ(valid(Payload().set("provider_preference", "\"" + text + "\"")).preference, pref);
  }
  for (const auto& [text, status] : std::vector<std::pair<std::string, TemplateStatus>>{
           {"APPROVED", TemplateStatus::approved},
           {"PENDING", TemplateStatus::pending},
           {"REJECTED", TemplateStatus::rejected},
           {"PAUSED", TemplateStatus::paused},
           {"DISABLED", TemplateStatus::disabled}}) {
    const Job j = valid(Payload()
                            .set("template_mode", R"("template")")
                            .set("template", R"({"status":")" + text + R"("})"));
    ASSERT_TRUE(j.tmpl);
    EXPECT_EQ(j.tmpl->status, status) << text;
    EXPECT_TRUE(j.tmpl->webjs_compatible);  // default true
    EXPECT_EQ(j.tmpl->id_json, "");
  }
}

TEST(ParseJobTest, TemplateIdIsAnyScalarEchoed) {
  auto id_of = [](const std::string& raw) {
    const Job j = valid(Payload().set("template", R"({"status":"PENDING","id":)" + raw + "}"));
    return j.tmpl ? j.tmpl->id_json : std::string("<none>");
  };
  EXPECT_EQ(id_of("17"), "17");
  EXPECT_EQ(id_of(R"("t-9")"), R"("t-9")");
  EXPECT_EQ(id_of("true"), "true");
  EXPECT_EQ(id_of("null"), "");  // null counts as absent
  EXPECT_THAT(error_of(Payload().set("template", R"({"status":"PENDING","id":[1]})")),
              HasSubstr("template.id"));
  EXPECT_THAT(error_of(Payload().set("template", R"({"status":"PENDING","id":{}})")),
              HasSubstr("template.id"));
}

TEST(ParseJobTest, DirectModeTemplateIsOptional) {
  const Job j = valid(Payload().set("template", R"({"status":"APPROVED"})"));
  ASSERT_TRUE(j.tmpl);
  EXPECT_TRUE(j.template_approved());
}

TEST(ParseJobTest, UnknownFieldsAreKeptAndIgnored) {
  valid(Payload().set("extra", R"({"nested":[1,2,{"x":null}],"s":"\u00e9"})").set("n", "1.5e9"));
}

TEST(ParseJobTest, ContactsKeyInsteadOfContacts) {
  const Job j = valid(Payload().drop("contacts").set("contacts_key", R"("campaign:7:contacts")"));
  EXPECT_EQ(j.contacts_key, "campaign:7:contacts");
  EXPECT_THAT(j.contacts, IsEmpty());
}

TEST(ParseJobTest, ContactIdsIntegersAndStringsInOrder) {
  const Job j = valid(Payload().set("contacts", "[3,\"b\",1," + k2p63m1 + ",\"a\"]"));
  EXPECT_THAT(j.contacts, ElementsAre("3", "b", "1", k2p63m1, "a"));
}

// --- ids and integers -------------------------------------------------------------------------

TEST(ParseJobTest, IdsKeepTheirJsonType) {
  EXPECT_EQ(valid(Payload().set("campaign_id", "42")).campaign_id, (Id{"42", true}));
  EXPECT_EQ(valid(Payload().set("campaign_id", R"("42")")).campaign_id, (Id{"42", false}));
  EXPECT_EQ(valid(Payload().set("workspace_id", R"("ws:a b")")).workspace_id,
            (Id{"ws:a b", false}));
  EXPECT_EQ(valid(Payload().set("workspace_id", k2p63m1)).workspace_id, (Id{k2p63m1, true}));
}

TEST(ParseJobTest, InvalidIds) {
  for (const std::string& field : std::vector<std::string>{"campaign_id", "workspace_id"}) {
    for (const std::string& raw :
         std::vector<std::string>{"1.0", "1e3", "1E3", "-1", "0", "-0", k2p63, "1.5",
                                  "100000000000000000000", "true", "\"\"", "[]", "{}", "[1]"}) {
      EXPECT_THAT(error_of(Payload().set(field, raw)), HasSubstr(field)) << field << "=" << raw;
    }
    EXPECT_THAT(error_of(Payload().drop(field)), HasSubstr(field));
    EXPECT_THAT(error_of(Payload().set(field, "null")), HasSubstr(field));  // null = absent
  }
}

TEST(ParseJobTest, Attempts) {
  EXPECT_EQ(valid(Payload().set("attempts", "0")).attempts, 0);
  EXPECT_EQ(valid(Payload().set("attempts", "7")).attempts, 7);
  EXPECT_EQ(valid(Payload().set("attempts", k2p63m1)).attempts, INT64_MAX);
  EXPECT_EQ(valid(Payload().set("attempts", "null")).attempts, 0);
  for (const std::string& raw :
       std::vector<std::string>{"-1", "1.0", "1e3", "0.0", k2p63, "\"1\"", "true"}) {
    EXPECT_THAT(error_of(Payload().set("attempts", raw)), HasSubstr("attempts")) << raw;
  }
}

TEST(ParseJobTest, InvalidContactIds) {
  for (const std::string& raw : std::vector<std::string>{"0", "-5", "1.0", "2e1", k2p63, "\"\"",
                                                         "null", "true", "[1]", "{}"}) {
    EXPECT_THAT(error_of(Payload().set("contacts", "[1," + raw + "]")), HasSubstr("contacts"))
        << raw;
  }
}

TEST(ParseJobTest, ContactStringsAreAtMost256Bytes) {
  const std::string ok(256, 'x');
  EXPECT_THAT(valid(Payload().set("contacts", "[\"" + ok + "\"]")).contacts, ElementsAre(ok));
  EXPECT_THAT(error_of(Payload().set("contacts", "[\"" + std::string(257, 'x') + "\"]")),
              HasSubstr("contacts"));
  // Bytes, not characters: 128 × "é" is 256 bytes, 129 × "é" is 258.
  std::string e128;
  for (int i = 0; i < 128; ++i)
    e128 += "\xc3\xa9";
  EXPECT_THAT(valid(Payload().set("contacts", "[\"" + e128 + "\"]")).contacts, ElementsAre(e128));
  EXPECT_THAT(error_of(Payload().set("contacts", "[\"" + e128 + "\xc3\xa9\"]")),
              HasSubstr("contacts"));
}

// --- null counts as absent --------------------------------------------------------------------

TEST(ParseJobTest, NullOptionalFieldsAreAbsent) {
  const Job j = valid(Payload()
                          .set("job_id", "null")
                          .set("provider_preference", "null")
                          .set("template", "null")
                          .set("attempts", "null")
                          .set("contacts_key", "null"));
  EXPECT_TRUE(j.job_id_derived);
  EXPECT_EQ(j.preference, Preference::automatic);
  EXPECT_FALSE(j.tmpl.has_value());
  EXPECT_EQ(j.attempts, 0);
  EXPECT_FALSE(j.contacts_key.has_value());

  const Job k = valid(Payload().set("contacts", "null").set("contacts_key", R"("key")"));
  EXPECT_EQ(k.contacts_key, "key");

  const Job t = valid(Payload()
                          .set("template_mode", R"("template")")
                          .set("template", R"({"status":"APPROVED","webjs_compatible":null})"));
  EXPECT_TRUE(t.tmpl->webjs_compatible);
}

TEST(ParseJobTest, NullRequiredFieldsAreMissing) {
  EXPECT_THAT(error_of(Payload().set("template_mode", "null")), HasSubstr("template_mode"));
  EXPECT_THAT(error_of(Payload().set("template_mode", R"("template")").set("template", "null")),
              HasSubstr("template"));
  EXPECT_THAT(error_of(Payload().set("template", R"({"status":null})")),
              HasSubstr("template.status"));
}

// --- other field rules ------------------------------------------------------------------------

TEST(ParseJobTest, TemplateRequiredInTemplateMode) {
  EXPECT_THAT(error_of(Payload().set("template_mode", R"("template")")), HasSubstr("template"));
}

TEST(ParseJobTest, InvalidEnumsAndTypes) {
  EXPECT_THAT(error_of(Payload().set("template_mode", R"("sms")")), HasSubstr("template_mode"));
  EXPECT_THAT(error_of(Payload().set("template_mode", R"("DIRECT")")), HasSubstr("template_mode"));
  EXPECT_THAT(error_of(Payload().drop("template_mode")), HasSubstr("template_mode"));
  EXPECT_THAT(error_of(Payload().set("provider_preference", R"("meta")")),
              HasSubstr("provider_preference"));
  EXPECT_THAT(error_of(Payload().set("provider_preference", "1")),
              HasSubstr("provider_preference"));
  EXPECT_THAT(error_of(Payload().set("template", R"("APPROVED")")), HasSubstr("template"));
  EXPECT_THAT(error_of(Payload().set("template", R"({"status":"approved"})")),
              HasSubstr("template.status"));
  EXPECT_THAT(error_of(Payload().set("template", "{}")), HasSubstr("template.status"));
  EXPECT_THAT(
      error_of(Payload().set("template", R"({"status":"APPROVED","webjs_compatible":"yes"})")),
      HasSubstr("template.webjs_compatible"));
  EXPECT_THAT(error_of(Payload().set("job_id", R"("")")), HasSubstr("job_id"));
  EXPECT_THAT(error_of(Payload().set("job_id", "5")), HasSubstr("job_id"));
}

TEST(ParseJobTest, ExactlyOneOfContactsAndContactsKey) {
  EXPECT_THAT(error_of(Payload().set("contacts_key", R"("k")")), HasSubstr("contacts"));
  EXPECT_THAT(error_of(Payload().drop("contacts")), HasSubstr("contacts"));
  EXPECT_THAT(error_of(Payload().drop("contacts").set("contacts_key", R"("")")),
              HasSubstr("contacts_key"));
  EXPECT_THAT(error_of(Payload().drop("contacts").set("contacts_key", "5")),
              HasSubstr("contacts_key"));
  EXPECT_THAT(error_of(Payload().set("contacts", R"("1,2,3")")), HasSubstr("contacts"));
  EXPECT_THAT(error_of(Payload().set("contacts", R"({"0":1})")), HasSubstr("contacts"));
}

TEST(ParseJobTest, EveryWrongFieldIsNamed) {
  const std::string error = error_of(Payload()
                                         .set("campaign_id", "0")
                                         .set("workspace_id", R"("")")
                                         .set("template_mode", R"("sms")")
                                         .set("provider_preference", R"("x")")
                                         .set("contacts", "5")
                                         .set("attempts", "-1")
                                         .set("job_id", "[]"));
  for (const char* field : {"campaign_id", "workspace_id", "template_mode", "provider_preference",
                            "contacts", "attempts", "job_id"}) {
    EXPECT_THAT(error, HasSubstr(field));
  }
  const std::string missing = error_of("{}");
  for (const char* field : {"campaign_id", "workspace_id", "template_mode", "contacts"}) {
    EXPECT_THAT(missing, HasSubstr(field));
  }
}

TEST(ParseJobTest, KnownPartsOfAnInvalidJobAreReportedForTheDeadEvent) {
  const ParsedJob p = parse_job(Payload()
                                    .set("campaign_id", R"("c-1")")
                                    .set("workspace_id", "0")
                                    .set("job_id", R"("j")")
                                    .str());
  EXPECT_FALSE(p.job);
  EXPECT_EQ(p.job_id, "j");
  EXPECT_EQ(p.campaign_id, (Id{"c-1", false}));
  EXPECT_EQ(p.workspace_id, std::nullopt);

  const ParsedJob q =
      parse_job(Payload().set("campaign_id", "1.5").set("template_mode", "1").str());
  EXPECT_EQ(q.campaign_id, std::nullopt);
  EXPECT_EQ(q.workspace_id, (Id{"2", true}));
  EXPECT_FALSE(q.job_id.empty());  // derived
}

// --- malformed payloads -----------------------------------------------------------------------

TEST(ParseJobTest, NotJson) {
  for (const std::string& bad :
       std::vector<std::string>{"", "not json", "{", R"({"campaign_id":1)", "{} trailing",
                                R"({"a":1,})", "{'a':1}", std::string("{\0}", 3)}) {
    const ParsedJob p = parse_job(bad);
    EXPECT_FALSE(p.job) << bad;
    EXPECT_THAT(p.error, Not(IsEmpty())) << bad;
    EXPECT_FALSE(p.job_id.empty()) << bad;
    EXPECT_FALSE(p.campaign_id);
  }
}

TEST(ParseJobTest, NotAnObject) {
  for (const std::string& bad :
       std::vector<std::string>{"[]", "42", R"("campaign")", "null", "true", "[{}]"}) {
    EXPECT_THAT(error_of(bad), HasSubstr("object")) << bad;
  }
}

TEST(ParseJobTest, DeepNestingIsAnErrorNotACrash) {
  const int depth = 10000;
  error_of(std::string(depth, '[') + std::string(depth, ']'));
  error_of(std::string(depth, '['));  // and unterminated
  error_of(Payload().set("extra", std::string(depth, '[') + std::string(depth, ']')));
  std::string objects;
  for (int i = 0; i < depth; ++i)
    objects += R"({"a":)";
  objects += "1" + std::string(depth, '}');
  error_of(objects);
  error_of(std::string(1000000, '['));
}

TEST(ParseJobTest, ModerateNestingInUnknownFieldsIsFine) {
  valid(Payload().set("extra", std::string(20, '[') + std::string(20, ']')));
}

TEST(ParseJobTest, InvalidUtf8IsAnError) {
  for (const std::string& bytes :
       std::vector<std::string>{std::string("\xff"), std::string("\xc3"), std::string("\xc0\xaf"),
                                std::string("\xe0\x80\xaf"), std::string("\xed\xa0\x80"),
                                std::string("\xf4\x90\x80\x80"), std::string("\x80")}) {
    error_of(Payload().set("campaign_id", "\"c" + bytes + "\""));
    error_of(Payload().set("extra", "\"" + bytes + "\""));
    error_of("{\"" + bytes + "\":1," + Payload().str().substr(1));
  }
  error_of(Payload().str() + "\xff");
}

TEST(ParseJobTest, ValidUtf8IsFine) {
  const Job j =
      valid(Payload().set("campaign_id", "\"caf\xc3\xa9-\xe2\x82\xac-\xf0\x9f\x93\xa8\""));
  EXPECT_EQ(j.campaign_id.text, "caf\xc3\xa9-\xe2\x82\xac-\xf0\x9f\x93\xa8");
}

TEST(ParseJobTest, ErrorTextIsValidUtf8EvenWhenItQuotesLongValues) {
  // The error quotes the offending value, shortened: it must not cut a multi-byte character
  // (the dead entry is JSON, which must be UTF-8).
  for (int prefix = 0; prefix < 4; ++prefix) {
    std::string value(static_cast<std::size_t>(prefix), 'a');
    for (int i = 0; i < 60; ++i)
      value += "\xe2\x82\xac";  // €
    for (const std::string& field :
         std::vector<std::string>{"template_mode", "provider_preference", "campaign_id"}) {
      const std::string raw = field == "campaign_id" ? "[\"" + value + "\"]" : "\"" + value + "\"";
      const std::string error = error_of(Payload().set(field, raw));
      EXPECT_TRUE(is_valid_utf8(error)) << field << " prefix " << prefix << ": " << error;
    }
  }
}

// --- job ids ----------------------------------------------------------------------------------

TEST(JobIdTest, DerivedIdIsStableForIdenticalBytes) {
  const std::string p = Payload();
  EXPECT_EQ(parse_job(p).job_id, parse_job(p).job_id);
  EXPECT_EQ(derive_job_id(p), derive_job_id(std::string(p)));
  EXPECT_EQ(valid(p).job_id, derive_job_id(p));
}

TEST(JobIdTest, DerivedIdDiffersForDifferentBytes) {
  const std::string a = Payload();
  const std::string b = Payload().set("contacts", "[1]");
  const std::string spaced = " " + a;  // the same JSON, other bytes
  EXPECT_NE(derive_job_id(a), derive_job_id(b));
  EXPECT_NE(derive_job_id(a), derive_job_id(spaced));
  EXPECT_NE(derive_job_id(""), derive_job_id(" "));
  // Many payloads, no collisions.
  std::set<std::string> ids;
  for (int i = 0; i < 10000; ++i) {
    ids.insert(derive_job_id(Payload().set("campaign_id", std::to_string(i + 1)).str()));
  }
  EXPECT_EQ(ids.size(), 10000u);
}

TEST(JobIdTest, GivenJobIdIsUsed) {
  const Job j = valid(Payload().set("job_id", R"("abc-123")"));
  EXPECT_EQ(j.job_id, "abc-123");
  EXPECT_FALSE(j.job_id_derived);
}

// --- rewrite_payload --------------------------------------------------------------------------

const std::string kRich =
    R"({"campaign_id":1,"x":1.50,"arr":[],"nested":{"a":{"b":[1,{"c":"}]"}],"d":-0.0}},)"
    R"("s":"q\"uo\\te \u00e9 }{][, \n","workspace_id":"w","template_mode":"direct",)"
    R"("contacts":[1,2,"three"],"attempts":3,"big":1e400,"tail":null})";

json::object object_of(const std::string& text) {
  const json::value v = json::parse(text);
  EXPECT_TRUE(v.is_object()) << text;
  return v.is_object() ? v.get_object() : json::object{};
}

TEST(RewritePayloadTest, SetsAttemptsReplacingTheExistingOne) {
  const std::string out = rewrite_payload(kRich, "", 4);
  const json::object o = object_of(out);
  EXPECT_EQ(o.at("attempts").as_int64(), 4);
  EXPECT_EQ(out.find("\"attempts\":3"), std::string::npos);
  std::size_t count = 0;
  for (std::size_t at = out.find("\"attempts\""); at != std::string::npos;
       at = out.find("\"attempts\"", at + 1)) {
    ++count;
  }
  EXPECT_EQ(count, 1u);
  EXPECT_FALSE(o.contains("job_id"));
}

TEST(RewritePayloadTest, KeepsOtherMembersBytesAndOrder) {
  const std::string out = rewrite_payload(kRich, "", 1);
  for (const std::string& kept : std::vector<std::string>{
           R"("x":1.50)", R"("arr":[])", R"("nested":{"a":{"b":[1,{"c":"}]"}],"d":-0.0}})",
           R"("s":"q\"uo\\te \u00e9 }{][, \n")", R"("workspace_id":"w")",
           R"("contacts":[1,2,"three"])", R"("big":1e400)", R"("tail":null)"}) {
    EXPECT_THAT(out, HasSubstr(kept));
  }
  // Member order of the kept members is the input order.
  std::vector<std::string> keys;
  for (const auto& m : object_of(out))
    keys.emplace_back(m.key());
  std::vector<std::string> kept_keys;
  for (const auto& k : keys) {
    if (k != "attempts" && k != "job_id") kept_keys.push_back(k);
  }
  EXPECT_THAT(kept_keys, ElementsAre("campaign_id", "x", "arr", "nested", "s", "workspace_id",
                                     "template_mode", "contacts", "big", "tail"));
}

TEST(RewritePayloadTest, AddsJobIdWhenAsked) {
  const std::string p = Payload();
  const std::string id = derive_job_id(p);
  const std::string out = rewrite_payload(p, id, 1);
  const Job j = valid(out);
  EXPECT_EQ(j.job_id, id);  // the derived id survives the rewrite
  EXPECT_FALSE(j.job_id_derived);
  EXPECT_EQ(j.attempts, 1);
  // ... and further rewrites.
  const Job again = valid(rewrite_payload(out, id, 2));
  EXPECT_EQ(again.job_id, id);
  EXPECT_EQ(again.attempts, 2);
}

TEST(RewritePayloadTest, ReplacesAnExistingJobIdOnlyWhenAsked) {
  const std::string p = Payload().set("job_id", R"("mine")");
  EXPECT_EQ(valid(rewrite_payload(p, "", 1)).job_id, "mine");
  const std::string out = rewrite_payload(p, "other", 1);
  EXPECT_EQ(valid(out).job_id, "other");
  EXPECT_EQ(out.find("mine"), std::string::npos);
}

TEST(RewritePayloadTest, AddsAttemptsWhenAbsent) {
  const Job j = valid(rewrite_payload(Payload().str(), "", 9));
  EXPECT_EQ(j.attempts, 9);
}

TEST(RewritePayloadTest, EscapedKeyNamingAttemptsIsReplaced) {
  const std::string p = Payload().set("attempt\\u0073", "5");
  const std::string out = rewrite_payload(p, "", 6);
  EXPECT_EQ(object_of(out).at("attempts").as_int64(), 6);
  EXPECT_EQ(out.find("\\u0073"), std::string::npos);
  EXPECT_EQ(valid(out).attempts, 6);
}

TEST(RewritePayloadTest, WhitespaceAroundMembers) {
  const std::string p =
      "  {\n  \"campaign_id\" : 5 ,\n\t\"workspace_id\":\"w\",\r\n \"template_mode\" : "
      "\"direct\", \"contacts\" : [ 1 , 2 ] , \"attempts\" : 0 }  ";
  const Job j = valid(rewrite_payload(p, "id-1", 1));
  EXPECT_EQ(j.campaign_id, (Id{"5", true}));
  EXPECT_THAT(j.contacts, ElementsAre("1", "2"));
  EXPECT_EQ(j.attempts, 1);
  EXPECT_EQ(j.job_id, "id-1");
}

TEST(RewritePayloadTest, RoundTripsToTheSameJob) {
  const std::string p =
      Payload()
          .set("campaign_id", R"("camp")")
          .set("template_mode", R"("template")")
          .set("provider_preference", R"("webjs")")
          .set("template", R"({"id":12,"status":"PAUSED","webjs_compatible":false})")
          .set("contacts", R"([9,"x\"y",8])")
          .set("attempts", "2")
          .set("extra", R"({"k":[1.0,2e5]})");
  const Job before = valid(p);
  const Job after = valid(rewrite_payload(p, before.job_id, 3));
  EXPECT_EQ(after.job_id, before.job_id);
  EXPECT_EQ(after.campaign_id, before.campaign_id);
  EXPECT_EQ(after.workspace_id, before.workspace_id);
  EXPECT_EQ(after.mode, before.mode);
  EXPECT_EQ(after.preference, before.preference);
  EXPECT_EQ(after.tmpl, before.tmpl);
  EXPECT_EQ(after.contacts, before.contacts);
  EXPECT_EQ(after.contacts_key, before.contacts_key);
  EXPECT_EQ(after.attempts, 3);
}

TEST(RewritePayloadTest, AttemptsAtTheLimit) {
  const std::string out = rewrite_payload(Payload().str(), "", INT64_MAX);
  EXPECT_EQ(valid(out).attempts, INT64_MAX);
}

// --- UTF-8 and base64 -------------------------------------------------------------------------

TEST(Utf8Test, ValidSequences) {
  for (const std::string& s : std::vector<std::string>{
           std::string(""), std::string("abc"), std::string("a\0b", 3), std::string("\xc3\xa9"),
           std::string("\xe2\x82\xac"), std::string("\xf0\x9d\x84\x9e"),
           std::string("\xf4\x8f\xbf\xbf"), std::string("\xef\xbf\xbf"), std::string("\xc2\x80"),
           std::string("\xe0\xa0\x80"), std::string("\xf0\x90\x80\x80"),
           std::string("\xed\x9f\xbf"), std::string("\xee\x80\x80")}) {
    EXPECT_TRUE(is_valid_utf8(s)) << base64_encode(s);
  }
}

TEST(Utf8Test, InvalidSequences) {
  for (const std::string& s : std::vector<std::string>{
           std::string("\x80"),                  // lone continuation
           std::string("\xbf"),                  //
           std::string("\xc3"),                  // truncated
           std::string("\xe2\x82"),              // truncated
           std::string("\xf0\x9d\x84"),          // truncated
           std::string("\xc3\x28"),              // bad continuation
           std::string("\xe2\x28\xa1"),          // bad continuation
           std::string("\xc0\x80"),              // overlong NUL
           std::string("\xc1\xbf"),              // overlong
           std::string("\xe0\x80\x80"),          // overlong
           std::string("\xe0\x9f\xbf"),          // overlong
           std::string("\xf0\x80\x80\x80"),      // overlong
           std::string("\xf0\x8f\xbf\xbf"),      // overlong
           std::string("\xed\xa0\x80"),          // surrogate D800
           std::string("\xed\xbf\xbf"),          // surrogate DFFF
           std::string("\xf4\x90\x80\x80"),      // beyond U+10FFFF
           std::string("\xf5\x80\x80\x80"),      //
           std::string("\xf8\x88\x80\x80\x80"),  // 5-byte form
           std::string("\xfe"),
           std::string("\xff"),
           std::string("ok\xff"),  // bad byte after good ones
       }) {
    EXPECT_FALSE(is_valid_utf8(s)) << base64_encode(s);
  }
}

TEST(Base64Test, Rfc4648Vectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
}

TEST(Base64Test, BinaryBytes) {
  EXPECT_EQ(base64_encode(std::string("\0", 1)), "AA==");
  EXPECT_EQ(base64_encode(std::string("\0\0\0", 3)), "AAAA");
  EXPECT_EQ(base64_encode("\xff\xfe"), "//4=");
  EXPECT_EQ(base64_encode("\xfb\xff"), "+/8=");
  EXPECT_EQ(base64_encode("\xff\xff\xff"), "////");
  EXPECT_EQ(base64_encode("{\"a\":\"\xff\"}"), "eyJhIjoi/yJ9");
}

TEST(Base64Test, DecodeUndoesEncodeWithOrWithoutPadding) {
  for (const std::string s : {"", "f", "fo", "foo", "foob", "fooba", "\xff\xfe\x01"}) {
    EXPECT_EQ(base64_decode(base64_encode(s)), s);
    std::string bare = base64_encode(s);
    while (!bare.empty() && bare.back() == '=')
      bare.pop_back();
    EXPECT_EQ(base64_decode(bare), s) << bare;
  }
}

TEST(Base64Test, DecodeRefusesWhatIsNotBase64) {
  EXPECT_EQ(base64_decode("Zm9v!"), std::nullopt);
  EXPECT_EQ(base64_decode("Z"), std::nullopt);
  EXPECT_EQ(base64_decode("Zm 9v"), std::nullopt);
}

}  // namespace
