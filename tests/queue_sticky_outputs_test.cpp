// Section 10's writes as commands (queue/outputs): HSETs for the contacts a webjs plan sends to a
// session, none for Meta, none for contacts whose entry already names their session, and never
// more than kStickyFieldsPerCommand fields per command.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "queue/outputs.hpp"

namespace {

using namespace wa;
using ::testing::ElementsAre;

core::JobPlan webjs_plan(std::uint64_t a, std::uint64_t b) {
  core::JobPlan p;
  p.type = core::DecisionType::webjs;
  p.dispatch = {{"s1", {0, 1, a}}, {"s2", {a, 1, b}}};
  return p;
}

std::vector<std::string> ids(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i)
    out.push_back("c" + std::to_string(i));
  return out;
}

TEST(StickyOutputs, EveryContactOfASessionIsWritten) {
  queue::TxJob o;
  queue::add_sticky(o, webjs_plan(2, 1), ids(3), "wa:sticky:1", nullptr);
  ASSERT_EQ(o.writes.size(), 1u);
  EXPECT_THAT(o.writes[0], ElementsAre("HSET", "wa:sticky:1", "c0", "s1", "c1", "s1", "c2", "s2"));
}

TEST(StickyOutputs, MetaPlansWriteNothing) {
  core::JobPlan p;
  p.type = core::DecisionType::meta_api;
  p.dispatch = {{"meta_api", {0, 1, 3}}};
  queue::TxJob o;
  queue::add_sticky(o, p, ids(3), "wa:sticky:1", nullptr);
  EXPECT_TRUE(o.writes.empty());
}

TEST(StickyOutputs, EntriesThatAlreadyNameTheSessionAreNotWrittenAgain) {
  // c0 is sticky to s1 (kept), c2 to s1 but sent to s2 (rewritten), c1 has no entry.
  core::StickyContacts sc{{"s1"}, {0, core::kNotSticky, 0}, ""};
  queue::TxJob o;
  queue::add_sticky(o, webjs_plan(2, 1), ids(3), "wa:sticky:1", &sc);
  ASSERT_EQ(o.writes.size(), 1u);
  EXPECT_THAT(o.writes[0], ElementsAre("HSET", "wa:sticky:1", "c1", "s1", "c2", "s2"));
}

TEST(StickyOutputs, CommandsAreBounded) {
  const auto cs = ids(1201);
  queue::TxJob o;
  queue::add_sticky(o, webjs_plan(600, 601), cs, "k", nullptr);
  ASSERT_EQ(o.writes.size(), 3u);
  std::size_t fields = 0;
  for (const auto& w : o.writes) {
    EXPECT_LE(w.size(), 2 + 2 * queue::kStickyFieldsPerCommand);
    fields += (w.size() - 2) / 2;
  }
  EXPECT_EQ(fields, cs.size());
}

TEST(StickyOutputs, OwnedPlansFollowTheirOwner) {
  core::JobPlan p = webjs_plan(1, 2);
  p.dispatch[0].slice = {0, 0, 1};
  p.dispatch[1].slice = {0, 0, 2};
  p.owner = {1, 0, 1};
  EXPECT_THAT(queue::owners_of(p, 3), ElementsAre(1, 0, 1));
  queue::TxJob o;
  queue::add_sticky(o, p, ids(3), "k", nullptr);
  ASSERT_EQ(o.writes.size(), 1u);
  EXPECT_THAT(o.writes[0], ElementsAre("HSET", "k", "c0", "s2", "c1", "s1", "c2", "s2"));
}

}  // namespace
