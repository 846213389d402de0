// wa-router stats: queue depths, decisions by type, sessions by health band, pacing.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <set>

#include "cli/dead.hpp"
#include "cli/stats_pace.hpp"
#include "core/records.hpp"
#include "queue/codec.hpp"

namespace wa::cli {

namespace json = boost::json;

namespace {

constexpr long long kResultsChunk = 1000;

struct Band {
  std::string label;
  std::optional<int> min, max;  // unset for "unknown"
  long long count = 0;
};

struct Stats {
  long long pending = 0, delayed = 0, reserved = 0, dead = 0, notify = 0;
  long long results = 0, scanned = 0, unreadable = 0;
  std::map<std::string, long long> by_type{{"webjs", 0}, {"meta_api", 0}, {"queue", 0}};
  std::map<std::string, long long> by_reason;
  std::map<std::string, long long> events;
  long long decisions = 0, last_hour = 0, last_day = 0;
  long long workspaces = 0, sessions = 0, connected = 0, missing = 0;
  std::vector<Band> bands;
  long long events_backlog = 0, events_malformed = 0, active = 0;
  std::vector<std::string> session_ids;  // sorted
  PaceStats pace;
};

void scan_results(Context& ctx, long long limit, double now, Stats& s) {
  SyncRedis& r = ctx.redis();
  const long long start = limit == 0 ? 0 : std::max(0LL, s.results - limit);
  for (long long at = start; at < s.results; at += kResultsChunk) {
    const long long end = std::min(s.results, at + kResultsChunk) - 1;
    const redis::Reply chunk =
        r.cmd({"LRANGE", ctx.keys().results(), std::to_string(at), std::to_string(end)});
    for (const redis::Reply& e : chunk.elements) {
      ++s.scanned;
      boost::system::error_code ec;
      const json::value v = json::parse(e.str, ec);
      const json::object* o = ec ? nullptr : v.if_object();
      if (o == nullptr) {
        ++s.unreadable;
        continue;
      }
      if (const json::value* ev = o->if_contains("event"); ev && ev->is_string()) {
        ++s.events[std::string(ev->get_string())];
        continue;
      }
      const json::value* type = o->if_contains("type");
      if (type == nullptr || !type->is_string()) {
        ++s.unreadable;
        continue;
      }
      ++s.decisions;
      ++s.by_type[std::string(type->get_string())];
      if (const json::value* reason = o->if_contains("reason"); reason && reason->is_string()) {
        ++s.by_reason[std::string(reason->get_string())];
      }
      if (const json::value* at_v = o->if_contains("selected_at"); at_v && at_v->is_string()) {
        if (const auto t = parse_iso8601(at_v->get_string())) {
          if (*t > now - 3600) ++s.last_hour;
          if (*t > now - 86400) ++s.last_day;
        }
      }
    }
    if (chunk.elements.empty()) break;  // the list shrank meanwhile
  }
}

void scan_sessions(Context& ctx, const std::vector<std::string>& workspaces, Stats& s) {
  SyncRedis& r = ctx.redis();
  const int primary = ctx.config().health.min_score_primary;
  const int secondary = ctx.config().health.min_score_secondary;
  s.bands.push_back({std::to_string(primary) + "-100", primary, 100, 0});
  if (secondary < primary) {
    s.bands.push_back(
        {std::to_string(secondary) + "-" + std::to_string(primary - 1), secondary, primary - 1, 0});
  }
  if (secondary > 0) {
    s.bands.push_back({"0-" + std::to_string(secondary - 1), 0, secondary - 1, 0});
  }
  s.bands.push_back({"unknown", std::nullopt, std::nullopt, 0});

  s.workspaces = static_cast<long long>(workspaces.size());
  std::vector<std::vector<std::string>> cmds;
  for (const auto& ws : workspaces)
    cmds.push_back({"SMEMBERS", ctx.keys().workspace_sessions(ws)});
  std::set<std::string> ids;
  for (const redis::Reply& m : r.cmds(cmds)) {
    for (const redis::Reply& id : m.elements)
      ids.insert(id.str);
  }
  cmds.clear();
  for (const auto& id : ids) {
    cmds.push_back({"HMGET", ctx.keys().session(id), "health_score", "status"});
    cmds.push_back({"EXISTS", ctx.keys().session(id)});
  }
  const auto replies = r.cmds(cmds);
  s.session_ids.assign(ids.begin(), ids.end());
  s.sessions = static_cast<long long>(ids.size());
  for (std::size_t i = 0; i + 1 < replies.size(); i += 2) {
    const redis::Reply& fields = replies[i];
    if (replies[i + 1].integer == 0) ++s.missing;
    const std::string health =
        fields.elements.size() > 0 && !fields.elements[0].is_nil() ? fields.elements[0].str : "";
    if (fields.elements.size() > 1 && fields.elements[1].str == "connected") ++s.connected;
    const auto score = queue::to_number(health);
    Band* band = &s.bands.back();  // unknown
    if (score && *score >= 0 && *score <= 100) {
      const int h = static_cast<int>(std::floor(*score));
      for (Band& b : s.bands) {
        if (b.min && h >= *b.min && h <= *b.max) {
          band = &b;
          break;
        }
      }
    }
    ++band->count;
  }
}

json::object counts_json(const std::map<std::string, long long>& m) {
  json::object o;
  for (const auto& [k, v] : m)
    o[k] = v;
  return o;
}

void print_json_stats(Context& ctx, const Stats& s, double now) {
  json::object out;
  out["queue"] = {{"name", ctx.config().queue.name},
                  {"key", ctx.keys().queue()},
                  {"pending", s.pending},
                  {"delayed", s.delayed},
                  {"reserved", s.reserved},
                  {"dead", s.dead},
                  {"notify", s.notify}};
  json::object decisions{{"total", s.decisions},
                         {"by_type", counts_json(s.by_type)},
                         {"by_reason", counts_json(s.by_reason)},
                         {"last_hour", s.last_hour},
                         {"last_24h", s.last_day}};
  out["results"] = {{"key", ctx.keys().results()},
                    {"records", s.results},
                    {"scanned", s.scanned},
                    {"unreadable", s.unreadable},
                    {"decisions", std::move(decisions)},
                    {"events", counts_json(s.events)}};
  json::array bands;
  for (const Band& b : s.bands) {
    json::object o{{"band", b.label}, {"count", b.count}};
    o["min"] = b.min ? json::value(*b.min) : json::value(nullptr);
    o["max"] = b.max ? json::value(*b.max) : json::value(nullptr);
    bands.push_back(std::move(o));
  }
  out["sessions"] = {{"workspaces", s.workspaces},
                     {"total", s.sessions},
                     {"connected", s.connected},
                     {"missing", s.missing},
                     {"health_bands", std::move(bands)}};
  out["pacing"] = pace_json(s.pace, now);
  out["events_backlog"] = s.events_backlog;
  out["events_malformed"] = s.events_malformed;
  out["active_campaigns"] = s.active;
  out["generated_at"] = core::iso8601(now);
  print_json(out);
}

void row(const std::string& label, long long value, const std::string& note = "") {
  std::printf("  %-28s %10lld%s%s\n", label.c_str(), value, note.empty() ? "" : "  ", note.c_str());
}

void print_table(Context& ctx, const Stats& s, double now) {
  std::printf("Queue %s\n", ctx.keys().queue().c_str());
  row("pending", s.pending);
  row("delayed (waiting to retry)", s.delayed);
  row("reserved (in hand)", s.reserved);
  row("dead", s.dead);

  std::string scanned =
      s.scanned == s.results ? "all scanned" : "newest " + std::to_string(s.scanned) + " scanned";
  std::printf("\nDecisions (%s: %lld records, %s)\n", ctx.keys().results().c_str(), s.results,
              scanned.c_str());
  for (const auto& [type, n] : s.by_type)
    row(type, n);
  row("total", s.decisions);
  row("in the last hour", s.last_hour);
  row("in the last 24 h", s.last_day);
  if (!s.by_reason.empty()) {
    std::printf("  by reason:\n");
    for (const auto& [reason, n] : s.by_reason)
      row("  " + reason, n);
  }
  for (const auto& [event, n] : s.events)
    row(event + " events", n);
  if (s.unreadable > 0) row("unreadable records", s.unreadable);

  std::printf("\nSessions (%lld in %lld workspaces, %lld connected)\n", s.sessions, s.workspaces,
              s.connected);
  for (const Band& b : s.bands) {
    std::string note;
    if (!b.min && s.missing > 0) note = std::to_string(s.missing) + " without a session hash";
    row("health " + b.label, b.count, note);
  }
  print_pace(s.pace, now);

  std::printf("\nOther\n");
  row("active campaigns", s.active);
  row("events waiting (wa:events)", s.events_backlog);
  row("malformed events dropped", s.events_malformed);
}

}  // namespace

void stats_options(po::options_description& o, po::positional_options_description&) {
  o.add_options()("results-limit", po::value<long long>()->default_value(100000)->value_name("N"),
                  "count decisions over the newest N records of wa:results (0: all)");
}

int run_stats(Context& ctx, const po::variables_map& vm) {
  const long long limit = vm["results-limit"].as<long long>();
  if (limit < 0) throw UsageError("--results-limit: expected N >= 0");
  const double now = now_seconds();
  SyncRedis& r = ctx.redis();
  const auto& k = ctx.keys();
  const auto replies = r.cmds({{"LLEN", k.queue()},
                               {"ZCARD", k.delayed()},
                               {"ZCARD", k.reserved()},
                               {"LLEN", k.dead()},
                               {"LLEN", k.notify()},
                               {"LLEN", k.results()},
                               {"LLEN", k.events()},
                               {"ZCARD", k.active()},
                               {"GET", k.events_malformed()},
                               {"SMEMBERS", k.workspaces()},
                               {"LLEN", held_key(ctx)}});
  Stats s;
  s.pending = replies[0].integer;
  s.delayed = replies[1].integer;
  s.reserved = replies[2].integer;
  s.dead = replies[3].integer + replies[10].integer;  // with what a running retry holds
  s.notify = replies[4].integer;
  s.results = replies[5].integer;
  s.events_backlog = replies[6].integer;
  s.active = replies[7].integer;
  s.events_malformed = static_cast<long long>(queue::to_number(replies[8].str).value_or(0));
  std::vector<std::string> workspaces;
  for (const redis::Reply& w : replies[9].elements)
    workspaces.push_back(w.str);
  std::sort(workspaces.begin(), workspaces.end());

  scan_results(ctx, limit, now, s);
  scan_sessions(ctx, workspaces, s);
  s.pace = read_pace(ctx, s.session_ids, workspaces);
  if (ctx.json()) {
    print_json_stats(ctx, s, now);
  } else {
    print_table(ctx, s, now);
  }
  return 0;
}

}  // namespace wa::cli
