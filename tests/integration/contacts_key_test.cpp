// contacts_key jobs next to a real app: a key of another type, a missing list, a list the app is
// still filling, and big inline jobs; every one settled on its own, none holding the others.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "e2e_util.hpp"
#include "harness.hpp"

namespace wa::test {
namespace {

using Strings = std::vector<std::string>;

std::string job(const std::string& id, int campaign, const std::string& contacts) {
  return R"({"job_id":")" + id + R"(","campaign_id":)" + std::to_string(campaign) +
         R"(,"workspace_id":"1","template_mode":"direct",)" + contacts + "}";
}

Strings numbered(const std::string& stem, int n) {
  Strings all;
  for (int i = 0; i < n; ++i)
    all.push_back(stem + std::to_string(i));
  return all;
}

void push_list(Client& c, const std::string& key, const Strings& all) {
  for (std::size_t i = 0; i < all.size(); i += 1000) {
    Strings args{"RPUSH", key};
    args.insert(args.end(), all.begin() + static_cast<long>(i),
                all.begin() + static_cast<long>(std::min(all.size(), i + 1000)));
    c.cmd(args);
  }
}

// A hash named as contacts_key used to fail the whole batch's finish script, so the batch was
// retried forever with its leases renewed: now that job goes to dead naming the key and its
// type, and the jobs around it are served.
TEST(ContactsKeyInput, AKeyOfAnotherTypeGoesToDeadAndTheOthersAreServed) {
  Env env;
  pin_health(env.c);
  seed_session(env.c, {.id = "s1", .primary = true, .health = 90});
  env.c.cmd({"HSET", "contacts:hash", "a", "1"});
  env.c.cmd({"RPUSH", "contacts:ok", "x1", "x2"});
  push_job(env.c, job("before", 501, R"("contacts":[1,2])"));
  push_job(env.c, job("bad", 502, R"("contacts_key":"contacts:hash")"));
  push_job(env.c, job("keyed", 503, R"("contacts_key":"contacts:ok")"));
  push_job(env.c, job("after", 504, R"("contacts":[3])"));
  env.start();
  for (const std::string id : {"before", "keyed", "after"})
    ASSERT_TRUE(wait_decision(env.c, id)) << id << env.log();
  ASSERT_TRUE(wait_until([&] {
    return env.c.integer({"LLEN", "queues:wa-campaigns:dead"}) == 1;
  })) << env.log();
  const auto dead = parse_object(env.c.list("queues:wa-campaigns:dead")[0]);
  EXPECT_EQ(str_of(dead, "error"),
            "contacts_key contacts:hash holds a hash, not a list of contact ids");
  const auto events = events_of(env.c, "dead");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].at("campaign_id").as_int64(), 502);
  EXPECT_EQ(env.c.list("wa:dispatch:503:s1"), (Strings{"x1", "x2"}));
  EXPECT_TRUE(env.wait_idle());
  EXPECT_EQ(laravel_queue_size(env.c), 0);
}

// A contacts_key naming a list that does not exist is served with 0 contacts, and the decision
// record and the log say so, so the app can tell an empty campaign from a typo.
TEST(ContactsKeyInput, AMissingListIsSaidInTheDecisionRecord) {
  Env env;
  pin_health(env.c);
  seed_session(env.c, {.id = "s1", .primary = true, .health = 90});
  env.c.cmd({"RPUSH", "contacts:there", "x1"});
  push_job(env.c, job("typo", 601, R"("contacts_key":"contacts:tpyo")"));
  push_job(env.c, job("there", 602, R"("contacts_key":"contacts:there")"));
  env.start();
  const auto d = wait_decision(env.c, "typo");
  ASSERT_TRUE(d) << env.log();
  ASSERT_TRUE(d->contains("warnings")) << json::serialize(*d);
  EXPECT_EQ(json::serialize(d->at("warnings")), R"(["contacts_key_missing"])");
  EXPECT_TRUE(d->at("distribution").as_array().empty());
  const auto ok = wait_decision(env.c, "there");
  ASSERT_TRUE(ok);
  EXPECT_FALSE(ok->contains("warnings")) << json::serialize(*ok);
  EXPECT_TRUE(wait_until([&] {
    return env.log().find("contacts:tpyo does not exist") != std::string::npos;
  })) << env.log();
}

