// Retries, dead jobs and bad input end to end (CONTRACT.md sections 1 and 5), and Laravel's
// queue layout (pushRaw, Queue::size).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <thread>

#include "e2e_util.hpp"

namespace wa::test {
namespace {

using Strings = std::vector<std::string>;

const std::string kRetry5 =
    "retry: {base_delay: 0.2, max_delay: 1, jitter: 0.2, max_attempts: 5}\n"
    "health: {check_interval: 0.5}\n";

long long int_of(const json::object& o, std::string_view k) {
  const json::value* v = o.if_contains(k);
  return v != nullptr && v->is_int64() ? v->get_int64() : -999;
}

// An independent base64 (RFC 4648, with padding) to check payload_base64.
std::string b64(const std::string& in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned val = 0;
  int bits = -6;
  for (unsigned char ch : in) {
    val = (val << 8) + ch;
    bits += 8;
    while (bits >= 0) {
      out.push_back(t[(val >> bits) & 0x3F]);
      bits -= 6;
    }
  }
  if (bits > -6) out.push_back(t[((val << 8) >> (bits + 8)) & 0x3F]);
  while (out.size() % 4)
    out.push_back('=');
  return out;
}

// ---------------------------------------------------------------------------------------------
// Retries with exponential backoff, then dead.

TEST(Retry, QueueDecisionsBackOffExponentiallyThenTheJobGoesDead) {
  Env env;
  seed_meta(env.c, "1", false);  // no session, no Meta: no_provider_available every time
  const std::string payload =
      R"({"job_id":"r1","campaign_id":201,"workspace_id":"1","template_mode":"direct","contacts":[1,2],"note":{"a":[],"b":"x\/y"}})";
  push_job(env.c, payload);
  env.start(kRetry5);

  // Every (member, score) the delayed zset holds while the job retries.
  std::map<std::string, long long> delayed;  // ms
  const bool dead = wait_until(
      [&] {
        const Reply r =
            env.c.cmd({"ZRANGE", "queues:wa-campaigns:delayed", "0", "-1", "WITHSCORES"});
        for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2) {
          // Scored in Unix seconds, with a fraction for the milliseconds (Laravel's unit).
          delayed[r.elements[i].str] = std::llround(std::stod(r.elements[i + 1].str) * 1000);
        }
        return !events_of(env.c, "dead").empty();
      },
      std::chrono::seconds(12));
  ASSERT_TRUE(dead) << env.log();

  const auto records = decisions_of(env.c, "r1");
  ASSERT_EQ(records.size(), 5u) << env.log();
  long long previous_delay = 0;
  for (int n = 0; n < 5; ++n) {
    SCOPED_TRACE("attempts " + std::to_string(n));
    const json::object& d = records[n];
    EXPECT_EQ(int_of(d, "attempts"), n);
    EXPECT_EQ(str_of(d, "type"), "queue");
    EXPECT_EQ(str_of(d, "reason"), "no_provider_available");
    if (n == 4) {
      EXPECT_FALSE(d.contains("retry_at")) << json::serialize(d);  // the last one: dead next
      continue;
    }
    ASSERT_TRUE(d.contains("retry_at")) << json::serialize(d);
    const long long delay = iso_ms(str_of(d, "retry_at")) - iso_ms(str_of(d, "selected_at"));
    // delay(n+1) = min(1, 0.2 × 2^n) × (1 ± 0.2)
    const double nominal = std::min(1.0, 0.2 * (1 << n)) * 1000.0;
    EXPECT_GE(delay, nominal * 0.8 - 2) << delay;
    EXPECT_LE(delay, nominal * 1.2 + 2) << delay;
    if (n < 3) {
      EXPECT_GT(delay, previous_delay);  // grows until max_delay caps it
    }
    previous_delay = delay;
    // The delayed member: the same job with attempts + 1, due at retry_at, other bytes kept.
    bool seen = false;
    for (const auto& [member, score] : delayed) {
      const json::object p = parse_object(member);
      if (int_of(p, "attempts") != n + 1) continue;
      seen = true;
      EXPECT_EQ(str_of(p, "job_id"), "r1");
      EXPECT_EQ(score, iso_ms(str_of(d, "retry_at")));
      EXPECT_NE(member.find(R"("note":{"a":[],"b":"x\/y"})"), std::string::npos) << member;
      EXPECT_NE(member.find(R"("contacts":[1,2])"), std::string::npos) << member;
    }
    EXPECT_TRUE(seen) << "never saw the job delayed with attempts " << n + 1;
  }

