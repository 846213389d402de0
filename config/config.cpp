// Configuration loader (CONTRACT.md section 7).
//
// The YAML tree is walked with a small set of typed readers. A Section wraps one mapping: each
// reader call consumes one key, checks its type and range and writes the field only when the
// value is valid; whatever the section's caller did not consume is reported as an unknown key.
// Every problem is collected and reported together in one ConfigError.
#include "config/config.hpp"

#include <arpa/inet.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <limits>
#include <memory>
#include <sstream>
#include <string_view>
#include <type_traits>
#include <utility>

#include "redis/cluster.hpp"

namespace wa::config {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Names of the enumerators, in declaration order (they are also what to_string() returns).
constexpr std::array<std::string_view, 3> kStrategyNames{"weighted_capacity", "health_score",
                                                         "round_robin"};
constexpr std::array<std::string_view, 2> kLogFormatNames{"text", "json"};
constexpr std::array<std::string_view, 7> kLogLevels{"trace", "debug",    "info", "warn",
                                                     "error", "critical", "off"};

std::string join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) {
    if (!out.empty()) out += '\n';
    out += line;
  }
  return out;
}

// `"text"`, escaped so that a message stays on one line.
std::string quote(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          static constexpr char kHex[] = "0123456789abcdef";
          out += "\\x";
          out += kHex[(c >> 4) & 0xf];
          out += kHex[c & 0xf];
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

// A plain scalar is written without quotes and without an explicit tag (`port: 80`); only those,
// or ones explicitly tagged with the expected core-schema type, are numbers or booleans.
bool is_plain(const YAML::Node& node, std::string_view core_tag) {
  return node.IsScalar() && (node.Tag() == "?" || node.Tag() == core_tag);
}

// How an offending value is shown after "got": scalars quoted as written. `typed`: the key wants
// a number or a boolean, so say when the scalar is a string only because it was quoted.
std::string describe(const YAML::Node& node, bool typed) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      return quote(node.Scalar()) + (typed && node.Tag() != "?" ? " (a string)" : "");
    case YAML::NodeType::Sequence:
      return "a sequence";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

std::string format_number(double value) {
  std::array<char, 32> buf{};
  const auto result = std::to_chars(buf.data(), buf.data() + buf.size(), value);
  return std::string(buf.data(), result.ptr);
}

std::string_view strip_plus(std::string_view text) {
  if (text.size() > 1 && text.front() == '+' && text[1] != '-') text.remove_prefix(1);
  return text;
}

bool parse_integer(std::string_view text, std::int64_t& out) {
  text = strip_plus(text);
  const auto result = std::from_chars(text.data(), text.data() + text.size(), out);
  return result.ec == std::errc{} && result.ptr == text.data() + text.size();
}

bool parse_number(std::string_view text, double& out) {
  text = strip_plus(text);
  const auto result = std::from_chars(text.data(), text.data() + text.size(), out);
  return result.ec == std::errc{} && result.ptr == text.data() + text.size() && std::isfinite(out);
}

// Bounds of a real-valued key; `hi` = infinity means unbounded above.
struct Range {
  double lo;
  bool lo_open;
  double hi;
  bool hi_open;

  bool contains(double v) const {
    return (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
  }
  std::string text() const {
    const std::string low = (lo_open ? "> " : ">= ") + format_number(lo);
    if (hi == kInf) return low;
    if (!lo_open && !hi_open) return format_number(lo) + "-" + format_number(hi);
    return low + " and " + (hi_open ? "< " : "<= ") + format_number(hi);
  }
};

constexpr Range above(double lo) {
  return {lo, true, kInf, false};
}
constexpr Range at_least(double lo) {
  return {lo, false, kInf, false};
}
constexpr Range between(double lo, double hi) {
  return {lo, false, hi, false};
}

constexpr Range kPositive = above(0);
// Time spans: positive and at most ten years (a larger value would overflow due times in ms and
// Redis expiry times, and can only be a typo).
constexpr double kMaxSeconds = 315360000;
constexpr Range kSpan = {0, true, kMaxSeconds, false};
constexpr Range kNonNegative = at_least(0);
constexpr Range kIdleTimeout = {0, true, 3600,
                                false};  // seconds: a client idle for an hour is gone
constexpr Range kPercent = between(0, 100);

// A rule for a free-text key: what is expected, and the check (none: any string).
struct TextRule {
  const char* expected;
  bool (*valid)(std::string_view);
};

bool non_empty(std::string_view text) {
  return !text.empty();
}

bool valid_port(std::string_view text) {
  if (text.empty() || text.size() > 5) return false;
  for (const char c : text) {
    if (c < '0' || c > '9') return false;
  }
  std::int64_t port = 0;
  return parse_integer(text, port) && port >= 1 && port <= 65535;
}

// "" (off) or host:port; host is an IPv4 address, localhost or a bracketed IPv6 address.
bool valid_listen(std::string_view text) {
  if (text.empty()) return true;
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || !valid_port(text.substr(colon + 1))) return false;
  const std::string_view host = text.substr(0, colon);
  if (host == "localhost") return true;
  unsigned char addr[16];
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    const std::string ip6(host.substr(1, host.size() - 2));
    return inet_pton(AF_INET6, ip6.c_str(), addr) == 1;
  }
  return inet_pton(AF_INET, std::string(host).c_str(), addr) == 1;
}

