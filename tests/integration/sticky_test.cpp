// Sticky senders (CONTRACT.md section 10) against a real redis-server: a contact keeps the
// session that last wrote to it, across campaigns (inline, big inline and contacts_key), unless
// that session is no longer eligible; switching rewrites it; Meta and sticky_sender: false leave
// wa:sticky:<workspace> alone.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "e2e_util.hpp"
#include "harness.hpp"

namespace wa::test {
namespace {

using Strings = std::vector<std::string>;
using Owners = std::map<std::string, std::string>;  // contact -> session
using namespace std::chrono_literals;

std::string job(const std::string& id, int campaign, const std::string& contacts,
                const std::string& extra = "") {
  return R"({"job_id":")" + id + R"(","campaign_id":)" + std::to_string(campaign) +
         R"(,"workspace_id":"1","template_mode":"direct",)" + extra + contacts + "}";
}

std::string inline_contacts(const Strings& cs) {
  std::string out = R"("contacts":[)";
  for (std::size_t i = 0; i < cs.size(); ++i)
    out += (i ? ",\"" : "\"") + cs[i] + "\"";
  return out + "]";
}

Strings numbered(const std::string& stem, int from, int to) {
  Strings out;
  for (int i = from; i <= to; ++i)
    out.push_back(stem + std::to_string(i));
  return out;
}

void push_list(Client& c, const std::string& key, const Strings& all) {
  for (std::size_t i = 0; i < all.size(); i += 1000) {
    Strings args{"RPUSH", key};
    args.insert(args.end(), all.begin() + static_cast<long>(i),
                all.begin() + static_cast<long>(std::min(all.size(), i + 1000)));
    c.cmd(args);
  }
}

// Where each contact of the campaign went, from its dispatch lists; checks that every contact of
// `input` is in exactly one list and that each list keeps the input order.
Owners owners_of(Client& c, int campaign, const Strings& sessions, const Strings& input) {
  Owners out;
  std::map<std::string, std::size_t> position;
  for (std::size_t i = 0; i < input.size(); ++i)
    position.emplace(input[i], i);
  std::size_t total = 0;
  for (const std::string& s : sessions) {
    const Strings list = c.list("wa:dispatch:" + std::to_string(campaign) + ":" + s);
    total += list.size();
    for (std::size_t i = 0; i < list.size(); ++i) {
      EXPECT_TRUE(out.emplace(list[i], s).second) << list[i] << " twice";
      if (i > 0) {
        EXPECT_LT(position[list[i - 1]], position[list[i]]) << s << " out of order";
      }
    }
  }
  EXPECT_EQ(total, input.size());
  return out;
}

Owners sticky_hash(Client& c, const std::string& ws = "1") {
  const Strings kv = c.cmd({"HGETALL", "wa:sticky:" + ws}).strings();
  Owners out;
  for (std::size_t i = 0; i + 1 < kv.size(); i += 2)
    out[kv[i]] = kv[i + 1];
  return out;
}

void two_sessions(Env& env) {
  pin_health(env.c);
  seed_session(env.c, {.id = "s1", .primary = true, .health = 90});
  seed_session(env.c, {.id = "s2", .health = 70});
}

// The contacts of `second` that were in `first` went to the same session.
void expect_same_sessions(const Owners& first, const Owners& second) {
  std::size_t common = 0;
  for (const auto& [contact, session] : second) {
    const auto it = first.find(contact);
    if (it == first.end()) continue;
    ++common;
    EXPECT_EQ(session, it->second) << contact;
  }
  EXPECT_EQ(common, first.size());
}

TEST(Sticky, ASecondInlineCampaignToTheSameContactsGoesToTheSameSessions) {
  Env env;
  two_sessions(env);
  const Strings first = numbered("c", 1, 20);
  Strings second(first.rbegin(), first.rend());
  for (const auto& x : numbered("n", 1, 4))
    second.push_back(x);
  push_job(env.c, job("j1", 71, inline_contacts(first)));
  env.start();
  ASSERT_TRUE(wait_decision(env.c, "j1")) << env.log();
  const Owners one = owners_of(env.c, 71, {"s1", "s2"}, first);
  ASSERT_EQ(sticky_hash(env.c), one);
  std::set<std::string> used;
  for (const auto& [c, s] : one)
    used.insert(s);
  ASSERT_EQ(used.size(), 2u) << "both sessions take part";

  push_job(env.c, job("j2", 72, inline_contacts(second)));
  ASSERT_TRUE(wait_decision(env.c, "j2")) << env.log();
  const Owners two = owners_of(env.c, 72, {"s1", "s2"}, second);
  expect_same_sessions(one, two);
  EXPECT_EQ(sticky_hash(env.c), two);
}

// Inline jobs of more than 2,000 contacts are staged with stickiness on (their HSETs outside the
// transaction), and of more than 10,000 always.
TEST(Sticky, BigInlineCampaignsAreStagedStickyToo) {
  for (const int n : {3000, 10500}) {
    SCOPED_TRACE(n);
    Env env;
    two_sessions(env);
    const Strings first = numbered("c", 1, n);
    const Strings second(first.rbegin(), first.rend());
    push_job(env.c, job("j1", 73, inline_contacts(first)));
    env.start();
    ASSERT_TRUE(wait_decision(env.c, "j1", 0, 20s)) << env.log();
    const Owners one = owners_of(env.c, 73, {"s1", "s2"}, first);
    ASSERT_EQ(sticky_hash(env.c), one);
    push_job(env.c, job("j2", 74, inline_contacts(second)));
    ASSERT_TRUE(wait_decision(env.c, "j2", 0, 20s)) << env.log();
    expect_same_sessions(one, owners_of(env.c, 74, {"s1", "s2"}, second));
    EXPECT_EQ(env.c.cmd({"KEYS", "wa:staging:*"}).strings(), Strings{});
  }
}

TEST(Sticky, AContactsKeyCampaignReadsAndWritesStickinessInChunks) {
  Env env;
  two_sessions(env);
  // Several LRANGE chunks of the sticky read (the last one partial), each several HMGETs.
  const Strings first = numbered("k", 1, 12345);
  Strings second(first.rbegin(), first.rend());
  for (const auto& x : numbered("n", 1, 100))
    second.push_back(x);
  push_list(env.c, "list:a", first);
  push_list(env.c, "list:b", second);
  push_job(env.c, job("j1", 75, R"("contacts_key":"list:a")"));
  env.start();
  ASSERT_TRUE(wait_decision(env.c, "j1", 0, 20s)) << env.log();
  const Owners one = owners_of(env.c, 75, {"s1", "s2"}, first);
  ASSERT_EQ(sticky_hash(env.c), one);
  push_job(env.c, job("j2", 76, R"("contacts_key":"list:b")"));
  ASSERT_TRUE(wait_decision(env.c, "j2", 0, 20s)) << env.log();
  const Owners two = owners_of(env.c, 76, {"s1", "s2"}, second);
  expect_same_sessions(one, two);
  EXPECT_EQ(sticky_hash(env.c), two);
}

TEST(Sticky, ContactsOfASessionNoLongerEligibleAreSpreadAndTheHashRewritten) {
  Env env;
  two_sessions(env);
  seed_session(env.c, {.id = "s3", .status = "disconnected", .health = 95});
  for (const auto& c : numbered("c", 1, 5))
    env.c.cmd({"HSET", "wa:sticky:1", c, "s3"});
  push_job(env.c, job("j1", 77, inline_contacts(numbered("c", 1, 10))));
  push_job(env.c, job("j2", 78, inline_contacts(numbered("d", 1, 10))));
  env.start();
  const auto d1 = wait_decision(env.c, "j1");
  const auto d2 = wait_decision(env.c, "j2");
  ASSERT_TRUE(d1 && d2) << env.log();
  // Dealt as fresh contacts are (d1..d10 were never sticky).
  auto dist2 = distribution_of(*d2);
  for (auto& e : dist2)
    e.key.replace(e.key.find(":78:"), 4, ":77:");
  EXPECT_EQ(distribution_of(*d1), dist2);
  const Owners one = owners_of(env.c, 77, {"s1", "s2", "s3"}, numbered("c", 1, 10));
  const Owners hash = sticky_hash(env.c);
  for (const auto& [c, s] : one) {
    EXPECT_NE(s, "s3");
    EXPECT_EQ(hash.at(c), s) << c;
  }
}

TEST(Sticky, SwitchingRewritesTheMovedContacts) {
  Env env;
  seed_session(env.c, {.id = "s1", .primary = true});
  seed_session(env.c, {.id = "s2"});
  push_job(env.c, job("sw", 42, inline_contacts(numbered("", 1, 20))));
  env.start();
  ASSERT_TRUE(wait_decision(env.c, "sw")) << env.log();
  ASSERT_EQ(env.c.integer({"LLEN", "wa:dispatch:42:s2"}), 10);
  EXPECT_EQ(env.c.str({"HGET", "wa:sticky:1", "14"}), "s2");
  const Strings sent = env.c.cmd({"LPOP", "wa:dispatch:42:s2", "3"}).strings();
  ASSERT_EQ(sent, (Strings{"11", "12", "13"}));
  env.c.cmd({"HSET", "wa:session:s2", "status", "disconnected"});
  ASSERT_TRUE(wait_until([&] { return !events_of(env.c, "provider_switch").empty(); }, 4s))
      << env.log();
  const Owners hash = sticky_hash(env.c);
  for (const auto& c : numbered("", 1, 10))
    EXPECT_EQ(hash.at(c), "s1") << c;
  for (const auto& c : sent)  // sent by s2 before it went away: its conversation
    EXPECT_EQ(hash.at(c), "s2") << c;
  for (const auto& c : numbered("", 14, 20))
    EXPECT_EQ(hash.at(c), "s1") << c;
}

TEST(Sticky, OffItWritesNoKeyAndDealsAsBefore) {
  Env env;
  two_sessions(env);
  for (const auto& c : numbered("c", 1, 10))
    env.c.cmd({"HSET", "wa:sticky:1", c, "s2"});
  push_job(env.c, job("j1", 79, inline_contacts(numbered("c", 1, 10))));
  push_job(
      env.c,
      R"({"job_id":"j2","campaign_id":80,"workspace_id":"2","template_mode":"direct","contacts":["x1","x2"]})");
  seed_session(env.c, {.id = "t1", .workspace = "2", .primary = true, .health = 90});
  env.start(kFastConfig + "selection: {sticky_sender: false}\n");
  const auto d = wait_decision(env.c, "j1");
  ASSERT_TRUE(d) << env.log();
  ASSERT_TRUE(wait_decision(env.c, "j2")) << env.log();
  // Today's blocks in input order: s1 (health 90) the first, s2 the rest.
  const Strings s1 = env.c.list("wa:dispatch:79:s1");
  ASSERT_FALSE(s1.empty());
  EXPECT_EQ(s1, numbered("c", 1, static_cast<int>(s1.size())));
  EXPECT_EQ(env.c.list("wa:dispatch:79:s2"), numbered("c", static_cast<int>(s1.size()) + 1, 10));
  EXPECT_EQ(env.c.cmd({"KEYS", "wa:sticky:*"}).strings(), (Strings{"wa:sticky:1"}));
  EXPECT_EQ(env.c.integer({"HLEN", "wa:sticky:1"}), 10);
  for (const auto& [c, s] : sticky_hash(env.c))
    EXPECT_EQ(s, "s2") << c;
}

TEST(Sticky, AMetaDecisionNeitherReadsNorWritesTheHash) {
  Env env;
  pin_health(env.c);
  seed_meta(env.c, "1", true);
  env.c.cmd({"HSET", "wa:sticky:1", "c1", "s9"});
  push_job(env.c, job("m", 81, inline_contacts(numbered("c", 1, 5)),
                      R"("template":{"status":"APPROVED"},)"));
  env.start();
  const auto d = wait_decision(env.c, "m");
  ASSERT_TRUE(d) << env.log();
  ASSERT_EQ(str_of(*d, "type"), "meta_api");
  EXPECT_EQ(env.c.list("wa:dispatch:81:meta_api"), numbered("c", 1, 5));
  EXPECT_EQ(sticky_hash(env.c), (Owners{{"c1", "s9"}}));
  EXPECT_EQ(env.c.cmd({"KEYS", "wa:sticky:*"}).strings(), (Strings{"wa:sticky:1"}));
}

// The app (or an operator) left another type at the key: stickiness reads as none, nothing is
// written to it (a failed write would send a dispatched job to dead), a warning names the key,
// and every campaign is decided and dispatched whole.
TEST(Sticky, AStickyKeyOfAnotherTypeHoldsNoCampaign) {
  Env env;
  two_sessions(env);
  env.c.cmd({"SET", "wa:sticky:1", "not a hash"});
  const Strings listed = numbered("k", 1, 6000);
  push_list(env.c, "list:a", listed);
  push_job(env.c, job("j1", 82, inline_contacts(numbered("c", 1, 10))));
  push_job(env.c, job("j2", 83, R"("contacts_key":"list:a")"));
  env.start();
  const auto d1 = wait_decision(env.c, "j1", 0, 20s);
  ASSERT_TRUE(d1) << env.log();
  EXPECT_EQ(str_of(*d1, "type"), "webjs");
  (void)owners_of(env.c, 82, {"s1", "s2"}, numbered("c", 1, 10));
  ASSERT_TRUE(wait_decision(env.c, "j2", 0, 20s)) << env.log();
  (void)owners_of(env.c, 83, {"s1", "s2"}, listed);
  EXPECT_EQ(env.c.str({"GET", "wa:sticky:1"}), "not a hash");
  EXPECT_EQ(env.c.integer({"LLEN", "queues:wa-campaigns:dead"}), 0) << env.log();
  EXPECT_NE(env.log().find("job j1: wa:sticky:1 cannot be read (WRONGTYPE"), std::string::npos)
      << env.log();
}

}  // namespace
}  // namespace wa::test