  // The last queue decision, then the dead event, at the end of wa:results.
  const auto all = results(env.c);
  ASSERT_GE(all.size(), 2u);
  EXPECT_EQ(int_of(all[all.size() - 2], "attempts"), 4);
  const json::object& ev = all.back();
  EXPECT_EQ(str_of(ev, "event"), "dead");
  EXPECT_EQ(str_of(ev, "job_id"), "r1");
  EXPECT_EQ(ev.at("campaign_id"), json::value(201));
  EXPECT_EQ(ev.at("workspace_id"), json::value("1"));
  EXPECT_FALSE(str_of(ev, "error").empty());
  EXPECT_TRUE(is_iso8601(str_of(ev, "at")));

  const Strings dead_list = env.c.list("queues:wa-campaigns:dead");
  ASSERT_EQ(dead_list.size(), 1u);
  const json::object entry = parse_object(dead_list[0]);
  const json::object last = parse_object(str_of(entry, "payload"));  // the bytes as last taken
  EXPECT_EQ(int_of(last, "attempts"), 4);
  EXPECT_EQ(str_of(last, "job_id"), "r1");
  EXPECT_NE(str_of(entry, "payload").find(R"("note":{"a":[],"b":"x\/y"})"), std::string::npos);
  EXPECT_FALSE(str_of(entry, "error").empty());
  EXPECT_TRUE(is_iso8601(str_of(entry, "failed_at")));

