// The app's phpredis client with Laravel's 'serializer' option on writes hash values, set members
// and list elements PHP-serialized (`s:9:"connected";`, `i:7;`). The daemon decodes the simple
// scalars it finds in the app's session and Meta hashes and in the workspace and session sets, so
// that campaigns are still served, and logs a warning naming the key and the option to turn off.
// An event list element so written is dropped as malformed, with the same advice.
#include <gtest/gtest.h>

#include "e2e_util.hpp"

namespace wa::test {
namespace {

const std::string P = "laravel_database_";

// PHP's serialize() of a string and of an integer.
std::string php_s(const std::string& v) {
  return "s:" + std::to_string(v.size()) + ":\"" + v + "\";";
}
std::string php_i(long long v) {
  return "i:" + std::to_string(v) + ";";
}

// What SessionMirror::mirrorSession writes through a serializing phpredis client.
void seed_serialized_session(Client& c) {
  const long long now = now_seconds();
  c.cmd({"HSET",
         P + "wa:session:s-7-a",
         "workspace_id",
         php_i(7),
         "uuid",
         php_s("uuid-a"),
         "phone_number",
         php_s("+15550001"),
         "provider_type",
         php_s("webjs"),
         "status",
         php_s("connected"),
         "is_active",
         php_i(1),
         "is_primary",
         php_i(1),
         "created_at",
         php_i(now - 86400),
         "last_connected_at",
         php_i(now - 86400),
         "last_activity_at",
         php_i(now - 60)});
  c.cmd({"SADD", P + "wa:workspace:7:sessions", php_s("s-7-a")});
  c.cmd({"SADD", P + "wa:workspaces", php_i(7)});
  c.cmd({"HSET", P + "wa:workspace:7:meta", "configured", php_i(0)});
}

TEST(PhpSerialized, ASerializedSessionIsReadAndTheOptionNamed) {
  Env env;
  seed_serialized_session(env.c);
  env.start("redis: {unix_socket: \"" + env.redis.socket() + "\", prefix: " + P + "}\n" +
            kFastConfig);
  push_job(env.c,
           R"({"job_id":"ser-1","campaign_id":42,"workspace_id":7,"template_mode":"direct",)"
           R"("contacts":[1,2],"attempts":0})",
           P);
  const auto d = wait_decision(env.c, "ser-1", 0, std::chrono::seconds(8), P);
  ASSERT_TRUE(d) << env.log();
  EXPECT_EQ(str_of(*d, "type"), "webjs") << json::serialize(*d) << env.log();
  EXPECT_EQ(str_of(*d, "reason"), "primary_session") << json::serialize(*d);
  EXPECT_EQ(env.c.list(P + "wa:dispatch:42:s-7-a"), (std::vector<std::string>{"1", "2"}));

  // The health cycle reads the same data: the session gets its score.
  ASSERT_TRUE(wait_until([&] {
    return env.log().find("health: " + P + "wa:workspaces: member holds") != std::string::npos;
  })) << env.log();
  EXPECT_FALSE(env.c.str({"HGET", P + "wa:session:s-7-a", "health_score"}).empty());
  const std::string log = env.log();
  EXPECT_NE(log.find(P + R"(wa:session:s-7-a: field workspace_id holds a PHP-serialized value )"
                         R"((i:7;): set Laravel's phpredis 'serializer' option to none )"
                         R"((Redis::SERIALIZER_NONE) for the connection wa-router shares)"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find(P + R"(wa:workspace:7:sessions: member holds a PHP-serialized value )"
                         R"((s:5:"s-7-a";))"),
            std::string::npos)
      << log;
  EXPECT_EQ(log.find("is missing"), std::string::npos) << log;
}

TEST(PhpSerialized, ASerializedEventIsDroppedNamingTheOption) {
  Env env;
  env.start();
  env.c.cmd(
      {"RPUSH", "wa:events",
       php_s(R"({"session_id":"s1","workspace_id":"1","provider":"webjs","status":"sent"})")});
  ASSERT_TRUE(wait_until([&] { return env.c.integer({"LLEN", "wa:events"}) == 0; })) << env.log();
  ASSERT_TRUE(wait_until([&] {
    return env.log().find("wa:events: an event holds a PHP-serialized value") != std::string::npos;
  })) << env.log();
  EXPECT_NE(env.log().find("Redis::SERIALIZER_NONE"), std::string::npos) << env.log();
}

}  // namespace
}  // namespace wa::test
