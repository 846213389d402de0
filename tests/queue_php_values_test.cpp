// Values the app's phpredis client serialized (Laravel's 'serializer' option): the simple
// scalars are recognised exactly and decoded, and each key is reported once, naming the option.
#include <gtest/gtest.h>

#include "queue/php_values.hpp"

namespace wa::queue {
namespace {

TEST(PhpValues, DecodesPhpSerializedScalars) {
  EXPECT_EQ(php_serialized_scalar(R"(s:9:"connected";)"), "connected");
  EXPECT_EQ(php_serialized_scalar(R"(s:0:"";)"), "");
  EXPECT_EQ(php_serialized_scalar(R"(s:4:"a";b";)"), R"(a";b)");  // N bytes, quotes included
  EXPECT_EQ(php_serialized_scalar("i:1764072000;"), "1764072000");
  EXPECT_EQ(php_serialized_scalar("i:-3;"), "-3");
  EXPECT_EQ(php_serialized_scalar("d:0.5;"), "0.5");
  EXPECT_EQ(php_serialized_scalar("b:1;"), "1");
  EXPECT_EQ(php_serialized_scalar("b:0;"), "0");
  EXPECT_EQ(php_serialized_scalar("N;"), "");
}

TEST(PhpValues, LeavesEverythingElseAlone) {
  for (const char* v :
       {"connected", "1", "1764072000", "", "s:9:\"connected\"", "s:8:\"connected\";",
        "s:10:\"connected\";", "s:x:\"a\";", "i:;", "i:1.5;", "i:-;", "b:2;", "a:0:{}",
        R"({"status":"sent"})", "s:1:\"a\"x", "d:;", "O:8:\"stdClass\":0:{}"}) {
    EXPECT_FALSE(php_serialized_scalar(v)) << v;
  }
}

TEST(PhpValues, DecodesHashesAndMembersAndReportsEachKeyOnce) {
  PhpValues php;
  Fields f{{"status", R"(s:9:"connected";)"}, {"is_active", "i:1;"}, {"uuid", "u-1"}};
  php.fields("app_wa:session:s1", f);
  EXPECT_EQ(f[0].second, "connected");
  EXPECT_EQ(f[1].second, "1");
  EXPECT_EQ(f[2].second, "u-1");
  EXPECT_EQ(php.member("app_wa:workspace:7:sessions", R"(s:2:"s1";)"), "s1");
  EXPECT_EQ(php.member("app_wa:workspace:7:sessions", R"(s:2:"s2";)"), "s2");
  EXPECT_EQ(php.member("app_wa:workspace:7:sessions", "s3"), "s3");
  ASSERT_EQ(php.warnings.size(), 2u);
  EXPECT_EQ(php.warnings[0],
            R"(app_wa:session:s1: field status holds a PHP-serialized value (s:9:"connected";): )"
            R"(set Laravel's phpredis 'serializer' option to none (Redis::SERIALIZER_NONE) for )"
            R"(the connection wa-router shares; read as "connected" meanwhile)");
  EXPECT_NE(php.warnings[1].find(R"(app_wa:workspace:7:sessions: member holds a PHP-serialized)"),
            std::string::npos)
      << php.warnings[1];
}

}  // namespace
}  // namespace wa::queue