  ASSERT_TRUE(env.wait_idle());
  EXPECT_EQ(laravel_queue_size(env.c), 0);
  EXPECT_TRUE(env.c.cmd({"KEYS", "wa:dispatch:*"}).elements.empty());
}

TEST(Retry, DerivedJobIdIsWrittenIntoThePayloadAndTheJobIsServedLater) {
  Env env;
  seed_meta(env.c, "1", false);
  const std::string payload =
      R"({"campaign_id":202,"workspace_id":"1","template_mode":"direct","contacts":[5,6],"extra":[]})";
  push_job(env.c, payload);
  env.start(kRetry5);
  std::optional<json::object> first;
  ASSERT_TRUE(wait_until([&] {
    for (auto& r : results(env.c)) {
      if (r.contains("type")) first = std::move(r);
    }
    return first.has_value();
  })) << env.log();
  const std::string job_id = str_of(*first, "job_id");
  EXPECT_EQ(job_id.rfind("auto-", 0), 0u) << job_id;
  EXPECT_EQ(str_of(*first, "reason"), "no_provider_available");
  // The delayed copy carries that id, attempts 1, and the rest of the bytes.
  std::string member;
  ASSERT_TRUE(wait_until([&] {
    const auto m = env.c.cmd({"ZRANGE", "queues:wa-campaigns:delayed", "0", "-1"}).strings();
    if (!m.empty()) member = m[0];
    return !m.empty() || decisions_of(env.c, job_id).size() > 1;
  }));
  if (!member.empty()) {
    const json::object p = parse_object(member);
    EXPECT_EQ(str_of(p, "job_id"), job_id);
    EXPECT_EQ(int_of(p, "attempts"), 1);
    EXPECT_NE(member.find(R"("extra":[])"), std::string::npos) << member;
  }
  // A session appears: the retried job is served, under the same id.
  seed_session(env.c, {.id = "s1", .primary = true});
  std::optional<json::object> served;
  ASSERT_TRUE(wait_until([&] {
    for (auto& r : decisions_of(env.c, job_id)) {
      if (str_of(r, "type") == "webjs") served = std::move(r);
    }
    return served.has_value();
  })) << env.log();
  EXPECT_GE(int_of(*served, "attempts"), 1);
  EXPECT_EQ(env.c.list("wa:dispatch:202:s1"), (Strings{"5", "6"}));
  for (const auto& r : results(env.c))
    EXPECT_EQ(str_of(r, "job_id"), job_id);
  ASSERT_TRUE(env.wait_idle());
  EXPECT_EQ(laravel_queue_size(env.c), 0);
}

// ---------------------------------------------------------------------------------------------
// Bad payloads.

struct BadCase {
  std::string payload;
  Strings fields;                       // each must be named in the error
  std::optional<json::value> campaign;  // set: a dead event with this campaign_id
  json::value workspace = nullptr;      // its workspace_id (null when not valid)
};

// A dispatch list that the app turned into another type: the job's other outputs are written
// (no rollback in Redis), so the job is acknowledged rather than decided again (its other
// messages would go out twice), and put on the dead list with the failing command and key.
// Both ways of finishing: contacts in the payload (MULTI/EXEC) and in a contacts_key list
// (the finish script).
TEST(DeadJobs, AJobWhoseOutputsArePartlyWrittenGoesToDeadOnce) {
  Env env;
  pin_health(env.c);
  seed_session(env.c, {.id = "s1", .primary = true, .health = 90});
  seed_session(env.c, {.id = "s2", .primary = true, .health = 90});
  env.c.cmd({"SET", "wa:dispatch:401:s2", "not a list"});
  env.c.cmd({"SET", "wa:dispatch:402:s2", "not a list"});
  env.c.cmd({"RPUSH", "contacts:402", "a", "b", "c", "d"});
  push_job(
      env.c,
      R"({"job_id":"pw1","campaign_id":401,"workspace_id":"1","template_mode":"direct","contacts":[1,2,3,4]})");
  push_job(
      env.c,
      R"({"job_id":"pw2","campaign_id":402,"workspace_id":"1","template_mode":"direct","contacts_key":"contacts:402"})");
  env.start(kFastConfig + "queue: {lease_seconds: 1}\n");
  ASSERT_TRUE(wait_until([&] {
    return env.c.integer({"LLEN", "queues:wa-campaigns:dead"}) == 2;
  })) << env.log();
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // past the lease: not again
  EXPECT_EQ(env.c.integer({"LLEN", "queues:wa-campaigns:dead"}), 2);
  EXPECT_EQ(env.c.list("wa:dispatch:401:s1"), (Strings{"1", "2"}));  // once
  EXPECT_EQ(env.c.list("wa:dispatch:402:s1"), (Strings{"a", "b"}));
  EXPECT_EQ(laravel_queue_size(env.c), 0);
  std::map<std::string, int> decisions, dead_events;
  for (const auto& raw : env.c.list("wa:results")) {
    const auto o = parse_object(raw);
    (o.contains("event") ? dead_events : decisions)[str_of(o, "job_id")]++;
  }
  EXPECT_EQ(decisions, (std::map<std::string, int>{{"pw1", 1}, {"pw2", 1}}));
  EXPECT_EQ(dead_events, (std::map<std::string, int>{{"pw1", 1}, {"pw2", 1}}));
  for (const auto& raw : env.c.list("queues:wa-campaigns:dead")) {
    const std::string error = str_of(parse_object(raw), "error");
    EXPECT_NE(error.find("outputs partly written: "), std::string::npos) << error;
    EXPECT_NE(error.find("WRONGTYPE"), std::string::npos) << error;
  }
  // Each names what failed.
  std::string dead;
  for (const auto& raw : env.c.list("queues:wa-campaigns:dead"))
    dead += raw;
  EXPECT_NE(dead.find("RPUSH wa:dispatch:401:s2: WRONGTYPE"), std::string::npos) << dead;
  EXPECT_NE(dead.find("moving contacts to wa:dispatch:402:s2: WRONGTYPE"), std::string::npos)
      << dead;
}

TEST(DeadJobs, BadPayloadsGoToDeadNamingTheFieldAndTheNextGoodJobIsServed) {
  Env env;
  seed_session(env.c, {.id = "s1", .primary = true});
  const std::string deep(100000, '[');
  const std::string bad_utf8 =
      "{\"job_id\":\"b13\",\"campaign_id\":313,\"workspace_id\":\"1\",\"template_mode\":\"direct\","
      "\"contacts\":[\"\xff\xfe\"]}";
  const std::vector<BadCase> cases = {
      {"this is not json", {"payload"}, std::nullopt},
      {"[1,2,3]", {"payload"}, std::nullopt},
      {R"("just a string")", {"payload"}, std::nullopt},
      {R"({"job_id":"b4","campaign_id":304,"workspace_id":"1","template_mode":"direct"})",
       {"contacts"},
       json::value(304),
       json::value("1")},
      {R"({"job_id":"b5","workspace_id":"1","template_mode":"direct","contacts":[1]})",
       {"campaign_id"},
       std::nullopt},
      {R"({"job_id":"b6","campaign_id":306,"workspace_id":2,"template_mode":"sms","contacts":[1]})",
       {"template_mode"},
       json::value(306),
       json::value(2)},
      {R"({"job_id":"b7","campaign_id":"c307","workspace_id":"1","template_mode":"direct","contacts":"1,2"})",
       {"contacts"},
       json::value("c307"),
       json::value("1")},
      {R"({"job_id":"b8","campaign_id":308,"workspace_id":"1","template_mode":"direct","contacts":[1],"attempts":"0"})",
       {"attempts"},
       json::value(308),
       json::value("1")},
      {R"({"job_id":"b9","campaign_id":309.5,"workspace_id":"1","template_mode":"direct","contacts":[1]})",
       {"campaign_id"},
       std::nullopt},
      {R"({"job_id":"b10","campaign_id":310,"workspace_id":[],"template_mode":1,"provider_preference":"x","contacts":{}})",
       {"workspace_id", "template_mode", "provider_preference", "contacts"},
       json::value(310),
       nullptr},
      {deep, {"payload"}, std::nullopt},
      {R"({"job_id":"b12","campaign_id":123456789012345678901234567890,"workspace_id":"1","template_mode":"direct","contacts":[1]})",
       {"campaign_id"},
       std::nullopt},
      {R"({"job_id":"b12b","campaign_id":9223372036854775808,"workspace_id":"1","template_mode":"direct","contacts":[1]})",
       {"campaign_id"},
       std::nullopt},
      {R"({"job_id":"b14","campaign_id":314,"workspace_id":"1","template_mode":"template","contacts":[1]})",
       {"template"},
       json::value(314),
       json::value("1")},
      {R"({"job_id":"b15","campaign_id":315,"workspace_id":"1","template_mode":"template","template":{"status":"OK"},"contacts":[1]})",
       {"template.status"},
       json::value(315),
       json::value("1")},
      {R"({"job_id":"b16","campaign_id":316,"workspace_id":"1","template_mode":"direct","contacts":[1],"contacts_key":"k"})",
       {"contacts"},
       json::value(316),
       json::value("1")},
      {R"({"job_id":"b17","campaign_id":317,"workspace_id":"1","template_mode":"direct","contacts":[0,1.5]})",
       {"contacts[0]", "contacts[1]"},
       json::value(317),
       json::value("1")},
      {R"({"job_id":"","campaign_id":318,"workspace_id":"1","template_mode":"direct","contacts":[1]})",
       {"job_id"},
       json::value(318),
       json::value("1")},
      {R"({"job_id":"b19","campaign_id":319,"workspace_id":"1","template_mode":"direct","contacts":[1],"attempts":-1})",
       {"attempts"},
       json::value(319),
       json::value("1")},
      {R"({"job_id":"b20","campaign_id":0,"workspace_id":"1","template_mode":"direct","contacts":[1]})",
       {"campaign_id"},
       std::nullopt},
      {"{}", {"campaign_id", "workspace_id", "template_mode", "contacts"}, std::nullopt},
      {R"({"job_id":"b22","campaign_id":322,"workspace_id":"","template_mode":"direct","contacts":[1]})",
       {"workspace_id"},
       json::value(322),
       nullptr},
      {R"({"job_id":"b23","campaign_id":null,"workspace_id":"1","template_mode":"direct","contacts":[1]})",
       {"campaign_id"},
       std::nullopt},
      {R"({"job_id":"b24","campaign_id":324,"workspace_id":1e3,"template_mode":"direct","contacts":[1],"provider_preference":"auto"})",
       {"workspace_id"},
       json::value(324),
       nullptr},
      {R"({"job_id":"b25","campaign_id":325,"workspace_id":"1","template_mode":"direct","contacts":[1],"template":{"status":"APPROVED","webjs_compatible":"yes"}})",
       {"template.webjs_compatible"},
       json::value(325),
       json::value("1")},
      {R"({"job_id":"b26","campaign_id":326,"workspace_id":"1","template_mode":"direct","contacts":[")" +
           std::string(257, 'x') + R"("]})",
       {"contacts[0]"},
       json::value(326),
       json::value("1")},
  };
  for (const auto& k : cases)
    push_job(env.c, k.payload);
  push_job(env.c, bad_utf8);
  push_job(
      env.c,
      R"({"job_id":"good","campaign_id":399,"workspace_id":"1","template_mode":"direct","contacts":[1,2,")" +
          std::string(256, 'y') + R"("]})");
  env.start();
  auto good = wait_decision(env.c, "good");
  ASSERT_TRUE(good) << env.log();
  EXPECT_EQ(str_of(*good, "type"), "webjs");
  EXPECT_EQ(env.c.list("wa:dispatch:399:s1"), (Strings{"1", "2", std::string(256, 'y')}));
  ASSERT_TRUE(env.wait_idle());

  // Dead entries, by payload.
  std::map<std::string, json::object> dead;
  std::optional<json::object> utf8_entry;
  for (const auto& e : env.c.list("queues:wa-campaigns:dead")) {
    json::object o = parse_object(e);
    EXPECT_TRUE(is_iso8601(str_of(o, "failed_at"))) << e.substr(0, 200);
    if (o.contains("payload_base64")) {
      EXPECT_FALSE(o.contains("payload"));
      utf8_entry = std::move(o);
    } else {
      dead[str_of(o, "payload")] = std::move(o);
    }
  }
  EXPECT_EQ(dead.size(), cases.size());
  // Dead events, by campaign_id.
  std::map<std::string, json::object> events;
  for (auto& e : events_of(env.c, "dead"))
    events[json::serialize(e.at("campaign_id"))] = e;
  std::size_t with_event = 0;
  for (const auto& k : cases) {
    SCOPED_TRACE(k.payload.substr(0, 120));
    const auto it = dead.find(k.payload);  // the payload, byte-exact
    ASSERT_NE(it, dead.end());
    const std::string error = str_of(it->second, "error");
    for (const auto& f : k.fields)
      EXPECT_NE(error.find(f), std::string::npos) << error;
    if (!k.campaign) continue;
    ++with_event;
    const auto ev = events.find(json::serialize(*k.campaign));
    ASSERT_NE(ev, events.end()) << "no dead event";
    EXPECT_EQ(ev->second.at("workspace_id"), k.workspace) << json::serialize(ev->second);
    for (const auto& f : k.fields) {
      EXPECT_NE(str_of(ev->second, "error").find(f), std::string::npos);
    }
    EXPECT_FALSE(str_of(ev->second, "job_id").empty());
    EXPECT_TRUE(is_iso8601(str_of(ev->second, "at")));
  }
  // No dead event for a payload whose campaign_id cannot be read (the UTF-8 case aside).
  std::size_t events_without_utf8 = events.size() - events.count("313");
  EXPECT_EQ(events_without_utf8, with_event);
  EXPECT_EQ(str_of(events[json::serialize(json::value(304))], "job_id"), "b4");

  ASSERT_TRUE(utf8_entry) << "no dead entry with payload_base64";
  EXPECT_EQ(str_of(*utf8_entry, "payload_base64"), b64(bad_utf8));
  EXPECT_FALSE(str_of(*utf8_entry, "error").empty());

  EXPECT_TRUE(env.daemon->running());
  EXPECT_EQ(laravel_queue_size(env.c), 0);
  EXPECT_EQ(decisions_of(env.c, "good").size(), 1u);
  // Nothing but the good job reached a dispatch list.
  EXPECT_EQ(env.c.cmd({"KEYS", "wa:dispatch:*"}).strings(), (Strings{"wa:dispatch:399:s1"}));
}

