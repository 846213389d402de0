// wa-router report: provider performance of a workspace from the daemon's daily counters
// (`wa:stats:daily:<ws>:<provider>:<YYYY-MM-DD>`), as the seed design's report has it.
#include <cctype>
#include <cmath>
#include <cstdio>
#include <iostream>

#include "cli/cli.hpp"
#include "queue/codec.hpp"

namespace wa::cli {

namespace json = boost::json;

namespace {

constexpr Day kMaxDays = 366;
constexpr const char* kProviders[] = {"webjs", "meta_api"};

std::optional<double> percent(std::uint64_t part, std::uint64_t total) {
  if (total == 0) return std::nullopt;
  return 100.0 * static_cast<double>(part) / static_cast<double>(total);
}

std::optional<double> average(double sum, std::uint64_t count) {
  if (count == 0) return std::nullopt;
  return sum / static_cast<double>(count);
}

void add(core::WindowStats& to, const core::WindowStats& w) {
  to.total += w.total;
  to.successful += w.successful;
  to.delivered += w.delivered;
  to.read += w.read;
  to.failed += w.failed;
  to.delivery_time_sum_ms += w.delivery_time_sum_ms;
  to.delivery_time_count += w.delivery_time_count;
  to.response_time_sum_ms += w.response_time_sum_ms;
  to.response_time_count += w.response_time_count;
}

json::value opt(std::optional<double> v) {
  return v ? json::value(*v) : json::value(nullptr);
}

json::object counts_json(const core::WindowStats& w) {
  return {{"total", w.total},
          {"successful", w.successful},
          {"delivered", w.delivered},
          {"read", w.read},
          {"failed", w.failed},
          {"delivery_time_sum", w.delivery_time_sum_ms},
          {"delivery_time_count", w.delivery_time_count}};
}

json::object provider_json(const core::WindowStats& w) {
  json::object o = counts_json(w);
  o["success_rate"] = opt(percent(w.successful, w.total));
  o["delivery_rate"] = opt(percent(w.delivered, w.total));
  o["read_rate"] = opt(percent(w.read, w.total));
  o["failure_rate"] = opt(percent(w.failed, w.total));
  o["avg_delivery_time_ms"] = opt(average(w.delivery_time_sum_ms, w.delivery_time_count));
  o["avg_response_time_ms"] = opt(average(w.response_time_sum_ms, w.response_time_count));
  return o;
}

struct Comparison {
  std::string result;  // webjs, meta_api, tie, no_data, incomplete
  std::optional<std::string> winner;
  std::optional<double> difference;  // webjs − meta_api success rate, points
  std::string message;
};

Comparison compare(const core::WindowStats& web, const core::WindowStats& meta) {
  Comparison c;
  const auto ws = percent(web.successful, web.total);
  const auto ms = percent(meta.successful, meta.total);
  if (!ws && !ms) {
    c.result = "no_data";
    c.message = "no winner: neither provider has messages in this period";
    return c;
  }
  if (!ws || !ms) {
    c.result = "incomplete";
    c.message = std::string("no winner: only ") + (ws ? "webjs" : "meta_api") +
                " has messages in this period (" + (ws ? "meta_api" : "webjs") + " has none)";
    return c;
  }
  c.difference = *ws - *ms;
  // Exact comparison of successful/total without rounding: cross-multiplied.
  const long double lhs = static_cast<long double>(web.successful) * meta.total;
  const long double rhs = static_cast<long double>(meta.successful) * web.total;
  if (lhs == rhs) {
    c.result = "tie";
    c.message = "tie: both providers have a success rate of " + fixed(ws, 2, "%");
    return c;
  }
  const bool web_wins = lhs > rhs;
  c.result = web_wins ? "webjs" : "meta_api";
  c.winner = c.result;
  c.message = "winner: " + c.result + " (success rate " + fixed(web_wins ? ws : ms, 2, "%") +
              " vs " + fixed(web_wins ? ms : ws, 2, "%") + ", " +
              fixed(std::abs(*c.difference), 2, " points") + " ahead)";
  return c;
}

std::string count(std::uint64_t n) {
  return std::to_string(n);
}

}  // namespace

void report_options(po::options_description& o, po::positional_options_description&) {
  o.add_options()("workspace", po::value<std::string>()->value_name("W"), "the workspace id")(
      "from", po::value<std::string>()->value_name("YYYY-MM-DD"), "first UTC day (included)")(
      "to", po::value<std::string>()->value_name("YYYY-MM-DD"), "last UTC day (included)");
}

namespace {

struct Range {
  std::string ws;
  Day from = 0, to = 0, days = 0;
};

Range range_of(const po::variables_map& vm) {
  for (const char* name : {"workspace", "from", "to"}) {
    if (!vm.count(name)) throw UsageError(std::string("--") + name + " is required");
  }
  Range r;
  r.ws = vm["workspace"].as<std::string>();
  if (r.ws.empty()) throw UsageError("--workspace: expected a workspace id, got an empty string");
  r.from = parse_day(vm["from"].as<std::string>(), "--from");
  r.to = parse_day(vm["to"].as<std::string>(), "--to");
  if (r.from > r.to) {
    throw UsageError("--from " + format_day(r.from) + " is after --to " + format_day(r.to));
  }
  r.days = r.to - r.from + 1;
  if (r.days > kMaxDays) {
    throw UsageError("the range spans " + std::to_string(r.days) + " days; at most " +
                     std::to_string(kMaxDays) + " are allowed");
  }
  return r;
}

// The daily counters of both providers over the range: totals and the days that have any.
struct Read {
  core::WindowStats totals[2];
  json::array daily;
};

Read read_days(Context& ctx, const Range& range) {
  std::vector<std::vector<std::string>> cmds;
  for (Day d = range.from; d <= range.to; ++d) {
    for (const char* p : kProviders)
      cmds.push_back({"HGETALL", ctx.keys().daily(range.ws, p, format_day(d))});
  }
  const auto replies = ctx.redis().cmds(cmds);
  Read out;
  std::size_t at = 0;
  for (Day d = range.from; d <= range.to; ++d) {
    json::object day{{"day", format_day(d)}};
    bool any = false;
    for (int p = 0; p < 2; ++p) {
      const redis::Reply& r = replies[at++];
      queue::Fields f;
      for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2) {
        f.emplace_back(r.elements[i].str, r.elements[i + 1].str);
      }
      const core::WindowStats w = queue::parse_daily(f);
      add(out.totals[p], w);
      day[kProviders[p]] = counts_json(w);
      any = any || !f.empty();
    }
    if (any) out.daily.push_back(std::move(day));
  }
  return out;
}

std::vector<std::string> notes_of(Context& ctx, const Range& range) {
  std::vector<std::string> notes;
  const auto kept = ctx.config().analytics.retention_period_days;
  const Day oldest_kept = today_utc() - kept;
  if (range.from < oldest_kept) {
    notes.push_back("counters are kept " + std::to_string(kept) +
                    " days (analytics.retention_period_days): days before " +
                    format_day(oldest_kept) + " may have expired");
  }
  if (range.to > today_utc()) notes.push_back("the range ends after today (UTC)");
  return notes;
}

void print_report_json(const Range& range, Read& read, const Comparison& cmp,
                       const std::vector<std::string>& notes) {
  json::object out{{"workspace", range.ws},
                   {"from", format_day(range.from)},
                   {"to", format_day(range.to)},
                   {"days", range.days}};
  out["providers"] = {{"webjs", provider_json(read.totals[0])},
                      {"meta_api", provider_json(read.totals[1])}};
  json::object c{{"result", cmp.result}, {"message", cmp.message}};
  c["winner"] = cmp.winner ? json::value(*cmp.winner) : json::value(nullptr);
  c["success_rate_difference"] = opt(cmp.difference);
  out["comparison"] = std::move(c);
  out["daily"] = std::move(read.daily);
  json::array n;
  for (const auto& s : notes)
    n.push_back(json::string(s));
  out["notes"] = std::move(n);
  print_json(out);
}

void print_report_text(const Range& range, const Read& read, const Comparison& cmp,
                       const std::vector<std::string>& notes) {
  std::printf("Provider performance: workspace %s, %s to %s (%lld day%s, UTC)\n\n",
              range.ws.c_str(), format_day(range.from).c_str(), format_day(range.to).c_str(),
              static_cast<long long>(range.days), range.days == 1 ? "" : "s");
  auto line = [](const char* label, const std::string& a, const std::string& b) {
    std::printf("  %-22s %14s %14s\n", label, a.c_str(), b.c_str());
  };
  const core::WindowStats& w = read.totals[0];
  const core::WindowStats& m = read.totals[1];
  line("", "webjs", "meta_api");
  line("messages", count(w.total), count(m.total));
  line("successful", count(w.successful), count(m.successful));
  line("delivered (incl. read)", count(w.delivered), count(m.delivered));
  line("read", count(w.read), count(m.read));
  line("failed", count(w.failed), count(m.failed));
  line("success rate", fixed(percent(w.successful, w.total), 2, "%"),
       fixed(percent(m.successful, m.total), 2, "%"));
  line("delivery rate", fixed(percent(w.delivered, w.total), 2, "%"),
       fixed(percent(m.delivered, m.total), 2, "%"));
  line("read rate", fixed(percent(w.read, w.total), 2, "%"),
       fixed(percent(m.read, m.total), 2, "%"));
  line("avg delivery time", fixed(average(w.delivery_time_sum_ms, w.delivery_time_count), 0, " ms"),
       fixed(average(m.delivery_time_sum_ms, m.delivery_time_count), 0, " ms"));
  std::printf("\n%c%s\n", std::toupper(static_cast<unsigned char>(cmp.message[0])),
              cmp.message.c_str() + 1);
  for (const auto& n : notes)
    std::printf("note: %s\n", n.c_str());
}

}  // namespace

int run_report(Context& ctx, const po::variables_map& vm) {
  const Range range = range_of(vm);
  Read read = read_days(ctx, range);
  const Comparison cmp = compare(read.totals[0], read.totals[1]);
  const std::vector<std::string> notes = notes_of(ctx, range);
  if (ctx.json()) {
    print_report_json(range, read, cmp, notes);
  } else {
    print_report_text(range, read, cmp, notes);
  }
  return 0;
}

}  // namespace wa::cli
