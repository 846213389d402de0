// A session hash whose uuid and phone_number hold bytes that are not UTF-8 (a multi-byte
// character cut in half by the app): the decision records stay valid JSON (U+FFFD in place of
// the bad bytes), the daemon reads its own stored decision back, switching away from that
// session works, and the session is reported once in the log.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include "e2e_util.hpp"

namespace wa::test {
namespace {

using namespace std::chrono_literals;

const std::string kCut = "\xE2\x82";              // "€" without its last byte
const std::string kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// What PHP's json_decode makes of the text: true when it decodes (not null). Skips (true) when
// php-cli is not installed.
bool php_decodes(const TempDir& dir, const std::string& text) {
  if (std::system("command -v php >/dev/null 2>&1") != 0) return true;
  const std::string file = dir.file("record.json");
  std::ofstream(file, std::ios::binary) << text;
  const std::string cmd =
      "php -r 'exit(json_decode(file_get_contents($argv[1])) === null ? 1 : 0);' " + file;
  return std::system(cmd.c_str()) == 0;
}

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++n;
  return n;
}

TEST(Utf8Session, ACutCharacterInTheUuidKeepsDecisionsReadableAndSwitchingWorking) {
  Env env;
  seed_session(env.c, {.id = "s1", .primary = true});
  seed_session(env.c, {.id = "s2"});
  env.c.cmd({"HSET", "wa:session:s1", "uuid", "uuid-" + kCut, "phone_number", "+1555" + kCut});
  push_job(
      env.c,
      R"({"job_id":"u8","campaign_id":42,"workspace_id":"1","template_mode":"direct","contacts":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20]})");
  env.start();
  auto d = wait_decision(env.c, "u8");  // parses every record: valid JSON
  ASSERT_TRUE(d) << env.log();
  ASSERT_EQ(distribution_of(*d), (std::vector<DistEntry>{{"s1", 10, "wa:dispatch:42:s1"},
                                                         {"s2", 10, "wa:dispatch:42:s2"}}));
  const std::string stored = env.c.str({"GET", "wa:campaign:42:decision"});
  const json::object o = parse_object(stored);
  EXPECT_EQ(o.at("session").at("id"), json::value("s1"));
  EXPECT_EQ(o.at("session").at("uuid"), json::value("uuid-" + kReplacement));
  EXPECT_EQ(o.at("session").at("phone_number"), json::value("+1555" + kReplacement));
  EXPECT_TRUE(php_decodes(env.dir, stored)) << stored;
  for (const auto& r : env.c.list("wa:results"))
    EXPECT_TRUE(php_decodes(env.dir, r)) << r;

  // s1's phone goes away: its contacts move to s2, read from the stored decision.
  env.c.cmd({"HSET", "wa:session:s1", "status", "disconnected"});
  ASSERT_TRUE(wait_until([&] { return !events_of(env.c, "provider_switch").empty(); }, 4s))
      << env.log();
  const auto sw = events_of(env.c, "provider_switch");
  EXPECT_EQ(str_of(sw.at(0), "from"), "s1");
  EXPECT_EQ(sw.at(0).at("moved"), json::value(10));
  EXPECT_EQ(env.c.integer({"LLEN", "wa:dispatch:42:s1"}), 0);
  EXPECT_EQ(env.c.integer({"LLEN", "wa:dispatch:42:s2"}), 20);
  const std::string after = env.c.str({"GET", "wa:campaign:42:decision"});
  EXPECT_EQ(parse_object(after).at("session").at("id"), json::value("s2"));
  EXPECT_TRUE(php_decodes(env.dir, after)) << after;

  // Reported once, naming the session and the fields, however often it is read.
  std::this_thread::sleep_for(1200ms);
  const std::string log = env.log();
  EXPECT_EQ(count_of(log, "not valid UTF-8"), 1u) << log;
  EXPECT_NE(log.find("session s1: uuid, phone_number not valid UTF-8"), std::string::npos) << log;
}

// A session id with bytes that are not UTF-8 is named escaped in the log; the decision record
// names it with U+FFFD (seed_session derives the uuid and phone_number from the id).
TEST(Utf8Session, AnIdThatIsNotUtf8IsEscapedInTheLog) {
  Env env;
  const std::string id = "s\xFF";
  seed_session(env.c, {.id = id, .primary = true});
  push_job(
      env.c,
      R"({"job_id":"u9","campaign_id":43,"workspace_id":"1","template_mode":"direct","contacts":[1,2]})");
  env.start();
  auto d = wait_decision(env.c, "u9");
  ASSERT_TRUE(d) << env.log();
  EXPECT_EQ(d->at("session").at("id"), json::value("s" + kReplacement));
  ASSERT_TRUE(wait_until([&] { return env.log().find("not valid UTF-8") != std::string::npos; }))
      << env.log();
  EXPECT_NE(env.log().find("session s\\xFF: id, uuid, phone_number not valid UTF-8"),
            std::string::npos)
      << env.log();
}

}  // namespace
}  // namespace wa::test
