#include "core/types.hpp"

#include <array>
#include <utility>

namespace wa::core {

namespace {
template <typename E, std::size_t N>
E parse_enum(std::string_view text, const std::array<std::pair<std::string_view, E>, N>& table,
             E fallback) noexcept {
  for (const auto& [name, value] : table) {
    if (name == text) return value;
  }
  return fallback;
}
}  // namespace

std::string_view to_string(TemplateMode m) noexcept {
  return m == TemplateMode::direct ? "direct" : "template";
}

std::string_view to_string(Preference p) noexcept {
  switch (p) {
    case Preference::automatic:
      return "auto";
    case Preference::webjs:
      return "webjs";
    case Preference::meta_api:
      return "meta_api";
  }
  return "auto";
}

std::string_view to_string(TemplateStatus s) noexcept {
  switch (s) {
    case TemplateStatus::approved:
      return "APPROVED";
    case TemplateStatus::pending:
      return "PENDING";
    case TemplateStatus::rejected:
      return "REJECTED";
    case TemplateStatus::paused:
      return "PAUSED";
    case TemplateStatus::disabled:
      return "DISABLED";
  }
  return "PENDING";
}

std::string_view to_string(SessionStatus s) noexcept {
  switch (s) {
    case SessionStatus::connected:
      return "connected";
    case SessionStatus::authenticated:
      return "authenticated";
    case SessionStatus::connecting:
      return "connecting";
    case SessionStatus::qr_scanning:
      return "qr_scanning";
    case SessionStatus::disconnected:
      return "disconnected";
    case SessionStatus::failed:
      return "failed";
    case SessionStatus::error:
      return "error";
    case SessionStatus::other:
      return "other";
  }
  return "other";
}

std::string_view to_string(DecisionType t) noexcept {
  switch (t) {
    case DecisionType::webjs:
      return "webjs";
    case DecisionType::meta_api:
      return "meta_api";
    case DecisionType::queue:
      return "queue";
  }
  return "queue";
}

std::string_view to_string(Reason r) noexcept {
  switch (r) {
    case Reason::template_not_approved:
      return "template_not_approved";
    case Reason::preferred_provider:
      return "preferred_provider";
    case Reason::preferred_provider_unavailable:
      return "preferred_provider_unavailable";
    case Reason::template_webjs:
      return "template_webjs";
    case Reason::standard_template:
      return "standard_template";
    case Reason::primary_session:
      return "primary_session";
    case Reason::secondary_session:
      return "secondary_session";
    case Reason::webjs_unavailable_fallback:
      return "webjs_unavailable_fallback";
    case Reason::no_provider_available:
      return "no_provider_available";
  }
  return "no_provider_available";
}

SessionStatus parse_session_status(std::string_view text) noexcept {
  static constexpr std::array<std::pair<std::string_view, SessionStatus>, 7> table{{
      {"connected", SessionStatus::connected},
      {"authenticated", SessionStatus::authenticated},
      {"connecting", SessionStatus::connecting},
      {"qr_scanning", SessionStatus::qr_scanning},
      {"disconnected", SessionStatus::disconnected},
      {"failed", SessionStatus::failed},
      {"error", SessionStatus::error},
  }};
  return parse_enum(text, table, SessionStatus::other);
}

ProviderType parse_provider_type(std::string_view text) noexcept {
  static constexpr std::array<std::pair<std::string_view, ProviderType>, 2> table{{
      {"webjs", ProviderType::webjs},
      {"meta", ProviderType::meta},
  }};
  return parse_enum(text, table, ProviderType::other);
}

double WindowStats::success_rate() const noexcept {
  return total ? static_cast<double>(successful) * 100.0 / static_cast<double>(total) : 0.0;
}

double WindowStats::error_rate() const noexcept {
  return total ? static_cast<double>(failed) * 100.0 / static_cast<double>(total) : 0.0;
}

std::optional<double> WindowStats::avg_response_time_ms() const noexcept {
  if (!response_time_count) return std::nullopt;
  return response_time_sum_ms / static_cast<double>(response_time_count);
}

std::optional<double> WindowStats::avg_delivery_time_ms() const noexcept {
  if (!delivery_time_count) return std::nullopt;
  return delivery_time_sum_ms / static_cast<double>(delivery_time_count);
}

}  // namespace wa::core
