// A small streaming JSON writer for the records the daemon emits. It appends to a string, puts
// the commas, escapes strings (RFC 8259), replaces ill-formed UTF-8 in them by U+FFFD (so that
// the output is valid JSON whatever bytes it is given) and never emits NaN or infinities (they
// become null).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wa::core {

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view k);
  // A key that is a string literal of the caller's is copied as it is, not escaped byte by
  // byte (keys are 6 % of the daemon's CPU in a drain otherwise); such a literal must need no
  // escape (checked in debug builds). Its length is the literal's (folded at compile time), so
  // a char array holding a shorter string is cut at its NUL, as it would be as a string_view.
  template <std::size_t N>
  JsonWriter& key(const char (&k)[N]) {
    return literal_key(std::string_view(k));
  }
  JsonWriter& string(std::string_view s);
  JsonWriter& number(std::int64_t v);
  JsonWriter& number(std::uint64_t v);
  JsonWriter& number(int v) { return number(static_cast<std::int64_t>(v)); }
  JsonWriter& number(double v);
  JsonWriter& boolean(bool v);
  JsonWriter& null();
  // Text that is already JSON (a number or an echoed value).
  JsonWriter& raw(std::string_view json);

  template <typename T>
  JsonWriter& member(std::string_view k, const T& v) {
    key(k);
    return value(v);
  }
  template <std::size_t N, typename T>
  JsonWriter& member(const char (&k)[N], const T& v) {
    key(k);
    return value(v);
  }

 private:
  JsonWriter& value(std::string_view s) { return string(s); }
  JsonWriter& value(const std::string& s) { return string(s); }
  JsonWriter& value(const char* s) { return string(s); }
  JsonWriter& value(bool v) { return boolean(v); }
  JsonWriter& value(int v) { return number(v); }
  JsonWriter& value(std::int64_t v) { return number(v); }
  JsonWriter& value(std::uint64_t v) { return number(v); }
  JsonWriter& value(double v) { return number(v); }
  void separate();
  JsonWriter& literal_key(std::string_view k);

  std::string& out_;
  std::vector<bool> first_;  // per open container: no element written yet
  bool after_key_ = false;
};

// Appends s as a JSON string literal (with quotes); ill-formed UTF-8 becomes U+FFFD (utf8.hpp).
void append_json_string(std::string& out, std::string_view s);

}  // namespace wa::core
