#include "core/status.hpp"

#include <cmath>
#include <cstdio>

namespace wa::core {

namespace json = boost::json;

namespace {

std::optional<json::object> parse_object(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

bool is_id(const json::value* v) {
  return v != nullptr &&
         ((v->is_string() && !v->get_string().empty()) || v->is_int64() || v->is_uint64());
}

std::optional<double> number_of(const json::value* v) {
  if (v == nullptr || !v->is_number()) return std::nullopt;
  return v->to_number<double>();
}

void read_targets(const json::object& o, StatusCampaign& c) {
  const json::value* dist = o.if_contains("distribution");
  if (dist == nullptr || !dist->is_array()) return;
  for (const json::value& e : dist->get_array()) {
    const json::object* t = e.if_object();
    if (t == nullptr) continue;
    const json::value* target = t->if_contains("target");
    const json::value* key = t->if_contains("key");
    const auto count = number_of(t->if_contains("count"));
    if (target == nullptr || !target->is_string() || key == nullptr || !key->is_string()) continue;
    StatusTarget st{std::string(target->get_string()), std::string(key->get_string()), 0};
    if (count && *count > 0) st.count = static_cast<std::uint64_t>(*count);
    c.total += st.count;
    c.targets.push_back(std::move(st));
  }
}

void read_prediction(const json::object& o, StatusCampaign& c) {
  const json::value* p = o.if_contains("prediction");
  if (p == nullptr || !p->is_object()) return;
  const json::value* mine = p->get_object().if_contains(c.type);
  if (mine == nullptr || !mine->is_object()) return;
  c.predicted_minutes = number_of(mine->get_object().if_contains("estimated_minutes"));
}

}  // namespace

void Throughput::add(Seconds now, std::uint64_t n) {
  const auto second = static_cast<std::int64_t>(std::floor(now));
  const auto slot = static_cast<std::size_t>(second % static_cast<std::int64_t>(kSeconds));
  if (stamps_[slot] != second) {
    stamps_[slot] = second;
    counts_[slot] = 0;
  }
  counts_[slot] += n;
}

std::uint64_t Throughput::within(Seconds now, std::size_t seconds) const {
  const auto last = static_cast<std::int64_t>(std::floor(now));
  const auto first = last - static_cast<std::int64_t>(std::min(seconds, kSeconds)) + 1;
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < kSeconds; ++i) {
    if (stamps_[i] >= first && stamps_[i] <= last) sum += counts_[i];
  }
  return sum;
}

std::vector<std::uint64_t> Throughput::per_minute(Seconds now, std::size_t minutes) const {
  minutes = std::min(minutes, kSeconds / 60);
  std::vector<std::uint64_t> out(minutes, 0);
  const auto last = static_cast<std::int64_t>(std::floor(now));
  for (std::size_t i = 0; i < kSeconds; ++i) {
    const std::int64_t age = last - stamps_[i];  // 0: this second
    if (stamps_[i] == 0 || age < 0) continue;
    const auto minute_ago = static_cast<std::size_t>(age / 60);
    if (minute_ago < minutes) out[minutes - 1 - minute_ago] += counts_[i];
  }
  return out;
}

std::string id_text(const json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_int64()) return std::to_string(v.get_int64());
  if (v.is_uint64()) return std::to_string(v.get_uint64());
  return "";
}

std::optional<StatusCampaign> parse_status_campaign(std::string_view text) {
  auto o = parse_object(text);
  if (!o) return std::nullopt;
  const json::value* id = o->if_contains("campaign_id");
  if (!is_id(id)) return std::nullopt;
  StatusCampaign c;
  c.campaign_id = *id;
  c.id_text = id_text(*id);
  if (const json::value* ws = o->if_contains("workspace_id"); is_id(ws)) {
    c.workspace_id = *ws;
    c.workspace_text = id_text(*ws);
  }
  if (const json::value* t = o->if_contains("type"); t && t->is_string()) {
    c.type = std::string(t->get_string());
  }
  read_targets(*o, c);
  read_prediction(*o, c);
  if (const json::value* at = o->if_contains("selected_at"); at && at->is_string()) {
    c.selected_at = parse_iso8601_utc(at->get_string());
  }
  return c;
}

std::string status_pacing_target(const StatusCampaign& c, const StatusTarget& t) {
  return t.target == "meta_api" ? "meta_api:" + c.workspace_text : t.target;
}

json::object status_dead_entry(std::string_view entry) {
  json::object out;
  auto o = parse_object(entry);
  if (!o) {
    out["error"] = "unreadable dead entry: " + std::string(entry.substr(0, 200));
    out["failed_at"] = nullptr;
    return out;
  }
  const json::value* payload = o->if_contains("payload");
  if (payload != nullptr && payload->is_string()) {
    if (auto job = parse_object(payload->get_string())) {
      if (const json::value* j = job->if_contains("job_id"); j && j->is_string()) {
        out["job_id"] = *j;
      }
      if (const json::value* c = job->if_contains("campaign_id"); is_id(c)) out["campaign_id"] = *c;
    }
  }
  const json::value* error = o->if_contains("error");
  out["error"] = error != nullptr && error->is_string() ? *error : json::value("");
  const json::value* at = o->if_contains("failed_at");
  out["failed_at"] = at != nullptr ? *at : json::value(nullptr);
  return out;
}

std::string released_campaign(std::string_view item) {
  auto o = parse_object(item);
  if (!o) return "";
  const json::value* c = o->if_contains("campaign_id");
  return is_id(c) ? id_text(*c) : "";
}

std::optional<Seconds> parse_iso8601_utc(std::string_view s) {
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s.back() != 'Z') {
    return std::nullopt;
  }
  const std::string text(s);
  int y = 0, mo = 0, d = 0, h = 0, mi = 0;
  double sec = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%lfZ", &y, &mo, &d, &h, &mi, &sec) != 6) {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec < 0 || sec >= 61) {
    return std::nullopt;
  }
  // Days from the civil date (Howard Hinnant's algorithm).
  const int yy = y - (mo <= 2 ? 1 : 0);
  const int era = (yy >= 0 ? yy : yy - 399) / 400;
  const int yoe = yy - era * 400;
  const int doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const long long days = static_cast<long long>(era) * 146097 + doe - 719468;
  return static_cast<Seconds>(days * 86400 + h * 3600 + mi * 60) + sec;
}

}  // namespace wa::core
