// Domain types of the decision engine. Plain data: no I/O, no clock, no globals.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wa::core {

// Unix time in seconds with a fraction; the caller reads the clock and passes it in.
using Seconds = double;

// An id as it came in JSON: its text (used in key names) and whether it was a JSON number
// (echoed with the same JSON type).
struct Id {
  std::string text;
  bool numeric = false;
  bool operator==(const Id&) const = default;
};

enum class TemplateMode { direct, template_ };
enum class Preference { automatic, webjs, meta_api };
enum class TemplateStatus { approved, pending, rejected, paused, disabled };
enum class SessionStatus {
  connected,
  authenticated,
  connecting,
  qr_scanning,
  disconnected,
  failed,
  error,
  other
};
enum class ProviderType { webjs, meta, other };
enum class DecisionType { webjs, meta_api, queue };

enum class Reason {
  template_not_approved,
  preferred_provider,
  preferred_provider_unavailable,
  template_webjs,
  standard_template,
  primary_session,
  secondary_session,
  webjs_unavailable_fallback,
  no_provider_available,
};

std::string_view to_string(TemplateMode) noexcept;
std::string_view to_string(Preference) noexcept;
std::string_view to_string(TemplateStatus) noexcept;
std::string_view to_string(SessionStatus) noexcept;
std::string_view to_string(DecisionType) noexcept;
std::string_view to_string(Reason) noexcept;
// Unknown text maps to SessionStatus::other / ProviderType::other.
SessionStatus parse_session_status(std::string_view) noexcept;
ProviderType parse_provider_type(std::string_view) noexcept;

struct Template {
  std::string id_json;  // the `id` member re-serialised as JSON (any scalar); empty when absent
  TemplateStatus status = TemplateStatus::pending;
  bool webjs_compatible = true;
  bool operator==(const Template&) const = default;
};

// A validated campaign job (section 1). Contacts are not part of it: they stay in the payload
// (or in Redis under contacts_key) and are counted and copied only once, by the writer.
struct Job {
  std::string job_id;  // given, or derived from the payload bytes
  bool job_id_derived = false;
  Id campaign_id;
  Id workspace_id;
  TemplateMode mode = TemplateMode::direct;
  Preference preference = Preference::automatic;
  std::optional<Template> tmpl;
  std::optional<std::string> contacts_key;  // set: contacts live in that Redis list
  std::vector<std::string> contacts;        // inline contacts, as text, in input order
  std::int64_t attempts = 0;

  bool template_approved() const noexcept {
    return tmpl && tmpl->status == TemplateStatus::approved;
  }
};

// The last hour of one session's message outcomes (or a day of a workspace's, per provider).
struct WindowStats {
  std::uint64_t total = 0;
  std::uint64_t successful = 0;  // sent, delivered or read
  std::uint64_t delivered = 0;   // delivered or read
  std::uint64_t read = 0;
  std::uint64_t failed = 0;
  double response_time_sum_ms = 0;
  std::uint64_t response_time_count = 0;
  double delivery_time_sum_ms = 0;
  std::uint64_t delivery_time_count = 0;

  double success_rate() const noexcept;  // percent; 0 with no messages
  double error_rate() const noexcept;    // percent; 0 with no messages
  std::optional<double> avg_response_time_ms() const noexcept;
  std::optional<double> avg_delivery_time_ms() const noexcept;
};

// The six health metrics of section 3, each 0-100.
struct HealthMetrics {
  double connection_stability = 0;
  double message_success_rate = 0;
  double recent_activity = 0;
  double error_rate = 0;
  double response_time = 0;
  double uptime = 0;
  bool operator==(const HealthMetrics&) const = default;
};

// One session as read from `wa:session:<id>` plus its computed health.
struct Session {
  std::string id;
  bool exists = true;  // false: the id is in the workspace set but its hash is missing
  std::string uuid;
  std::string phone_number;
  ProviderType provider = ProviderType::webjs;
  SessionStatus status = SessionStatus::disconnected;
  bool is_active = false;
  bool is_primary = false;
  Seconds created_at = 0;
  std::optional<Seconds> last_connected_at;  // missing: created_at
  std::optional<Seconds> last_activity_at;   // missing: never active
  std::optional<Seconds> disconnected_at;
  int health = 0;         // health_score, 0-100 (fresh, or as stored)
  HealthMetrics metrics;  // the metrics behind `health`
  WindowStats last_hour;  // message outcomes of the last hour
};

struct MetaSettings {
  bool configured = false;
  double throughput_mps = 80;
  // Unique recipients outside the 24 h window per moving 24 h, shared by the portfolio's
  // workspaces (CONTRACT.md section 9); 0 = unlimited.
  std::uint64_t tier_limit = 250;
  std::string quality;       // GREEN | YELLOW | RED, informative only
  std::string portfolio_id;  // empty: the workspace id
};

}  // namespace wa::core
