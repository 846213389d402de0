// wa-router stats: the pacing part (see stats_pace.hpp).
#include "cli/stats_pace.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/records.hpp"
#include "queue/codec.hpp"

namespace wa::cli {

namespace json = boost::json;

namespace {

// Targets read per round of pipelines (each round: 5 commands per target, then 2 per counted
// campaign), so that the command's memory does not grow with the number of sessions.
constexpr std::size_t kTargetsPerRound = 100;

std::optional<double> number(const redis::Reply& r) {
  if (r.is_nil()) return std::nullopt;
  return queue::to_number(r.str);
}

std::optional<long long> whole(const redis::Reply& r) {
  const auto v = number(r);
  if (!v) return std::nullopt;
  return static_cast<long long>(std::floor(*v));
}

void add_target_reads(const queue::Keys& k, const PaceRow& row,
                      std::vector<std::vector<std::string>>& cmds) {
  cmds.push_back({"HMGET", k.pace(row.target), "rate_per_hour", "factor", "day", "released_today",
                  "cap_today"});
  cmds.push_back({"ZCARD", k.backlog(row.target)});
  cmds.push_back({"ZRANGE", k.backlog(row.target), "0", std::to_string(kPaceCampaigns - 1)});
  cmds.push_back({"LLEN", k.ready(row.target)});
  cmds.push_back({"ZSCORE", k.pace_due(), row.target});
}

// Fills one row from its five replies; returns the campaigns whose lists are to be counted.
std::vector<std::string> take_target_reads(const redis::Reply* r, PaceRow& row) {
  const auto& f = r[0].elements;
  for (const redis::Reply& e : f)
    row.has_pace = row.has_pace || !e.is_nil();
  if (f.size() == 5) {
    row.rate_per_hour = number(f[0]);
    row.factor = number(f[1]);
    row.day = f[2].is_nil() ? "" : f[2].str;
    row.released_today = whole(f[3]);
    row.cap_today = whole(f[4]);
  }
  row.campaigns = r[1].integer;
  std::vector<std::string> campaigns;
  for (const redis::Reply& c : r[2].elements)
    campaigns.push_back(c.str);
  row.counted = static_cast<long long>(campaigns.size());
  row.ready = r[3].integer;
  row.next_ms = number(r[4]);
  return campaigns;
}

// One round: the rows' pace, backlog head, ready list and due time, then the counted campaigns'
// dispatch lists and paused flags.
void read_round(Context& ctx, std::vector<PaceRow>& rows, std::size_t from, std::size_t to) {
  const queue::Keys& k = ctx.keys();
  std::vector<std::vector<std::string>> cmds;
  for (std::size_t i = from; i < to; ++i)
    add_target_reads(k, rows[i], cmds);
  const auto replies = ctx.redis().cmds(cmds);
  cmds.clear();
  std::vector<std::size_t> owner;  // the row of each pair of campaign reads
  for (std::size_t i = from; i < to; ++i) {
    PaceRow& row = rows[i];
    const std::string list_target = row.meta ? "meta_api" : row.target;
    for (const std::string& c : take_target_reads(&replies[(i - from) * 5], row)) {
      cmds.push_back({"LLEN", k.dispatch(c, list_target)});
      cmds.push_back({"SISMEMBER", k.paused_campaigns(), c});
      owner.push_back(i);
    }
  }
  if (cmds.empty()) return;
  const auto counts = ctx.redis().cmds(cmds);
  for (std::size_t j = 0; j < owner.size(); ++j) {
    rows[owner[j]].waiting += counts[2 * j].integer;
    rows[owner[j]].paused += counts[2 * j + 1].integer;
  }
}

}  // namespace

PaceStats read_pace(Context& ctx, const std::vector<std::string>& sessions,
                    const std::vector<std::string>& workspaces) {
  PaceStats p;
  const queue::Keys& k = ctx.keys();
  const auto totals = ctx.redis().cmds({{"SCARD", k.paused_campaigns()}, {"ZCARD", k.pace_due()}});
  p.paused_campaigns = totals[0].integer;
  p.due_targets = totals[1].integer;
  p.enabled = ctx.config().pacing.enabled;
  if (!p.enabled) return p;
  std::vector<PaceRow> rows;
  for (const auto& s : sessions) {
    rows.emplace_back().target = s;
  }
  for (const auto& ws : workspaces) {
    PaceRow& row = rows.emplace_back();
    row.target = "meta_api:" + ws;
    row.meta = true;
  }
  for (std::size_t from = 0; from < rows.size(); from += kTargetsPerRound)
    read_round(ctx, rows, from, std::min(rows.size(), from + kTargetsPerRound));
  for (PaceRow& row : rows) {
    // A workspace without Meta pacing (no pace hash, nothing waiting) is not a target.
    if (row.meta && !row.has_pace && row.campaigns == 0 && row.ready == 0) continue;
    p.rows.push_back(std::move(row));
  }
  return p;
}

namespace {

// Today's cap is used up while contacts wait: nothing more is released before the next day.
bool cap_reached(const PaceRow& r) {
  return r.released_today && r.cap_today && *r.released_today >= *r.cap_today && r.campaigns > 0;
}

json::value opt(const std::optional<double>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}
json::value opt(const std::optional<long long>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

json::object row_json(const PaceRow& r, double now) {
  json::object o{{"target", r.target}, {"kind", r.meta ? "meta_api" : "webjs"}};
  o["rate_per_hour"] = opt(r.rate_per_hour);
  o["factor"] = opt(r.factor);
  o["day"] = r.day.empty() ? json::value(nullptr) : json::value(r.day);
  o["released_today"] = opt(r.released_today);
  o["cap_today"] = opt(r.cap_today);
  o["backlog"] = {{"campaigns", r.campaigns},
                  {"counted", r.counted},
                  {"complete", r.counted == r.campaigns},
                  {"paused", r.paused},
                  {"contacts", r.waiting}};
  o["ready"] = r.ready;
  o["cap_reached"] = cap_reached(r);
  if (r.next_ms) {
    o["next_release_at"] = core::iso8601(*r.next_ms / 1000.0);
    o["next_release_in_s"] = std::max(0.0, std::round(*r.next_ms / 100.0 - now * 10.0) / 10.0);
  } else {
    o["next_release_at"] = nullptr;
    o["next_release_in_s"] = nullptr;
  }
  return o;
}

}  // namespace

json::object pace_json(const PaceStats& p, double now) {
  json::object o{{"enabled", p.enabled},
                 {"paused_campaigns", p.paused_campaigns},
                 {"due_targets", p.due_targets}};
  json::array rows;
  for (const PaceRow& r : p.rows)
    rows.push_back(row_json(r, now));
  o["targets"] = std::move(rows);
  return o;
}

namespace {

std::string num_or_dash(const std::optional<double>& v, const char* format) {
  if (!v) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, format, *v);
  return buf;
}

std::string today(const PaceRow& r) {
  if (!r.released_today && !r.cap_today) return "-";
  const auto part = [](const std::optional<long long>& v) {
    return v ? std::to_string(*v) : std::string("-");
  };
  return part(r.released_today) + "/" + part(r.cap_today);
}

std::string next_release(const PaceRow& r, double now) {
  if (!r.next_ms) return "-";
  // The pacer still looks at such a target now and then (a changed cap or resume shows soon).
  if (cap_reached(r)) return "next day";
  if (r.campaigns > 0 && r.paused == r.campaigns) return "paused";
  const double in = *r.next_ms / 1000.0 - now;
  char buf[32];
  if (in <= 0) return "now";
  if (in < 60) {
    std::snprintf(buf, sizeof buf, "in %.1f s", in);
  } else if (in < 3600) {
    std::snprintf(buf, sizeof buf, "in %.0f min", in / 60);
  } else {
    std::snprintf(buf, sizeof buf, "in %.1f h", in / 3600);
  }
  return buf;
}

std::string backlog_note(const PaceRow& r) {
  std::string note;
  if (r.campaigns > r.counted) {
    note = std::to_string(kPaceCampaigns) + "+ campaigns";
  } else if (r.campaigns > 0) {
    note = std::to_string(r.campaigns) + (r.campaigns == 1 ? " campaign" : " campaigns");
  }
  if (r.paused > 0) note += ", " + std::to_string(r.paused) + " paused";
  if (cap_reached(r)) note += note.empty() ? "cap reached" : ", cap reached";
  return note;
}

}  // namespace

void print_pace(const PaceStats& p, double now) {
  if (!p.enabled) {
    std::printf("\nPacing off (pacing.enabled: false)\n");
    return;
  }
  std::printf("\nPacing (targets due: %lld, paused campaigns: %lld)\n", p.due_targets,
              p.paused_campaigns);
  if (p.rows.empty()) return;
  int width = 6;
  for (const PaceRow& r : p.rows)
    width = std::max(width, static_cast<int>(std::min<std::size_t>(r.target.size(), 40)));
  char line[512];
  const auto put = [&line] {
    std::string text(line);
    text.erase(text.find_last_not_of(' ') + 1);
    std::printf("%s\n", text.c_str());
  };
  std::snprintf(line, sizeof line, "  %-*s %9s %6s %13s %8s %6s  %-13s %s", width, "target",
                "rate/h", "factor", "released/cap", "waiting", "ready", "next release", "backlog");
  put();
  for (const PaceRow& r : p.rows) {
    const std::string waiting = std::to_string(r.waiting) + (r.campaigns > r.counted ? "+" : "");
    std::snprintf(line, sizeof line, "  %-*s %9s %6s %13s %8s %6lld  %-13s %s", width,
                  r.target.c_str(), num_or_dash(r.rate_per_hour, "%.0f").c_str(),
                  num_or_dash(r.factor, "%.2f").c_str(), today(r).c_str(), waiting.c_str(), r.ready,
                  next_release(r, now).c_str(), backlog_note(r).c_str());
    put();
  }
}

}  // namespace wa::cli