// host:port with a non-empty host (a name, an IPv4 address or a bracketed IPv6 address).
bool valid_host_port(std::string_view text) {
  const auto colon = text.rfind(':');
  return colon != std::string_view::npos && colon > 0 && valid_port(text.substr(colon + 1));
}

constexpr TextRule kAnyText{"a string", nullptr};
constexpr TextRule kNonEmptyText{"a non-empty string", non_empty};
constexpr TextRule kHostPortRule{"host:port (port 1-65535)", valid_host_port};
constexpr TextRule kListenRule{
    "\"\" (off) or host:port (host an IPv4 address, localhost or [IPv6 address]; port 1-65535)",
    valid_listen};

class Problems {
 public:
  void add(const std::string& path, const std::string& message) {
    list_.push_back(path + ": " + message);
  }
  void expected(const std::string& path, const std::string& what, const YAML::Node& got,
                bool typed = false) {
    add(path, "expected " + what + ", got " + describe(got, typed));
  }
  bool empty() const { return list_.empty(); }
  std::vector<std::string> take() { return std::move(list_); }

 private:
  std::vector<std::string> list_;
};

// One mapping of the file. Readers return true when the key is absent (the field keeps its
// default) or valid (the field is set), false after recording a problem.
class Section {
 public:
  // Reads `node` (a mapping, or null for an empty section) at `path`, calls `body` with the
  // section, then reports every key `body` did not read.
  static void read(const YAML::Node& node, std::string path, Problems& problems,
                   const std::function<void(Section&)>& body) {
    Section section(node, std::move(path), problems);
    body(section);
    section.report_unknown();
  }

  void section(const char* key, const std::function<void(Section&)>& body) {
    if (const auto* node = take(key)) read(*node, path_of(key), problems_, body);
  }

  template <typename Int>
  bool integer(const char* key, Int& out, std::int64_t min,
               std::int64_t max = std::numeric_limits<Int>::max()) {
    const auto* node = take(key);
    if (node == nullptr) return true;
    std::int64_t value = 0;
    if (is_plain(*node, "tag:yaml.org,2002:int") && parse_integer(node->Scalar(), value) &&
        value >= min && value <= max) {
      out = static_cast<Int>(value);
      return true;
    }
    const std::string range = std::cmp_equal(max, std::numeric_limits<Int>::max())
                                  ? ">= " + std::to_string(min)
                                  : std::to_string(min) + "-" + std::to_string(max);
    fail(key, "an integer " + range, *node, true);
    return false;
  }

  bool number(const char* key, double& out, const Range& range) {
    const auto* node = take(key);
    if (node == nullptr) return true;
    double value = 0;
    if ((is_plain(*node, "tag:yaml.org,2002:float") || is_plain(*node, "tag:yaml.org,2002:int")) &&
        parse_number(node->Scalar(), value) && range.contains(value)) {
      out = value;
      return true;
    }
    fail(key, "a number " + range.text(), *node, true);
    return false;
  }

