// The /status.json document (CONTRACT.md section 12) from a snapshot read by the daemon.
#include <algorithm>
#include <cmath>

#include "core/records.hpp"
#include "core/status.hpp"

namespace wa::core {

namespace json = boost::json;

namespace {

template <typename T>
json::value opt(const std::optional<T>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

// A rate rounded to tenths; a rate too large to round (a workspace's rate_per_hour of 1e308:
// × 10 overflows) as it is.
json::value tenths(const std::optional<double>& v) {
  if (!v) return nullptr;
  const double r = std::round(*v * 10) / 10;
  return std::isfinite(r) ? json::value(r) : json::value(*v);
}

// Numbers that are not finite (serialized as `Infinity`, which is not JSON) become null; the
// document is bounded, so the walk is.
void scrub(json::value& v) {
  if (v.is_double() && !std::isfinite(v.get_double())) {
    v = nullptr;
  } else if (v.is_array()) {
    for (json::value& e : v.get_array())
      scrub(e);
  } else if (v.is_object()) {
    for (auto& kv : v.get_object())
      scrub(kv.value());
  }
}

json::object target_json(const StatusTargetRow& t) {
  json::object o{{"id", t.id}, {"status", t.status}};
  o["health_score"] = opt(t.health_score);
  o["previous_score"] = opt(t.previous_score);
  o["trend"] = t.health_score && t.previous_score ? json::value(*t.health_score - *t.previous_score)
                                                  : json::value(nullptr);
  o["rate_per_hour"] = tenths(t.rate_per_hour);
  o["factor"] = opt(t.factor);
  o["released_today"] = opt(t.released_today);
  o["cap_today"] = opt(t.cap_today);
  o["backlog"] = t.backlog;
  o["backlog_campaigns"] = t.backlog_campaigns;
  o["ready"] = t.ready;
  if (t.budget_used || t.tier_limit) {
    o["budget_used"] = opt(t.budget_used);
    o["tier_limit"] = opt(t.tier_limit);
  }
  return o;
}

json::object workspace_json(const StatusWorkspace& w) {
  json::array sessions;
  for (const auto& s : w.sessions)
    sessions.push_back(target_json(s));
  json::object o{{"id", w.id}, {"sessions_total", w.sessions_total}};
  o["sessions"] = std::move(sessions);
  o["meta"] = w.meta ? json::value(target_json(*w.meta)) : json::value(nullptr);
  return o;
}

json::object campaign_json(const StatusCampaignRow& r, Seconds now) {
  const StatusCampaign& c = r.decision;
  json::object o{{"campaign_id", c.campaign_id}, {"workspace_id", c.workspace_id}};
  o["type"] = c.type;
  o["total"] = c.total;
  o["released"] = c.total - std::min(c.total, r.waiting);
  o["waiting"] = r.waiting;
  o["ready"] = r.ready;
  o["paused"] = r.paused;
  json::array targets;
  for (const auto& t : c.targets)
    targets.push_back(json::value(t.target));
  o["targets"] = std::move(targets);
  o["predicted_minutes"] = opt(c.predicted_minutes);
  if (c.selected_at) {
    o["selected_at"] = iso8601(*c.selected_at);
    o["elapsed_minutes"] = std::max(0.0, std::round((now - *c.selected_at) / 6.0) / 10.0);
  } else {
    o["selected_at"] = nullptr;
    o["elapsed_minutes"] = nullptr;
  }
  return o;
}

json::array campaigns_json(const StatusSnapshot& s, Seconds now) {
  std::vector<const StatusCampaignRow*> rows;
  for (const auto& r : s.campaigns) {
    if (r.waiting + r.ready > 0) rows.push_back(&r);
  }
  std::stable_sort(rows.begin(), rows.end(), [](const auto* a, const auto* b) {
    return a->decision.selected_at.value_or(0) > b->decision.selected_at.value_or(0);
  });
  json::array out;
  for (const auto* r : rows)
    out.push_back(campaign_json(*r, now));
  return out;
}

}  // namespace

std::string status_json(const StatusSnapshot& s, Seconds now) {
  json::object o;
  o["generated_at"] = iso8601(now);
  o["queue"] = {{"waiting", s.waiting},
                {"delayed", s.delayed},
                {"in_hand", s.in_hand},
                {"dead", s.dead_total}};
  json::array history;
  for (const auto n : s.jobs_per_minute_history)
    history.push_back(n);
  o["throughput"] = {{"jobs_per_minute", s.jobs_per_minute}, {"history", std::move(history)}};
  o["pacing"] = s.pacing;
  o["health_thresholds"] = {{"primary", s.min_score_primary}, {"secondary", s.min_score_secondary}};
  json::array workspaces;
  for (const auto& w : s.workspaces)
    workspaces.push_back(workspace_json(w));
  o["workspaces"] = std::move(workspaces);
  o["workspaces_total"] = s.workspaces_total;
  o["campaigns"] = campaigns_json(s, now);
  o["active_total"] = s.active_total;
  o["alerts"] = json::array(s.alerts.begin(), s.alerts.end());
  json::array dead;
  for (const auto& d : s.dead)
    dead.push_back(d);
  o["dead"] = std::move(dead);
  json::value doc = std::move(o);
  scrub(doc);
  return json::serialize(doc);
}

}  // namespace wa::core
