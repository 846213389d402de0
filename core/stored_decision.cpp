#include "core/stored_decision.hpp"

#include <algorithm>
#include <boost/json.hpp>

#include "core/records.hpp"
#include "core/utf8.hpp"

namespace wa::core {

namespace json = boost::json;

namespace {

std::string text_of(const json::value* v) {
  if (v == nullptr) return {};
  if (v->is_string()) return std::string(v->get_string());
  if (v->is_int64()) return std::to_string(v->get_int64());
  if (v->is_uint64()) return std::to_string(v->get_uint64());
  return {};
}

std::optional<Template> template_of(const json::object& o) {
  const json::value* t = o.if_contains("template");
  if (t == nullptr || !t->is_object()) return std::nullopt;
  Template tmpl;
  const auto status = text_of(t->get_object().if_contains("status"));
  tmpl.status = status == "APPROVED"   ? TemplateStatus::approved
                : status == "REJECTED" ? TemplateStatus::rejected
                : status == "PAUSED"   ? TemplateStatus::paused
                : status == "DISABLED" ? TemplateStatus::disabled
                                       : TemplateStatus::pending;
  if (const json::value* w = t->get_object().if_contains("webjs_compatible"); w && w->is_bool()) {
    tmpl.webjs_compatible = w->get_bool();
  }
  return tmpl;
}

std::vector<DistributionEntry> distribution_of(const json::object& o) {
  std::vector<DistributionEntry> out;
  const json::value* d = o.if_contains("distribution");
  if (d == nullptr || !d->is_array()) return out;
  for (const json::value& e : d->get_array()) {
    if (!e.is_object()) continue;
    const auto target = text_of(e.get_object().if_contains("target"));
    const json::value* n = e.get_object().if_contains("count");
    if (target.empty() || n == nullptr || !n->is_number()) continue;
    out.push_back({target, n->to_number<std::uint64_t>()});
  }
  return out;
}

}  // namespace

std::optional<StoredCampaign> parse_stored_decision(const std::string& id,
                                                    const std::string& text) {
  boost::system::error_code ec;
  const json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const json::object& o = v.get_object();
  StoredCampaign c;
  c.id = id;
  c.decision = text;
  const json::value* cid = o.if_contains("campaign_id");
  c.campaign_id = {text_of(cid), cid != nullptr && cid->is_number()};
  c.workspace_id = text_of(o.if_contains("workspace_id"));
  if (c.workspace_id.empty()) return std::nullopt;
  const auto mode = text_of(o.if_contains("template_mode"));
  c.spec.mode = mode == "template" ? TemplateMode::template_ : TemplateMode::direct;
  const auto pref = text_of(o.if_contains("provider_preference"));
  c.spec.preference = pref == "webjs"      ? Preference::webjs
                      : pref == "meta_api" ? Preference::meta_api
                                           : Preference::automatic;
  c.spec.tmpl = template_of(o);
  c.distribution = distribution_of(o);
  return c;
}

std::string session_json(const Session* s) {
  if (s == nullptr) return "null";
  json::object so;
  // As JsonWriter writes them: valid UTF-8 whatever the app stored (core/utf8.hpp).
  so["id"] = to_valid_utf8(s->id);
  so["uuid"] = to_valid_utf8(s->uuid);
  so["phone_number"] = to_valid_utf8(s->phone_number);
  so["health_score"] = s->health;
  so["is_primary"] = s->is_primary;
  return json::serialize(so);
}

std::string updated_decision(const StoredCampaign& c, const std::vector<DistributionEntry>& dist,
                             const std::string& session) {
  json::value v = json::parse(c.decision);
  json::object& o = v.as_object();
  json::array arr;
  bool any_session = false, any_meta = false;
  for (const auto& e : dist) {
    json::object entry;
    entry["target"] = to_valid_utf8(e.target);
    entry["count"] = e.count;
    entry["key"] = to_valid_utf8(dispatch_key(c.id, e.target));
    arr.push_back(std::move(entry));
    (e.target == "meta_api" ? any_meta : any_session) = true;
  }
  o["distribution"] = std::move(arr);
  if (any_session) {
    o["type"] = "webjs";
  } else if (any_meta) {
    o["type"] = "meta_api";
  }
  const json::value* current = o.if_contains("session");
  const std::string id =
      current && current->is_object() ? text_of(current->get_object().if_contains("id")) : "";
  const bool still_there = std::any_of(
      dist.begin(), dist.end(), [&](const auto& e) { return !id.empty() && e.target == id; });
  if (!still_there) {
    boost::system::error_code ec;
    json::value s = json::parse(session, ec);
    o["session"] = ec ? json::value(nullptr) : std::move(s);
  }
  return json::serialize(v);
}

}  // namespace wa::core