  bool boolean(const char* key, bool& out) {
    static constexpr std::array<std::string_view, 6> kTrue{"true", "True", "TRUE",
                                                           "yes",  "Yes",  "YES"};
    static constexpr std::array<std::string_view, 6> kFalse{"false", "False", "FALSE",
                                                            "no",    "No",    "NO"};
    const auto* node = take(key);
    if (node == nullptr) return true;
    if (is_plain(*node, "tag:yaml.org,2002:bool")) {
      const std::string& text = node->Scalar();
      const auto is = [&](std::string_view word) { return text == word; };
      if (std::ranges::any_of(kTrue, is)) {
        out = true;
        return true;
      }
      if (std::ranges::any_of(kFalse, is)) {
        out = false;
        return true;
      }
    }
    fail(key, "a boolean (true or false)", *node, true);
    return false;
  }

  bool text(const char* key, std::string& out, const TextRule& rule = kAnyText) {
    const auto* node = take(key);
    if (node == nullptr) return true;
    if (node->IsScalar() && (rule.valid == nullptr || rule.valid(node->Scalar()))) {
      out = node->Scalar();
      return true;
    }
    fail(key, rule.expected, *node);
    return false;
  }

  // A sequence of strings, each checked by `rule` (errors name the element: key[i]).
  bool text_list(const char* key, std::vector<std::string>& out, const TextRule& rule) {
    const auto* node = take(key);
    if (node == nullptr) return true;
    if (!node->IsSequence()) {
      fail(key, std::string("a list of ") + rule.expected, *node);
      return false;
    }
    std::vector<std::string> values;
    bool ok = true;
    for (std::size_t i = 0; i < node->size(); ++i) {
      const YAML::Node item = (*node)[i];
      if (item.IsScalar() && (rule.valid == nullptr || rule.valid(item.Scalar()))) {
        values.push_back(item.Scalar());
      } else {
        problems_.expected(path_of(key) + "[" + std::to_string(i) + "]", rule.expected, item);
        ok = false;
      }
    }
    if (ok) out = std::move(values);
    return ok;
  }

  // `names` in the order of T's enumerators (or the allowed values when T is std::string).
  template <typename T, std::size_t N>
  bool one_of(const char* key, T& out, const std::array<std::string_view, N>& names) {
    const auto* node = take(key);
    if (node == nullptr) return true;
    for (std::size_t i = 0; i < N; ++i) {
      if (node->IsScalar() && node->Scalar() == names[i]) {
        if constexpr (std::is_enum_v<T>) {
          out = static_cast<T>(i);
        } else {
          out = names[i];
        }
        return true;
      }
    }
    std::string list;
    for (const auto name : names) {
      list += (list.empty() ? "" : ", ") + std::string(name);
    }
    fail(key, "one of " + list, *node);
    return false;
  }

  // Reports a problem of a key of this section found by a check across keys.
  void problem(const char* key, const std::string& message) {
    problems_.add(path_of(key), message);
  }

 private:
  struct Entry {
    std::string key;
    YAML::Node value;
    bool used = false;
  };

  Section(const YAML::Node& node, std::string path, Problems& problems)
      : path_(std::move(path)), problems_(problems) {
    if (node.IsNull()) return;
    if (!node.IsMap()) {
      problems_.expected(path_.empty() ? "top level" : path_, "a mapping", node);
      return;
    }
    for (const auto& pair : node) {
      if (!pair.first.IsScalar()) {
        problems_.expected(path_.empty() ? "top level" : path_, "string keys", pair.first);
        continue;
      }
      const std::string& key = pair.first.Scalar();
      if (find(key) != nullptr) {
        problems_.add(path_of(key), "duplicate key");
        continue;
      }
      entries_.push_back({key, pair.second});
    }
  }

  void fail(const char* key, const std::string& expected, const YAML::Node& got,
            bool typed = false) {
    problems_.expected(path_of(key), expected, got, typed);
  }

  Entry* find(std::string_view key) {
    for (auto& entry : entries_) {
      if (entry.key == key) return &entry;
    }
    return nullptr;
  }

  // The value of `key` (marked as read), or null when the key is absent. A null value
  // (`key:` or `key: ~`) is returned for leaves, which reject it, and means "empty" for sections.
  const YAML::Node* take(const char* key) {
    Entry* entry = find(key);
    if (entry == nullptr) return nullptr;
    entry->used = true;
    return &entry->value;
  }

