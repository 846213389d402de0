#include "core/utf8.hpp"

namespace wa::core {

namespace {

struct Lead {
  unsigned char size;    // bytes of the sequence this byte starts; 0: it starts none
  unsigned char lo, hi;  // the range of the second byte
};

// Unicode table 3-7: the second byte's range excludes overlong forms (E0, F0), surrogates (ED)
// and code points beyond U+10FFFF (F4).
constexpr Lead lead_of(unsigned char c) noexcept {
  if (c >= 0xC2 && c <= 0xDF) return {2, 0x80, 0xBF};
  if (c == 0xE0) return {3, 0xA0, 0xBF};
  if (c == 0xED) return {3, 0x80, 0x9F};
  if (c >= 0xE1 && c <= 0xEF) return {3, 0x80, 0xBF};
  if (c == 0xF0) return {4, 0x90, 0xBF};
  if (c >= 0xF1 && c <= 0xF3) return {4, 0x80, 0xBF};
  if (c == 0xF4) return {4, 0x80, 0x8F};
  return {0, 0, 0};
}

}  // namespace

Utf8Step utf8_step(std::string_view s, std::size_t i) noexcept {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return {1, true};
  const Lead lead = lead_of(c);
  if (lead.size == 0) return {1, false};
  // The sequence is cut at the first byte that cannot continue it (or at the end): what comes
  // before is its maximal subpart, one U+FFFD; that byte starts the next step.
  std::size_t k = 1;
  for (; k < lead.size && i + k < s.size(); ++k) {
    const unsigned char b = byte(i + k);
    const unsigned char lo = k == 1 ? lead.lo : 0x80;
    const unsigned char hi = k == 1 ? lead.hi : 0xBF;
    if (b < lo || b > hi) return {k, false};
  }
  return {k, k == lead.size};
}

void append_valid_utf8(std::string& out, std::string_view s) {
  std::size_t run = 0;  // start of the pending run of well-formed bytes
  for (std::size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const Utf8Step step = utf8_step(s, i);
    if (!step.valid) {
      out.append(s.data() + run, i - run);
      out.append(kReplacementCharacter);
      run = i + step.size;
    }
    i += step.size;
  }
  out.append(s.data() + run, s.size() - run);
}

std::string to_valid_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  append_valid_utf8(out, s);
  return out;
}

bool well_formed_utf8(std::string_view s) noexcept {
  for (std::size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const Utf8Step step = utf8_step(s, i);
    if (!step.valid) return false;
    i += step.size;
  }
  return true;
}

std::string escaped_for_log(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  const auto escape = [&](unsigned char c) {
    out += "\\x";
    out.push_back(hex[c >> 4]);
    out.push_back(hex[c & 0xF]);
  };
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7F || c == '\\') {
        escape(c);
      } else {
        out.push_back(static_cast<char>(c));
      }
      ++i;
      continue;
    }
    const Utf8Step step = utf8_step(s, i);
    for (std::size_t k = 0; k < step.size; ++k) {
      if (step.valid) {
        out.push_back(s[i + k]);
      } else {
        escape(static_cast<unsigned char>(s[i + k]));
      }
    }
    i += step.size;
  }
  return out;
}

}  // namespace wa::core