// A list the app is still filling: the job waits with backoff like any retry (it used to be
// dealt again at once, tens of times a second) and the log names the list; once the list is
// stable the job is served, every contact once.
TEST(ContactsKeyInput, AListThatKeepsChangingWaitsWithBackoff) {
  Env env;
  pin_health(env.c);
  seed_session(env.c, {.id = "s1", .primary = true, .health = 90});
  push_list(env.c, "contacts:filling", numbered("c", 20000));
  std::atomic<bool> stop{false};
  std::thread filler([&] {
    Client c(env.redis.socket());
    for (int i = 0; !stop; ++i) {
      c.cmd({"RPUSH", "contacts:filling", "late" + std::to_string(i)});
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });
  push_job(env.c, job("filling", 701, R"("contacts_key":"contacts:filling")"));
  env.start("retry: {base_delay: 1, max_delay: 1, jitter: 0, max_attempts: 10}\n");
  const bool waited = wait_until([&] {
    return env.c.integer({"ZCARD", "queues:wa-campaigns:delayed"}) == 1;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  stop = true;
  filler.join();
  ASSERT_TRUE(waited) << env.log();
  const std::string log = env.log();
  EXPECT_NE(log.find("contacts_key contacts:filling has"), std::string::npos) << log;
  EXPECT_NE(log.find("still changing"), std::string::npos) << log;
  const auto d = wait_decision(env.c, "filling", 1);
  ASSERT_TRUE(d) << env.log();
  ASSERT_TRUE(wait_until([&] { return env.c.integer({"EXISTS", "wa:appending"}) == 0; }));
  const long long total = env.c.integer({"LLEN", "contacts:filling"});
  EXPECT_EQ(env.c.integer({"LLEN", "wa:dispatch:701:s1"}), total);
  EXPECT_TRUE(decisions_of(env.c, "filling").size() == 1u);  // no record for the changed try
}

// A big inline job is staged like a contacts_key list (no transaction pushes 15,000 contacts
// at once) and lands whole and in order; a second job of the campaign is appended.
TEST(ContactsKeyInput, BigInlineJobsAreStagedAndAppended) {
  Env env;
  pin_health(env.c);
  seed_session(env.c, {.id = "s1", .primary = true, .health = 90});
  std::string first = R"("contacts":[)", second = first;
  for (int i = 0; i < 15000; ++i)
    first += (i ? ",\"a" : "\"a") + std::to_string(i) + "\"";
  for (int i = 0; i < 12000; ++i)
    second += (i ? ",\"b" : "\"b") + std::to_string(i) + "\"";
  push_job(env.c, job("big1", 801, first + "]"));
  env.start();
  ASSERT_TRUE(wait_decision(env.c, "big1")) << env.log();
  push_job(env.c, job("big2", 801, second + "]"));
  ASSERT_TRUE(wait_decision(env.c, "big2")) << env.log();
  ASSERT_TRUE(wait_until([&] { return env.c.integer({"EXISTS", "wa:appending"}) == 0; }));
  Strings expected = numbered("a", 15000);
  const Strings b = numbered("b", 12000);
  expected.insert(expected.end(), b.begin(), b.end());
  EXPECT_EQ(env.c.list("wa:dispatch:801:s1"), expected);
  EXPECT_TRUE(env.c.cmd({"KEYS", "wa:staging:*"}).strings().empty());
}

// A payload over queue.max_payload_bytes goes to dead at once, without being parsed or kept
// (the take of a 51 MB payload held Redis for 290 ms): its size, its head and a dead event say
// what it was, and the jobs around it are served.
TEST(ContactsKeyInput, AnOversizedPayloadGoesToDeadAndTheOthersAreServed) {
  Env env;
  pin_health(env.c);
  seed_session(env.c, {.id = "s1", .primary = true, .health = 90});
  std::string big =
      R"({"job_id":"huge","campaign_id":901,"workspace_id":"1","template_mode":"direct","contacts":[)";
  for (int i = 0; i < 5000; ++i)
    big += (i ? ",\"" : "\"") + std::string(30, 'x') + std::to_string(i) + "\"";
  big += "]}";
  push_job(env.c, job("small1", 902, R"("contacts":[1])"));
  push_job(env.c, big);
  push_job(env.c, job("small2", 903, R"("contacts":[2])"));
  env.start(kFastConfig + "queue: {max_payload_bytes: 65536}\n");
  ASSERT_TRUE(wait_decision(env.c, "small1")) << env.log();
  ASSERT_TRUE(wait_decision(env.c, "small2")) << env.log();
  ASSERT_TRUE(wait_until([&] { return env.c.integer({"LLEN", "queues:wa-campaigns:dead"}) == 1; }));
  const auto dead = parse_object(env.c.list("queues:wa-campaigns:dead")[0]);
  EXPECT_EQ(dead.at("payload_bytes").as_int64(), static_cast<std::int64_t>(big.size()));
  EXPECT_NE(str_of(dead, "error").find("over queue.max_payload_bytes (65536)"), std::string::npos);
  EXPECT_NE(str_of(dead, "error").find("contacts_key"), std::string::npos);
  EXPECT_EQ(str_of(dead, "payload_head_base64").substr(0, 8), "eyJqb2Jf");  // {"job_
  EXPECT_TRUE(is_iso8601(str_of(dead, "failed_at")));
  const auto events = events_of(env.c, "dead");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(str_of(events[0], "job_id"), "huge");
  EXPECT_EQ(events[0].at("campaign_id").as_int64(), 901);
  EXPECT_EQ(str_of(events[0], "workspace_id"), "1");
  EXPECT_TRUE(env.wait_idle());
  EXPECT_EQ(env.c.integer({"LLEN", "queues:wa-campaigns:notify"}), 0);
}

}  // namespace
}  // namespace wa::test
