#include <charconv>
#include <cmath>
#include <cstdio>
#include <iostream>

#include "cli/cli.hpp"
#include "core/events.hpp"

namespace wa::cli {

namespace json = boost::json;

const config::Config& Context::config() {
  if (!cfg_) cfg_ = config::load_from_file(path_);
  return *cfg_;
}

const queue::Keys& Context::keys() {
  if (!keys_) keys_.emplace(config().redis.prefix, config().queue.name);
  return *keys_;
}

SyncRedis& Context::redis() {
  if (!redis_) redis_ = std::make_unique<SyncRedis>(config().redis, std::chrono::seconds(10));
  return *redis_;
}

namespace {

// Boost.JSON 1.81 writes doubles as 8.5E1; this writes the shortest round-trip form (85, 88.5).
void write_json(std::string& out, const json::value& v) {
  switch (v.kind()) {
    case json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& [k, e] : v.get_object()) {
        if (!first) out += ',';
        first = false;
        out += json::serialize(json::string_view(k));
        out += ':';
        write_json(out, e);
      }
      out += '}';
      break;
    }
    case json::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& e : v.get_array()) {
        if (!first) out += ',';
        first = false;
        write_json(out, e);
      }
      out += ']';
      break;
    }
    case json::kind::double_: {
      const double d = v.get_double();
      if (!std::isfinite(d)) {
        out += "null";
        break;
      }
      char buf[64];
      const auto r = std::to_chars(buf, buf + sizeof buf, d);
      out.append(buf, r.ptr);
      break;
    }
    default:
      out += json::serialize(v);
  }
}

}  // namespace

std::string to_json(const json::value& v) {
  std::string out;
  write_json(out, v);
  return out;
}

void print_json(const json::value& v) {
  std::cout << to_json(v) << "\n";
}

json::value id_json(const core::Id& id) {
  if (id.numeric) {
    std::int64_t n = 0;
    const auto r = std::from_chars(id.text.data(), id.text.data() + id.text.size(), n);
    if (r.ec == std::errc() && r.ptr == id.text.data() + id.text.size()) return n;
  }
  return json::string(id.text);
}

std::string fixed(std::optional<double> v, int decimals, std::string_view suffix) {
  if (!v) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, *v);
  return std::string(buf) + std::string(suffix);
}