  void report_unknown() {
    for (const auto& entry : entries_) {
      if (!entry.used) problems_.add(path_of(entry.key), "unknown key");
    }
  }

  std::string path_of(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }

  std::string path_;
  Problems& problems_;
  std::vector<Entry> entries_;
};

void read_tls(Section& s, Tls& t) {
  s.boolean("enabled", t.enabled);
  s.text("ca_file", t.ca_file);
  s.text("cert_file", t.cert_file);
  s.text("key_file", t.key_file);
  s.text("server_name", t.server_name);
  s.boolean("verify", t.verify);
  if (t.cert_file.empty() != t.key_file.empty()) {
    s.problem(t.cert_file.empty() ? "cert_file" : "key_file",
              "expected cert_file and key_file together (mutual TLS), got only one");
  }
}

// redis.cluster: true. Every key must hash to one slot (scripts and transactions touch several
// keys at once), so the prefix needs a hash tag; a cluster fails over by itself (no Sentinels)
// and has only database 0.
void check_cluster(Section& s, const Redis& r) {
  if (!redis::cluster::hash_tag(r.prefix)) {
    s.problem("prefix",
              "expected a prefix with a hash tag when redis.cluster is true, got \"" + r.prefix +
                  "\": every key must hash to one slot; set e.g. prefix: \"{wa}:\" (a {tag} "
                  "in the prefix), and the same prefix in the Laravel app");
  }
  if (!r.sentinels.empty()) {
    s.problem("cluster",
              "redis.cluster and redis.sentinels exclude each other: a cluster fails over by "
              "itself; give one of its nodes as host and port");
  }
  if (r.db != 0) {
    s.problem("db", "expected 0 when redis.cluster is true (a cluster has only database 0), got " +
                        std::to_string(r.db));
  }
}

void read_redis(Section& s, Redis& r) {
  const bool host_ok = s.text("host", r.host);
  s.integer("port", r.port, 1, 65535);
  const bool socket_ok = s.text("unix_socket", r.unix_socket);
  s.text("username", r.username);
  s.text("password", r.password);
  s.integer("db", r.db, 0, 15);
  s.section("tls", [&](Section& t) { read_tls(t, r.tls); });
  s.section("sentinel_tls", [&](Section& t) { read_tls(t, r.sentinel_tls); });
  s.text("sentinel_username", r.sentinel_username);
  s.text("sentinel_password", r.sentinel_password);
  s.text("prefix", r.prefix);
  const bool sentinels_ok = s.text_list("sentinels", r.sentinels, kHostPortRule);
  const bool master_ok = s.text("master_name", r.master_name);
  if (sentinels_ok && master_ok && !r.sentinels.empty() && r.master_name.empty()) {
    s.problem("master_name", "expected a non-empty name when redis.sentinels is set, got \"\"");
  }
  if (s.boolean("cluster", r.cluster) && r.cluster) check_cluster(s, r);
  if (host_ok && socket_ok && r.host.empty() && r.unix_socket.empty()) {
    s.problem("host", "expected a non-empty host when redis.unix_socket is empty, got \"\"");
  }
}

void read_health(Section& s, Health& h) {
  s.number("check_interval", h.check_interval, kSpan);
  const bool primary_ok = s.integer("min_score_primary", h.min_score_primary, 0, 100);
  const bool secondary_ok = s.integer("min_score_secondary", h.min_score_secondary, 0, 100);
  s.integer("max_sessions_per_workspace", h.max_sessions_per_workspace, 1, 1000);
  s.section("weights", [&](Section& w) {
    HealthWeights& hw = h.weights;
    bool ok = true;
    for (const auto& [key, field] : std::initializer_list<std::pair<const char*, double*>>{
             {"connection_stability", &hw.connection_stability},
             {"message_success_rate", &hw.message_success_rate},
             {"recent_activity", &hw.recent_activity},
             {"response_time", &hw.response_time},
             {"uptime", &hw.uptime}}) {
      ok = w.number(key, *field, kNonNegative) && ok;
    }
    w.number("error_rate", hw.error_rate, kNonNegative);
    const double sum = hw.connection_stability + hw.message_success_rate + hw.recent_activity +
                       hw.response_time + hw.uptime;
    if (ok && !(sum > 0)) {
      s.problem("weights",
                "expected a positive sum of connection_stability, message_success_rate, "
                "recent_activity, response_time and uptime, got " +
                    format_number(sum));
    }
  });
  if (primary_ok && secondary_ok && h.min_score_secondary > h.min_score_primary) {
    s.problem("min_score_secondary", "expected an integer <= health.min_score_primary (" +
                                         std::to_string(h.min_score_primary) + "), got " +
                                         std::to_string(h.min_score_secondary));
  }
}