// ---------------------------------------------------------------------------------------------
// Laravel compatibility.

// Laravel's LuaScripts::push(): RPUSH the payload, RPUSH notify 1.
void laravel_push_raw(Client& c, const std::string& payload) {
  c.cmd({"EVAL",
         "redis.call('rpush', KEYS[1], ARGV[1])\n"
         "redis.call('rpush', KEYS[2], 1)\n"
         "return redis.call('llen', KEYS[1])",
         "2", "queues:wa-campaigns", "queues:wa-campaigns:notify", payload});
}

TEST(Laravel, PushRawPayloadsAreServedAndQueueSizeStaysMeaningful) {
  Env env;
  seed_session(env.c, {.id = "s1", .workspace = "3", .primary = true});
  seed_meta(env.c, "4", false);
  // What json_encode() makes of a PHP array: escaped slashes and non-ASCII, nulls, [] as [].
  const std::string served =
      R"({"job_id":"laravel-1","campaign_id":501,"workspace_id":3,"template_mode":"direct","provider_preference":"auto","template":null,"contacts":[101,102,"103"],"contacts_key":null,"attempts":0,"meta":{"name":"Caf\u00e9 \/ promo","tags":[]}})";
  const std::string waiting =
      R"({"job_id":"laravel-2","campaign_id":502,"workspace_id":4,"template_mode":"direct","provider_preference":"auto","template":null,"contacts":[7],"contacts_key":null,"attempts":0,"meta":{"name":"Caf\u00e9 \/ promo","tags":[]}})";
  laravel_push_raw(env.c, served);
  laravel_push_raw(env.c, waiting);
  EXPECT_EQ(laravel_queue_size(env.c), 2);
  env.start();  // max_attempts 3

  auto d = wait_decision(env.c, "laravel-1");
  ASSERT_TRUE(d) << env.log();
  EXPECT_EQ(str_of(*d, "type"), "webjs");
  EXPECT_EQ(d->at("workspace_id"), json::value(3));
  EXPECT_FALSE(d->contains("template"));
  EXPECT_EQ(env.c.list("wa:dispatch:501:s1"), (Strings{"101", "102", "103"}));
  ASSERT_TRUE(wait_decision(env.c, "laravel-2")) << env.log();

  // While laravel-2 retries, Queue::size counts it exactly once, wherever it is.
  std::set<long long> sizes;
  std::string delayed_member;
  const bool dead = wait_until(
      [&] {
        // Sampled before looking for the dead event: a sample taken after the job went dead
        // is discarded (the dead event is written atomically with the acknowledgement).
        const long long size = laravel_queue_size(env.c);
        const auto m = env.c.cmd({"ZRANGE", "queues:wa-campaigns:delayed", "0", "-1"}).strings();
        if (!events_of(env.c, "dead").empty()) return true;
        sizes.insert(size);
        if (!m.empty()) delayed_member = m[0];
        return false;
      },
      std::chrono::seconds(8));
  ASSERT_TRUE(dead) << env.log();
  EXPECT_EQ(sizes, (std::set<long long>{1}));
  ASSERT_FALSE(delayed_member.empty());
  // The re-queued bytes were not re-encoded (cjson would turn [] into {} and unescape).
  EXPECT_NE(delayed_member.find(R"("meta":{"name":"Caf\u00e9 \/ promo","tags":[]})"),
            std::string::npos)
      << delayed_member;
  EXPECT_NE(delayed_member.find(R"("template":null)"), std::string::npos) << delayed_member;

  ASSERT_TRUE(env.wait_idle());
  EXPECT_EQ(laravel_queue_size(env.c), 0);
  EXPECT_EQ(env.c.integer({"LLEN", "queues:wa-campaigns:notify"}), 0);
  EXPECT_EQ(env.c.integer({"LLEN", "queues:wa-campaigns:dead"}), 1);
  const auto ev = events_of(env.c, "dead");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].at("campaign_id"), json::value(502));
  EXPECT_EQ(ev[0].at("workspace_id"), json::value(4));
}

}  // namespace
}  // namespace wa::test