namespace {

bool digits(std::string_view s, std::size_t at, std::size_t n, int& out) {
  if (at + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

// "YYYY-MM-DD" at the start of `s`; nullopt when malformed, `real` false for e.g. 2026-02-30.
std::optional<std::chrono::year_month_day> date_prefix(std::string_view s) {
  int y = 0, m = 0, d = 0;
  if (s.size() < 10 || s[4] != '-' || s[7] != '-' || !digits(s, 0, 4, y) || !digits(s, 5, 2, m) ||
      !digits(s, 8, 2, d)) {
    return std::nullopt;
  }
  return std::chrono::year_month_day{std::chrono::year{y},
                                     std::chrono::month{static_cast<unsigned>(m)},
                                     std::chrono::day{static_cast<unsigned>(d)}};
}

}  // namespace

Day parse_day(std::string_view text, std::string_view what) {
  const auto ymd = text.size() == 10 ? date_prefix(text) : std::nullopt;
  if (!ymd) {
    throw UsageError(std::string(what) + ": expected a date YYYY-MM-DD, got \"" +
                     std::string(text) + "\"");
  }
  if (!ymd->ok()) {
    throw UsageError(std::string(what) + ": " + std::string(text) + " is not a calendar date");
  }
  return std::chrono::sys_days(*ymd).time_since_epoch().count();
}

std::string format_day(Day d) {
  return core::utc_day(static_cast<double>(d) * 86400.0);  // the daemon's own day names
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

Day today_utc() {
  return std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now())
      .time_since_epoch()
      .count();
}

std::optional<double> parse_iso8601(std::string_view s) {
  const auto ymd = date_prefix(s);
  int hh = 0, mm = 0, ss = 0;
  if (!ymd || !ymd->ok() || s.size() < 20 || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
      !digits(s, 11, 2, hh) || !digits(s, 14, 2, mm) || !digits(s, 17, 2, ss) || s.back() != 'Z') {
    return std::nullopt;
  }
  double frac = 0;
  std::string_view rest = s.substr(19, s.size() - 20);
  if (!rest.empty()) {
    if (rest.front() != '.' || rest.size() < 2) return std::nullopt;
    double scale = 0.1;
    for (const char c : rest.substr(1)) {
      if (c < '0' || c > '9') return std::nullopt;
      frac += (c - '0') * scale;
      scale /= 10;
    }
  }
  const double day = static_cast<double>(std::chrono::sys_days(*ymd).time_since_epoch().count());
  return day * 86400.0 + hh * 3600.0 + mm * 60.0 + ss + frac;
}

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::size_t skip_space(std::string_view t, std::size_t pos) {
  while (pos < t.size() && is_space(t[pos]))
    ++pos;
  return pos;
}

constexpr std::size_t npos = std::string_view::npos;

// The end of the JSON string starting at `pos` (a '"'), or npos when unterminated.
std::size_t string_end(std::string_view t, std::size_t pos) {
  for (std::size_t i = pos + 1; i < t.size(); ++i) {
    if (t[i] == '\\') {
      ++i;
    } else if (t[i] == '"') {
      return i + 1;
    }
  }
  return npos;
}

// The end of the JSON value starting at `pos`, found by bracket and string matching only (the
// value is validated later, by the job parser). npos when unterminated.
std::size_t value_end(std::string_view t, std::size_t pos) {
  const char c = t[pos];
  if (c == '"') return string_end(t, pos);
  if (c == '{' || c == '[') {
    int depth = 0;
    for (std::size_t i = pos; i < t.size(); ++i) {
      const char ch = t[i];
      if (ch == '"') {
        const std::size_t e = string_end(t, i);
        if (e == npos) return npos;
        i = e - 1;
      } else if (ch == '{' || ch == '[') {
        ++depth;
      } else if (ch == '}' || ch == ']') {
        if (--depth == 0) return i + 1;
      }
    }
    return npos;
  }
  std::size_t i = pos;
  while (i < t.size() && !is_space(t[i]) && std::string_view(",[]{}\"").find(t[i]) == npos)
    ++i;
  return i == pos ? pos + 1 : i;  // a stray delimiter is a value of its own (and invalid)
}

class LineCounter {
 public:
  explicit LineCounter(std::string_view t) : t_(t) {}
  std::size_t at(std::size_t pos) {
    for (; done_ < pos && done_ < t_.size(); ++done_) {
      if (t_[done_] == '\n') ++line_;
    }
    return line_;
  }

 private:
  std::string_view t_;
  std::size_t done_ = 0;
  std::size_t line_ = 1;
};

}  // namespace

std::vector<Piece> split_json_values(std::string_view text) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // a UTF-8 byte order mark
  LineCounter lines(text);
  std::vector<Piece> out;
  std::size_t pos = skip_space(text, 0);
  while (pos < text.size()) {
    const std::size_t end = value_end(text, pos);
    if (end == npos) {
      throw Failure("input line " + std::to_string(lines.at(pos)) +
                    ": unterminated JSON value (a missing '\"', '}' or ']')");
    }
    out.push_back({text.substr(pos, end - pos), lines.at(pos)});
    pos = skip_space(text, end);
  }
  if (out.size() != 1 || !out.front().bytes.starts_with('[')) return out;

  // One array: its elements are the jobs.
  const std::string_view arr = out.front().bytes;
  const std::size_t base = static_cast<std::size_t>(arr.data() - text.data());
  std::vector<Piece> elements;
  pos = skip_space(arr, 1);
  if (pos < arr.size() && arr[pos] == ']') return elements;
  while (true) {
    const std::size_t end = value_end(arr, pos);
    if (end == npos || end >= arr.size()) {
      throw Failure("input line " + std::to_string(lines.at(base + pos)) +
                    ": unterminated JSON array");
    }
    elements.push_back({arr.substr(pos, end - pos), lines.at(base + pos)});
    pos = skip_space(arr, end);
    if (pos < arr.size() && arr[pos] == ',') {
      pos = skip_space(arr, pos + 1);
      if (pos < arr.size() && arr[pos] == ']') {
        throw Failure("input line " + std::to_string(lines.at(base + pos)) +
                      ": trailing ',' in the array");
      }
      continue;
    }
    if (pos < arr.size() && arr[pos] == ']' && pos + 1 == arr.size()) break;
    throw Failure("input line " + std::to_string(lines.at(base + pos)) +
                  ": expected ',' or ']' after array element " + std::to_string(elements.size()));
  }
  return elements;
}

}  // namespace wa::cli