void read_pacing(Section& s, Pacing& p) {
  s.boolean("enabled", p.enabled);
  s.integer("ahead", p.ahead, 1, 100000);
  s.number("jitter", p.jitter, Range{0, false, 1, true});
  s.integer("daily_cap", p.daily_cap, 1, 100000000);
  s.section("warmup", [&](Section& w) {
    w.integer("days", p.warmup.days, 0, 3650);
    w.integer("start_per_day", p.warmup.start_per_day, 1, 100000000);
  });
  s.section("adaptive", [&](Section& a) {
    a.boolean("enabled", p.adaptive.enabled);
    a.number("decrease", p.adaptive.decrease, Range{0, true, 1, false});
    a.number("increase", p.adaptive.increase, between(0, 1));
    a.number("min_factor", p.adaptive.min_factor, Range{0, true, 1, false});
    a.number("report_grace", p.adaptive.report_grace, Range{0, false, 86400, false});
    a.number("min_reported", p.adaptive.min_reported, kPercent);
  });
  s.integer("meta_budget_window", p.meta_budget_window, 1, 86400);
}

void read_config(Section& top, Config& c) {
  top.section("redis", [&](Section& s) { read_redis(s, c.redis); });
  top.section("queue", [&](Section& s) {
    s.text("name", c.queue.name, kNonEmptyText);
    s.integer("lease_seconds", c.queue.lease_seconds, 1, static_cast<std::int64_t>(kMaxSeconds));
    s.integer("batch_size", c.queue.batch_size, 1, 10000);
    s.integer("max_deliveries", c.queue.max_deliveries, 1);
    s.integer("max_payload_bytes", c.queue.max_payload_bytes, 1024, 536870912);
  });
  top.section("results", [&](Section& s) {
    s.integer("ttl_seconds", c.results.ttl_seconds, 1, static_cast<std::int64_t>(kMaxSeconds));
  });
  top.section("retry", [&](Section& s) {
    s.number("base_delay", c.retry.base_delay, kSpan);
    s.number("max_delay", c.retry.max_delay, kSpan);
    s.number("jitter", c.retry.jitter, Range{0, false, 1, true});
    s.integer("max_attempts", c.retry.max_attempts, 1);
  });
  top.section("selection", [&](Section& s) {
    s.boolean("enable_auto_switching", c.selection.enable_auto_switching);
    s.section("switch_thresholds", [&](Section& t) {
      SwitchThresholds& st = c.selection.switch_thresholds;
      t.number("error_rate_threshold", st.error_rate_threshold, kPercent);
      t.number("response_time_threshold", st.response_time_threshold, kPositive);
      t.integer("health_score_threshold", st.health_score_threshold, 0, 100);
    });
    s.boolean("sticky_sender", c.selection.sticky_sender);
  });
  top.section("health", [&](Section& s) { read_health(s, c.health); });
  top.section("load_balancing", [&](Section& s) {
    s.one_of("strategy", c.load_balancing.strategy, kStrategyNames);
    s.number("base_capacity", c.load_balancing.base_capacity, kPositive);
    s.boolean("enable_predictive_analytics", c.load_balancing.enable_predictive_analytics);
  });
  top.section("analytics", [&](Section& s) {
    s.integer("retention_period_days", c.analytics.retention_period_days, 1, 3650);
    s.boolean("real_time_monitoring", c.analytics.real_time_monitoring);
    s.section("alert_thresholds", [&](Section& t) {
      AlertThresholds& at = c.analytics.alert_thresholds;
      t.number("high_error_rate", at.high_error_rate, kPercent);
      t.number("slow_delivery", at.slow_delivery, kPositive);
      t.number("low_success_rate", at.low_success_rate, kPercent);
    });
  });
  top.section("pacing", [&](Section& s) { read_pacing(s, c.pacing); });
  top.section("metrics", [&](Section& s) {
    s.text("listen", c.metrics.listen, kListenRule);
    s.number("idle_timeout", c.metrics.idle_timeout, kIdleTimeout);
    s.integer("max_connections", c.metrics.max_connections, 1, 10000);
  });
  top.section("logging", [&](Section& s) {
    s.one_of("level", c.logging.level, kLogLevels);
    s.one_of("format", c.logging.format, kLogFormatNames);
  });
}

}  // namespace

