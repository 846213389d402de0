// Ill-formed UTF-8 in strings written into JSON (core/utf8.hpp, core/json_writer.hpp): one
// U+FFFD per maximal subpart (Unicode section 3.9, WHATWG's decoder), well-formed text kept.
#include "core/utf8.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "core/json_writer.hpp"

namespace {

using namespace wa::core;
namespace json = boost::json;

const std::string R = "\xEF\xBF\xBD";  // U+FFFD

// The JSON string literal of s, parsed back by a strict parser (Boost.JSON rejects ill-formed
// UTF-8), or "<invalid>" when it does not parse.
std::string json_round_trip(const std::string& s) {
  std::string out;
  append_json_string(out, s);
  boost::system::error_code ec;
  const json::value v = json::parse(out, ec);
  if (ec || !v.is_string()) return "<invalid>";
  return std::string(v.get_string());
}

TEST(Utf8Replacement, CutMultiByteCharacterAtTheEnd) {
  EXPECT_EQ(to_valid_utf8("+1555\xE2\x82"), "+1555" + R);
  EXPECT_EQ(json_round_trip("+1555\xE2\x82"), "+1555" + R);
  EXPECT_EQ(json_round_trip("\xF0\x9F\x98"), R);  // 3 of 4 bytes: one subpart
  EXPECT_EQ(json_round_trip("\xC3"), R);
}

TEST(Utf8Replacement, CutCharacterInTheMiddleKeepsTheNextOne) {
  // E2 82 then "A": the subpart E2 82 is one U+FFFD, "A" starts the next character.
  EXPECT_EQ(json_round_trip("x\xE2\x82"
                            "Ay"),
            "x" + R + "Ay");
  // A lead byte followed by another lead byte: the second starts a well-formed character.
  EXPECT_EQ(json_round_trip("\xE2\xC3\xA9"), R + "\xC3\xA9");
}

TEST(Utf8Replacement, OverlongEncodings) {
  EXPECT_EQ(json_round_trip("\xC0\x80"), R + R);  // C0, C1 never start a character
  EXPECT_EQ(json_round_trip("\xC1\xBF"), R + R);
  EXPECT_EQ(json_round_trip("\xE0\x80\xAF"), R + R + R);          // E0 needs A0-BF next
  EXPECT_EQ(json_round_trip("\xF0\x80\x80\xAF"), R + R + R + R);  // F0 needs 90-BF next
}

TEST(Utf8Replacement, Surrogates) {
  EXPECT_EQ(json_round_trip("\xED\xA0\x80"), R + R + R);  // U+D800: ED needs 80-9F next
  EXPECT_EQ(json_round_trip("a\xED\xBF\xBF"
                            "b"),
            "a" + R + R + R + "b");
  EXPECT_EQ(json_round_trip("\xED\x9F\xBF"), "\xED\x9F\xBF");  // U+D7FF is fine
}

TEST(Utf8Replacement, BytesThatNeverStartACharacter) {
  for (int b = 0xF5; b <= 0xFF; ++b) {
    const std::string s(1, static_cast<char>(b));
    EXPECT_EQ(json_round_trip("<" + s + ">"), "<" + R + ">") << b;
  }
  EXPECT_EQ(json_round_trip("\x80\xBF"), R + R);  // lone continuation bytes
  // Beyond U+10FFFF: F4 needs 80-8F next.
  EXPECT_EQ(json_round_trip("\xF4\x90\x80\x80"), R + R + R + R);
}

TEST(Utf8Replacement, WellFormedTextIsKept) {
  const std::string text =
      "a\xC3\xA9"          // é
      "\xE2\x82\xAC"       // €
      "\xF0\x9F\x98\x80"   // U+1F600
      "\xF4\x8F\xBF\xBF";  // U+10FFFF
  EXPECT_TRUE(well_formed_utf8(text));
  EXPECT_EQ(to_valid_utf8(text), text);
  EXPECT_EQ(json_round_trip(text), text);
  EXPECT_EQ(json_round_trip("q\"\n\x01"), "q\"\n\x01");  // escapes still apply
  EXPECT_FALSE(well_formed_utf8("\xE2\x82"));
}

TEST(Utf8Replacement, EveryStringTheWriterWritesIsValid) {
  std::string out;
  JsonWriter w(out);
  w.begin_object()
      .member("id", std::string("s\xFF"))
      .key(std::string("k\xE2\x82"))
      .string("\xED\xA0\x80")
      .end_object();
  boost::system::error_code ec;
  const json::value v = json::parse(out, ec);
  ASSERT_FALSE(ec) << out;
  EXPECT_EQ(v.at("id").as_string(), "s" + R);
  EXPECT_EQ(v.at("k" + R).as_string(), R + R + R);
}

TEST(Utf8Replacement, LogTextEscapesIllFormedBytesAndControls) {
  EXPECT_EQ(escaped_for_log("s\xE2\x82"), "s\\xE2\\x82");
  EXPECT_EQ(escaped_for_log("caf\xC3\xA9\n\\"), "caf\xC3\xA9\\x0A\\x5C");
  EXPECT_EQ(escaped_for_log("\xED\xA0\x80"), "\\xED\\xA0\\x80");
}

}  // namespace
