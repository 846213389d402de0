// Small builders shared by the core/ unit tests: sessions, workspaces and campaign specs that
// read like the CONTRACT's prose instead of long field-by-field setup.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "core/select.hpp"
#include "core/types.hpp"

namespace wa::test {

using core::CampaignSpec;
using core::MetaSettings;
using core::Preference;
using core::Session;
using core::SessionStatus;
using core::Template;
using core::TemplateMode;
using core::TemplateStatus;
using core::WindowStats;
using core::WorkspaceView;

inline constexpr core::Seconds kNow = 1'800'000'000;

// A healthy-looking webjs session: connected, active, with `health` as its score and metrics
// that a session with good messages would have (success 100, response 90, no errors). The
// last hour has no messages, so it breaks no switch threshold by error rate or response time.
inline Session make_session(std::string id, int health, bool primary = false) {
  Session s;
  s.id = std::move(id);
  s.exists = true;
  s.uuid = "uuid-" + s.id;
  s.phone_number = "+1555" + s.id;
  s.provider = core::ProviderType::webjs;
  s.status = SessionStatus::connected;
  s.is_active = true;
  s.is_primary = primary;
  s.created_at = kNow - 86400;
  s.last_connected_at = s.created_at;
  s.last_activity_at = kNow - 60;
  s.health = health;
  s.metrics = {100, 100, 100, 0, 90, 100};
  return s;
}

// Message statistics of `total` messages of which `failed` failed, every one reporting
// `response_ms` as its response time (when given).
inline WindowStats stats(std::uint64_t total, std::uint64_t failed,
                         std::optional<double> response_ms = std::nullopt) {
  WindowStats w;
  w.total = total;
  w.failed = failed;
  w.successful = total - failed;
  w.delivered = w.successful;
  if (response_ms) {
    w.response_time_count = total;
    w.response_time_sum_ms = *response_ms * static_cast<double>(total);
  }
  return w;
}

// A workspace whose parts tests set directly; view() is what decide() reads.
struct Workspace {
  std::vector<Session> sessions;
  MetaSettings meta;
  WindowStats webjs_7d;
  WindowStats meta_7d;

  WorkspaceView view() const { return {sessions, meta, webjs_7d, meta_7d}; }
  Session& add(Session s) {
    sessions.push_back(std::move(s));
    return sessions.back();
  }
};

inline Template tmpl(TemplateStatus status, bool webjs_compatible = true) {
  Template t;
  t.status = status;
  t.webjs_compatible = webjs_compatible;
  return t;
}

inline CampaignSpec direct(Preference p = Preference::automatic,
                           std::optional<Template> t = std::nullopt) {
  return {TemplateMode::direct, p, std::move(t)};
}

inline CampaignSpec templated(TemplateStatus status, bool webjs_compatible = true,
                              Preference p = Preference::automatic) {
  return {TemplateMode::template_, p, tmpl(status, webjs_compatible)};
}

}  // namespace wa::test
