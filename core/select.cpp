#include "core/select.hpp"

#include <algorithm>
#include <cmath>

namespace wa::core {

CampaignSpec spec_of(const Job& job) {
  return {job.mode, job.preference, job.tmpl};
}

std::string_view to_string(SwitchReason r) noexcept {
  switch (r) {
    case SwitchReason::disconnected:
      return "disconnected";
    case SwitchReason::health_below_threshold:
      return "health_below_threshold";
    case SwitchReason::error_rate_above_threshold:
      return "error_rate_above_threshold";
    case SwitchReason::response_time_above_threshold:
      return "response_time_above_threshold";
  }
  return "disconnected";
}

std::optional<SwitchReason> switch_break(const Session* s, const config::SwitchThresholds& t) {
  if (s == nullptr || !s->exists || s->status != SessionStatus::connected || !s->is_active) {
    return SwitchReason::disconnected;
  }
  if (s->health < t.health_score_threshold) return SwitchReason::health_below_threshold;
  if (s->last_hour.error_rate() > t.error_rate_threshold) {
    return SwitchReason::error_rate_above_threshold;
  }
  if (const auto avg = s->last_hour.avg_response_time_ms();
      avg && *avg > t.response_time_threshold) {
    return SwitchReason::response_time_above_threshold;
  }
  return std::nullopt;
}

namespace {

bool tier_before(const Session* a, const Session* b) noexcept {
  if (a->is_primary != b->is_primary) return a->is_primary;
  if (a->health != b->health) return a->health > b->health;
  if (a->last_activity_at.has_value() != b->last_activity_at.has_value()) {
    return a->last_activity_at.has_value();
  }
  if (a->last_activity_at && *a->last_activity_at != *b->last_activity_at) {
    return *a->last_activity_at > *b->last_activity_at;
  }
  return a->id < b->id;
}

}  // namespace

std::vector<const Session*> eligible_sessions(std::span<const Session> sessions,
                                              const config::Config& cfg) {
  std::vector<const Session*> out;
  out.reserve(sessions.size());
  for (const Session& s : sessions) {
    if (!s.exists || s.provider != ProviderType::webjs || s.status != SessionStatus::connected ||
        !s.is_active || s.health < cfg.health.min_score_secondary) {
      continue;
    }
    if (cfg.selection.enable_auto_switching && switch_break(&s, cfg.selection.switch_thresholds)) {
      continue;
    }
    out.push_back(&s);
  }
  std::sort(out.begin(), out.end(), tier_before);
  if (out.size() > static_cast<std::size_t>(cfg.health.max_sessions_per_workspace)) {
    out.resize(static_cast<std::size_t>(cfg.health.max_sessions_per_workspace));
  }
  return out;
}

std::optional<std::uint64_t> estimate_minutes(std::uint64_t contacts, double capacity_per_hour) {
  if (contacts == 0) return 0;
  if (!(capacity_per_hour > 0) || !std::isfinite(capacity_per_hour)) return std::nullopt;
  // One division (exact whenever the quotient is a whole number of minutes and the capacity an
  // integer), and a whole number a few ulps above itself stays that number: 1860 contacts at
  // 3600/h are 31 minutes, not ceil(31.000000000000004) = 32.
  const double minutes = static_cast<double>(contacts) * 60.0 / capacity_per_hour;
  // A capacity so small that the estimate is beyond any integer: no estimate (not a wrapped one).
  if (!std::isfinite(minutes) || minutes > 1e15) return std::nullopt;
  const double whole = std::round(minutes);
  if (std::abs(minutes - whole) <= 1e-9 * std::max(1.0, whole)) {
    return static_cast<std::uint64_t>(whole);
  }
  return static_cast<std::uint64_t>(std::ceil(minutes));
}

std::optional<std::uint64_t> estimate_meta_minutes(std::uint64_t contacts, double capacity_per_hour,
                                                   std::uint64_t tier_limit) {
  if (contacts == 0) return 0;
  if (tier_limit == 0) return estimate_minutes(contacts, capacity_per_hour);  // unlimited
  const std::uint64_t days = (contacts + tier_limit - 1) / tier_limit;        // >= 1
  const std::uint64_t last_day = contacts - (days - 1) * tier_limit;
  const auto last = estimate_minutes(last_day, capacity_per_hour);
  if (!last) return std::nullopt;
  return (days - 1) * 1440 + *last;
}

namespace {

struct Options {
  std::vector<const Session*> eligible;  // secondary tier, tier order
  const Session* best_primary = nullptr;
  bool webjs_fits = false;  // the job may use webjs at all (webjs_compatible in template mode)
  bool meta_ok = false;     // configured and an APPROVED template
};

double mean_health_factor(const std::vector<const Session*>& eligible) {
  if (eligible.empty()) return 0;
  double sum = 0;
  int strong = 0;
  for (const Session* s : eligible) {
    sum += s->health;
    if (s->health >= 70) ++strong;
  }
  const double mean = sum / static_cast<double>(eligible.size());
  return std::min(100.0, mean * std::min(1.5, 1.0 + 0.1 * strong));
}

double performance_factor(const WorkspaceView& ws) {
  double best = -1;
  for (const WindowStats* w : {&ws.webjs_7d, &ws.meta_7d}) {
    if (w->total > 0) best = std::max(best, w->success_rate());
  }
  return best < 0 ? 50.0 : best;
}

// The slowest of the sessions the contacts would be spread over (section 8).
std::optional<std::uint64_t> paced_webjs_minutes(const CampaignSpec& spec, std::uint64_t contacts,
                                                 const std::vector<const Session*>& eligible,
                                                 const WorkspacePace& pace,
                                                 const config::Config& cfg, Seconds now) {
  const auto slices = allocate(contacts, eligible, spec.mode, cfg.load_balancing);
  std::optional<std::uint64_t> slowest = 0;
  for (std::size_t i = 0; i < slices.size(); ++i) {
    if (slices[i].count == 0) continue;
    const auto m = paced_session_minutes(*eligible[i], slices[i].count, pace, cfg, now);
    if (!m) return std::nullopt;
    slowest = std::max(*slowest, *m);
  }
  return slowest;
}

Prediction predict(const CampaignSpec& spec, std::uint64_t contacts, const WorkspaceView& ws,
                   const Options& o, const config::Config& cfg, Seconds now) {
  Prediction p;
  p.webjs.session_count = o.eligible.size();
  for (const Session* s : o.eligible) {
    p.webjs.capacity_per_hour += session_capacity(*s, spec.mode, cfg.load_balancing);
  }
  p.webjs.available = !o.eligible.empty() && o.webjs_fits;
  const WorkspacePace* pace = cfg.pacing.enabled ? ws.pace : nullptr;
  if (p.webjs.available && pace != nullptr) {
    p.webjs.estimated_minutes = paced_webjs_minutes(spec, contacts, o.eligible, *pace, cfg, now);
  } else if (p.webjs.available) {
    p.webjs.estimated_minutes = estimate_minutes(contacts, p.webjs.capacity_per_hour);
  }

  p.meta_api.capacity_per_hour = ws.meta.throughput_mps * 3600.0;
  p.meta_api.tier_limit = ws.meta.tier_limit;
  p.meta_api.available = o.meta_ok;
  if (p.meta_api.available && pace != nullptr) {
    const auto t = pace->targets.find("meta_api");
    p.meta_api.estimated_minutes =
        paced_meta_minutes(contacts, p.meta_api.capacity_per_hour, ws.meta.tier_limit,
                           t == pace->targets.end() ? nullptr : &t->second, *pace, now);
  } else if (p.meta_api.available) {
    p.meta_api.estimated_minutes =
        estimate_meta_minutes(contacts, p.meta_api.capacity_per_hour, ws.meta.tier_limit);
  }
  const auto& w = p.webjs.estimated_minutes;
  const auto& m = p.meta_api.estimated_minutes;
  if (w && (!m || *w <= *m)) {
    p.recommended = DecisionType::webjs;
  } else if (m) {
    p.recommended = DecisionType::meta_api;
  }
  return p;
}

// The webjs distribution: slices by the strategy, or with sticky contacts an owner per position.
void distribute_webjs(Decision& d, const CampaignSpec& spec, std::uint64_t contacts,
                      const std::vector<const Session*>& eligible, const config::Config& cfg,
                      const StickyContacts* sticky) {
  std::vector<std::uint16_t> held;
  if (sticky != nullptr && sticky->at.size() == contacts)
    held = sticky_positions(*sticky, eligible);
  if (held.empty()) {
    const auto slices = allocate(contacts, eligible, spec.mode, cfg.load_balancing);
    for (std::size_t i = 0; i < slices.size(); ++i) {
      if (slices[i].count > 0) d.distribution.push_back({eligible[i]->id, eligible[i], slices[i]});
    }
    return;
  }
  StickyAllocation a = allocate_sticky(held, eligible, spec.mode, cfg.load_balancing);
  std::vector<std::uint16_t> index(eligible.size(), kNotSticky);
  for (std::size_t i = 0; i < eligible.size(); ++i) {
    if (a.counts[i] == 0) continue;
    index[i] = static_cast<std::uint16_t>(d.distribution.size());
    d.distribution.push_back({eligible[i]->id, eligible[i], {0, 0, a.counts[i]}});
  }
  for (std::uint16_t& o : a.owner)
    o = index[o];
  d.owner = std::move(a.owner);
}

}  // namespace

namespace {

// The sessions and providers a job may use (section 4's eligibility).
Options options_of(const CampaignSpec& spec, const WorkspaceView& ws, const config::Config& cfg) {
  Options o;
  o.eligible = eligible_sessions(ws.sessions, cfg);
  for (const Session* s : o.eligible) {
    if (s->health >= cfg.health.min_score_primary) {
      o.best_primary = s;
      break;
    }
  }
  const bool templated = spec.mode == TemplateMode::template_;
  o.webjs_fits = !templated || (spec.tmpl && spec.tmpl->webjs_compatible);
  o.meta_ok = ws.meta.configured && spec.template_approved();
  return o;
}

void fill_factors(Factors& f, const CampaignSpec& spec, const WorkspaceView& ws, const Options& o,
                  bool preference_available) {
  const bool templated = spec.mode == TemplateMode::template_;
  f.campaign_mode_score = !templated ? 100.0 : (spec.template_approved() ? 75.0 : 0.0);
  f.session_health_score = mean_health_factor(o.eligible);
  f.user_preference_score =
      spec.preference == Preference::automatic ? 50.0 : (preference_available ? 100.0 : 0.0);
  f.performance_score = performance_factor(ws);
  f.weighted_score = 0.4 * f.campaign_mode_score + 0.3 * f.session_health_score +
                     0.2 * f.user_preference_score + 0.1 * f.performance_score;
}

}  // namespace

Decision decide(const CampaignSpec& spec, std::uint64_t contacts, const WorkspaceView& ws,
                const config::Config& cfg, Seconds now, const StickyContacts* sticky) {
  const Options o = options_of(spec, ws, cfg);
  const bool templated = spec.mode == TemplateMode::template_;
  const bool webjs_ok = o.webjs_fits && !o.eligible.empty();

  Decision d;
  auto use_webjs = [&](Reason r, const Session* session) {
    d.type = DecisionType::webjs;
    d.reason = r;
    d.session = session;
  };
  auto use_meta = [&](Reason r) {
    d.type = DecisionType::meta_api;
    d.reason = r;
  };
  auto wait = [&](Reason r) {
    d.type = DecisionType::queue;
    d.reason = r;
  };
  const Session* best =
      o.best_primary ? o.best_primary : (o.eligible.empty() ? nullptr : o.eligible.front());

  const bool preference_available = spec.preference == Preference::webjs
                                        ? webjs_ok
                                        : (spec.preference == Preference::meta_api && o.meta_ok);
  if (templated && !spec.template_approved()) {
    wait(Reason::template_not_approved);
    d.permanent = spec.tmpl && (spec.tmpl->status == TemplateStatus::rejected ||
                                spec.tmpl->status == TemplateStatus::disabled);
  } else if (spec.preference != Preference::automatic) {
    if (!preference_available) {
      wait(Reason::preferred_provider_unavailable);
    } else if (spec.preference == Preference::webjs) {
      use_webjs(Reason::preferred_provider, best);
    } else {
      use_meta(Reason::preferred_provider);
    }
  } else if (templated) {
    if (o.webjs_fits && o.best_primary) {
      use_webjs(Reason::template_webjs, o.best_primary);
    } else if (ws.meta.configured) {
      use_meta(Reason::standard_template);
    } else if (webjs_ok) {
      use_webjs(Reason::template_webjs, best);
    } else {
      wait(Reason::no_provider_available);
    }
  } else if (o.best_primary) {
    use_webjs(Reason::primary_session, o.best_primary);
  } else if (!o.eligible.empty()) {
    use_webjs(Reason::secondary_session, o.eligible.front());
  } else if (o.meta_ok) {
    use_meta(Reason::webjs_unavailable_fallback);
  } else {
    wait(Reason::no_provider_available);
  }

  if (d.type == DecisionType::webjs) {
    d.confidence = std::min(100, d.session->health + (d.session->is_primary ? 10 : 0));
    distribute_webjs(d, spec, contacts, o.eligible, cfg, sticky);
  } else if (d.type == DecisionType::meta_api) {
    d.confidence = 75;
    if (contacts > 0) d.distribution.push_back({"meta_api", nullptr, {0, 1, contacts}});
  }

  fill_factors(d.factors, spec, ws, o, preference_available);

  if (cfg.load_balancing.enable_predictive_analytics) {
    d.prediction = predict(spec, contacts, ws, o, cfg, now);
  }
  return d;
}

void add_to_backlogs(WorkspacePace& pace, const Decision& d) {
  for (const Target& t : d.distribution)
    pace.targets[t.target].campaign_backlogs.push_back(t.slice.count);
}

}  // namespace wa::core
