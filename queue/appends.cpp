#include "queue/appends.hpp"

#include <charconv>
#include <optional>

namespace wa::queue {

namespace {

struct Entry {
  std::string member, stage, dst;
};

// "<length of stage>:<stage><dst>" (written by the finish script).
std::optional<Entry> parse_entry(const std::string& member) {
  const auto colon = member.find(':');
  std::size_t n = 0;
  if (colon == std::string::npos) return std::nullopt;
  const auto [p, ec] = std::from_chars(member.data(), member.data() + colon, n);
  if (ec != std::errc() || p != member.data() + colon || colon + 1 + n > member.size()) {
    return std::nullopt;
  }
  Entry e;
  e.stage = member.substr(colon + 1, n);
  e.dst = member.substr(colon + 1 + n);
  e.member = member;
  return e;
}

// Appends one stage whole; the error when its dispatch list cannot take it.
asio::awaitable<std::string> append_one(redis::Connection& conn, const Keys& keys, const Entry& e) {
  for (;;) {
    const std::vector<std::string> k{keys.appending(), e.stage, e.dst};
    std::vector<std::string> args{e.member, std::to_string(kAppendStep)};
    Call step = script_call(append_step_script(), k, std::move(args));
    const Reply r = co_await run1(conn, std::move(step));
    if (r.is_error()) co_return r.str;
    if (int_or(r, 0) <= 0) co_return std::string();
  }
}

}  // namespace

asio::awaitable<AppendReport> run_appends(redis::Connection& conn, const Keys& keys,
                                          std::size_t entries) {
  AppendReport report;
  const Command range{"ZRANGE", keys.appending(), "0", std::to_string(entries - 1)};
  Reply r = co_await run1(conn, plain(range));
  if (!r.is_array()) co_return report;
  for (Reply& m : r.elements) {
    const auto e = parse_entry(m.str);
    if (!e) {  // not ours to read: dropped so that it does not hold the others
      Command zrem{"ZREM", keys.appending(), m.str};
      (void)co_await run1(conn, plain(std::move(zrem)));
      report.errors.push_back("unreadable entry in " + keys.appending() + " removed");
      continue;
    }
    std::string error = co_await append_one(conn, keys, *e);
    if (error.empty()) {
      ++report.appended;
    } else {
      report.errors.push_back("appending " + e->stage + " to " + e->dst + ": " + error);
    }
  }
  co_return report;
}

}  // namespace wa::queue