namespace {

// Every problem stays one printable line, whatever bytes a key or yaml-cpp's message holds.
std::vector<std::string> printable(std::vector<std::string> problems) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (std::string& p : problems) {
    if (std::none_of(p.begin(), p.end(), [](char c) { return c >= 0 && c < 0x20; })) continue;
    std::string out;
    for (const char c : p) {
      if (c >= 0 && c < 0x20) {
        out += "\\x";
        out += kHex[(c >> 4) & 0xf];
        out += kHex[c & 0xf];
      } else {
        out += c;
      }
    }
    p = std::move(out);
  }
  return problems;
}

}  // namespace

ConfigError::ConfigError(std::vector<std::string> problems)
    : ConfigError(printable(std::move(problems)), 0) {}

ConfigError::ConfigError(std::vector<std::string> problems, int)
    : std::runtime_error(join(problems)), problems_(std::move(problems)) {}

namespace {

// Counts the documents of a YAML stream, stopping at kMaxDocuments: yaml-cpp 0.7's LoadAll never
// returns on some malformed input (a lone ",": its parser reports a new document forever).
class DocumentCounter final : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

constexpr int kMaxDocuments = 16;

int count_documents(const std::string& yaml) {
  std::istringstream in(yaml);
  YAML::Parser parser(in);
  DocumentCounter counter;
  int n = 0;
  while (n <= kMaxDocuments && parser.HandleNextDocument(counter))
    ++n;
  return n;
}

}  // namespace

Config load_from_string(const std::string& yaml, const std::string& origin) {
  std::vector<YAML::Node> documents;
  try {
    const int n = count_documents(yaml);
    if (n > 1) {
      throw ConfigError(
          {origin + ": expected one YAML document, got " +
           (n > kMaxDocuments ? "more than " + std::to_string(kMaxDocuments) : std::to_string(n))});
    }
    if (n == 1) documents.push_back(YAML::Load(yaml));
  } catch (const YAML::Exception& e) {
    std::string where = origin;
    if (!e.mark.is_null()) {
      // Appended piecewise: GCC 12 -O3 warns (-Wrestrict, falsely) on ":" + std::to_string().
      where += ':';
      where += std::to_string(e.mark.line + 1);
      where += ':';
      where += std::to_string(e.mark.column + 1);
    }
    throw ConfigError({where + ": " + e.msg});
  }
  Config config;
  Problems problems;
  if (!documents.empty()) {
    Section::read(documents.front(), "", problems, [&](Section& top) { read_config(top, config); });
  }
  if (!problems.empty()) throw ConfigError(problems.take());
  return config;
}

Config load_from_file(const std::string& path) {
  struct Close {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  const std::unique_ptr<std::FILE, Close> file(std::fopen(path.c_str(), "rb"));
  if (!file) throw ConfigError({path + ": cannot open: " + std::strerror(errno)});
  std::string text;
  std::array<char, 8192> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), file.get())) > 0) {
    text.append(buf.data(), n);
  }
  if (std::ferror(file.get())) throw ConfigError({path + ": cannot read: " + std::strerror(errno)});
  return load_from_string(text, path);
}

const char* to_string(Strategy s) noexcept {
  const auto i = static_cast<std::size_t>(s);
  return i < kStrategyNames.size() ? kStrategyNames[i].data() : "unknown";
}

const char* to_string(LogFormat f) noexcept {
  const auto i = static_cast<std::size_t>(f);
  return i < kLogFormatNames.size() ? kLogFormatNames[i].data() : "unknown";
}

}  // namespace wa::config
