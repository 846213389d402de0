// UTF-8 well-formedness (Unicode 15, table 3-7) and the replacement of ill-formed sequences by
// U+FFFD, one per "maximal subpart" (Unicode section 3.9, the practice WHATWG's decoder follows):
// every string the daemon writes into JSON is valid UTF-8, whatever bytes it was given.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace wa::core {

// The UTF-8 encoding of U+FFFD REPLACEMENT CHARACTER.
inline constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";

// One step of decoding at s[i] (i < s.size()): `size` bytes form one well-formed character
// (`valid`), or a maximal subpart of one (or a byte that starts none) to replace with one U+FFFD.
struct Utf8Step {
  std::size_t size = 1;
  bool valid = true;
};
Utf8Step utf8_step(std::string_view s, std::size_t i) noexcept;

// Appends s with every ill-formed sequence replaced by U+FFFD.
void append_valid_utf8(std::string& out, std::string_view s);
std::string to_valid_utf8(std::string_view s);

bool well_formed_utf8(std::string_view s) noexcept;

// s for a log line: well-formed UTF-8 is kept; control characters, the backslash and the bytes
// of ill-formed sequences are written as \xNN.
std::string escaped_for_log(std::string_view s);

}  // namespace wa::core
