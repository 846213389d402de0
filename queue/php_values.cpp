#include "queue/php_values.hpp"

#include <algorithm>
#include <charconv>

namespace wa::queue {

namespace {

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// `s:N:"…";`: the N bytes between the quotes.
std::optional<std::string_view> php_string(std::string_view v) {
  const std::size_t colon = v.find(':', 2);
  if (colon == std::string_view::npos || !all_digits(v.substr(2, colon - 2))) return std::nullopt;
  std::size_t len = 0;
  const auto r = std::from_chars(v.data() + 2, v.data() + colon, len);
  if (r.ec != std::errc() || r.ptr != v.data() + colon) return std::nullopt;
  const std::size_t start = colon + 2;  // after :"
  if (v.size() < start || v[colon + 1] != '"' || v.size() - start != len + 2) return std::nullopt;
  if (v.substr(start + len) != "\";") return std::nullopt;
  return v.substr(start, len);
}

// A value in a log line: at most 80 bytes of it.
std::string shown(std::string_view v) {
  constexpr std::size_t kShown = 80;
  return v.size() <= kShown ? std::string(v) : std::string(v.substr(0, kShown)) + "...";
}

}  // namespace

std::optional<std::string_view> php_serialized_scalar(std::string_view v) {
  if (v == "N;") return v.substr(0, 0);
  if (v.size() < 4 || v[1] != ':' || v.back() != ';') return std::nullopt;
  const std::string_view body = v.substr(2, v.size() - 3);
  switch (v[0]) {
    case 's':
      return php_string(v);
    case 'i': {
      const std::string_view digits = body.starts_with('-') ? body.substr(1) : body;
      if (all_digits(digits)) return body;
      return std::nullopt;
    }
    case 'd':
      if (!body.empty() && body.find_first_not_of("0123456789.eE+-INFA") == std::string_view::npos)
        return body;
      return std::nullopt;
    case 'b':
      if (body == "0" || body == "1") return body;
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

std::string php_serialized_warning(std::string_view key, std::string_view what,
                                   std::string_view raw) {
  std::string w(key);
  w += ": ";
  w += what;
  w += " holds a PHP-serialized value (";
  w += shown(raw);
  w += "): set Laravel's phpredis 'serializer' option to none (Redis::SERIALIZER_NONE) for the "
       "connection wa-router shares";
  return w;
}

void PhpValues::warn(std::string_view key, std::string_view what, std::string_view raw,
                     std::string_view plain) {
  if (!warnings.empty() && last_key_ == key) return;
  last_key_ = std::string(key);
  warnings.push_back(php_serialized_warning(key, what, raw) + "; read as \"" + shown(plain) +
                     "\" meanwhile");
}

std::string_view PhpValues::member(std::string_view key, std::string_view v) {
  const auto plain = php_serialized_scalar(v);
  if (!plain) return v;
  warn(key, "member", v, *plain);
  return *plain;
}

void PhpValues::fields(std::string_view key, Fields& f) {
  for (auto& [name, value] : f) {
    const auto plain = php_serialized_scalar(value);
    if (!plain) continue;
    warn(key, "field " + std::string(name), value, *plain);
    value = *plain;
  }
}

}  // namespace wa::queue
