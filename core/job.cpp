#include "core/job.hpp"

#include <array>
#include <boost/json.hpp>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <limits>
#include <vector>

#include "core/json_writer.hpp"

namespace wa::core {

namespace json = boost::json;

namespace {

constexpr std::int64_t kMaxInt = std::numeric_limits<std::int64_t>::max();
constexpr std::size_t kShownContactErrors = 5;

const json::value* member(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v == nullptr || v->is_null() ? nullptr : v;
}

std::string shown(const json::value& v) {
  std::string s = json::serialize(v);
  if (s.size() > 64) {
    // Never cut a multi-byte UTF-8 character in half: the error text ends up in JSON records.
    std::size_t cut = 61;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xc0) == 0x80)
      --cut;
    s.resize(cut);
    s += "...";
  }
  return s;
}

// An integer per the contract: a JSON number without fraction or exponent in min…2^63−1.
std::optional<std::int64_t> integer(const json::value& v, std::int64_t min) {
  if (v.is_int64() && v.get_int64() >= min) return v.get_int64();
  if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(kMaxInt) &&
      static_cast<std::int64_t>(v.get_uint64()) >= min) {
    return static_cast<std::int64_t>(v.get_uint64());
  }
  return std::nullopt;
}

std::optional<Id> read_id(const json::value& v) {
  if (const auto n = integer(v, 1)) return Id{std::to_string(*n), true};
  if (v.is_string() && !v.get_string().empty()) return Id{std::string(v.get_string()), false};
  return std::nullopt;
}

class Problems {
 public:
  void add(std::string_view field, std::string_view what) {
    if (!text_.empty()) text_ += "; ";
    text_ += field;
    text_ += ": ";
    text_ += what;
  }
  void expected(std::string_view field, std::string_view what, const json::value& got) {
    add(field, std::string("expected ") + std::string(what) + ", got " + shown(got));
  }
  bool empty() const noexcept { return text_.empty(); }
  std::string take() { return std::move(text_); }

 private:
  std::string text_;
};

constexpr std::string_view kIdExpectation =
    "an integer id (1 to 9223372036854775807) or a non-empty string";

std::optional<Id> required_id(const json::object& o, std::string_view field, Problems& p) {
  const json::value* v = member(o, field);
  if (v == nullptr) {
    p.add(field, "required");
    return std::nullopt;
  }
  auto id = read_id(*v);
  if (!id) p.expected(field, kIdExpectation, *v);
  return id;
}

template <typename E, std::size_t N>
std::optional<E> one_of(const json::value& v,
                        const std::array<std::pair<std::string_view, E>, N>& t) {
  if (!v.is_string()) return std::nullopt;
  for (const auto& [name, value] : t) {
    if (v.get_string() == name) return value;
  }
  return std::nullopt;
}

constexpr std::array<std::pair<std::string_view, TemplateMode>, 2> kModes{{
    {"direct", TemplateMode::direct},
    {"template", TemplateMode::template_},
}};
constexpr std::array<std::pair<std::string_view, Preference>, 3> kPreferences{{
    {"auto", Preference::automatic},
    {"webjs", Preference::webjs},
    {"meta_api", Preference::meta_api},
}};
constexpr std::array<std::pair<std::string_view, TemplateStatus>, 5> kStatuses{{
    {"APPROVED", TemplateStatus::approved},
    {"PENDING", TemplateStatus::pending},
    {"REJECTED", TemplateStatus::rejected},
    {"PAUSED", TemplateStatus::paused},
    {"DISABLED", TemplateStatus::disabled},
}};

std::optional<Template> read_template(const json::value& v, Problems& p) {
  if (!v.is_object()) {
    p.expected("template", "an object", v);
    return std::nullopt;
  }
  const json::object& o = v.get_object();
  Template t;
  bool ok = true;
  if (const json::value* id = member(o, "id")) {
    if (id->is_structured() || (id->is_double() && !std::isfinite(id->get_double()))) {
      p.expected("template.id", "a scalar (finite when a number)", *id);
      ok = false;
    } else {
      t.id_json = json::serialize(*id);
    }
  }
  if (const json::value* s = member(o, "status")) {
    if (const auto st = one_of(*s, kStatuses)) {
      t.status = *st;
    } else {
      p.expected("template.status", "one of APPROVED, PENDING, REJECTED, PAUSED, DISABLED", *s);
      ok = false;
    }
  } else {
    p.add("template.status", "required");
    ok = false;
  }
  if (const json::value* w = member(o, "webjs_compatible")) {
    if (w->is_bool()) {
      t.webjs_compatible = w->get_bool();
    } else {
      p.expected("template.webjs_compatible", "a boolean", *w);
      ok = false;
    }
  }
  return ok ? std::optional<Template>(std::move(t)) : std::nullopt;
}

void read_contacts(const json::value& v, Job& job, Problems& p) {
  if (!v.is_array()) {
    p.expected("contacts", "an array", v);
    return;
  }
  const json::array& a = v.get_array();
  job.contacts.reserve(a.size());
  std::size_t bad = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const json::value& c = a[i];
    if (const auto n = integer(c, 1)) {
      job.contacts.push_back(std::to_string(*n));
    } else if (c.is_string() && !c.get_string().empty() &&
               c.get_string().size() <= kMaxContactBytes) {
      job.contacts.emplace_back(c.get_string());
    } else if (++bad <= kShownContactErrors) {
      p.expected("contacts[" + std::to_string(i) + "]",
                 "an integer id or a non-empty string of at most 256 bytes", c);
    }
  }
  if (bad > kShownContactErrors) {
    p.add("contacts", std::to_string(bad - kShownContactErrors) + " more invalid contact ids");
  }
}

}  // namespace

namespace {

// template_mode, provider_preference and template.
void read_mode(const json::object& o, Job& job, Problems& p) {
  bool mode_known = false;
  if (const json::value* m = member(o, "template_mode")) {
    if (const auto mode = one_of(*m, kModes)) {
      job.mode = *mode;
      mode_known = true;
    } else {
      p.expected("template_mode", R"("direct" or "template")", *m);
    }
  } else {
    p.add("template_mode", "required");
  }
  if (const json::value* pref = member(o, "provider_preference")) {
    if (const auto pv = one_of(*pref, kPreferences)) {
      job.preference = *pv;
    } else {
      p.expected("provider_preference", R"("auto", "webjs" or "meta_api")", *pref);
    }
  }
  if (const json::value* t = member(o, "template")) {
    job.tmpl = read_template(*t, p);
  } else if (mode_known && job.mode == TemplateMode::template_) {
    p.add("template", "required in template mode");
  }
}

// Exactly one of contacts and contacts_key.
void read_job_contacts(const json::object& o, Job& job, Problems& p) {
  const json::value* contacts = member(o, "contacts");
  const json::value* key = member(o, "contacts_key");
  if (contacts != nullptr && key != nullptr) {
    p.add("contacts", "give exactly one of contacts and contacts_key, not both");
  } else if (contacts == nullptr && key == nullptr) {
    p.add("contacts", "one of contacts and contacts_key is required");
  } else if (contacts != nullptr) {
    read_contacts(*contacts, job, p);
  } else if (key->is_string() && !key->get_string().empty()) {
    job.contacts_key = std::string(key->get_string());
  } else {
    p.expected("contacts_key", "a non-empty string", *key);
  }
}

}  // namespace

ParsedJob parse_job(std::string_view payload) {
  ParsedJob r;
  json::parse_options opt;
  opt.max_depth = kMaxJsonDepth;
  alignas(std::max_align_t) unsigned char arena[4096];  // most payloads parse without malloc
  json::monotonic_resource mr(arena, sizeof arena);
  boost::system::error_code ec;
  const json::value v = json::parse(payload, ec, &mr, opt);
  if (ec) {
    r.job_id = derive_job_id(payload);
    r.error = "payload: not valid JSON (" + ec.message() + ")";
    return r;
  }
  if (!v.is_object()) {
    r.job_id = derive_job_id(payload);
    r.error = "payload: expected a JSON object, got " + shown(v);
    return r;
  }
  const json::object& o = v.get_object();
  Problems p;
  Job job;

  if (const json::value* id = member(o, "job_id")) {
    if (id->is_string() && !id->get_string().empty()) {
      job.job_id = id->get_string();
    } else {
      p.expected("job_id", "a non-empty string", *id);
    }
  }
  if (job.job_id.empty()) {
    job.job_id = derive_job_id(payload);
    job.job_id_derived = true;
  }
  r.job_id = job.job_id;

  r.campaign_id = required_id(o, "campaign_id", p);
  r.workspace_id = required_id(o, "workspace_id", p);

  read_mode(o, job, p);
  read_job_contacts(o, job, p);

  if (const json::value* a = member(o, "attempts")) {
    if (const auto n = integer(*a, 0)) {
      job.attempts = *n;
    } else {
      p.expected("attempts", "an integer 0 to 9223372036854775807", *a);
    }
  }

  if (!p.empty()) {
    r.error = p.take();
    return r;
  }
  job.campaign_id = *r.campaign_id;
  job.workspace_id = *r.workspace_id;
  r.job = std::move(job);
  return r;
}

namespace {

std::uint64_t rotl(std::uint64_t x, int r) noexcept {
  return (x << r) | (x >> (64 - r));
}

std::uint64_t fmix(std::uint64_t k) noexcept {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb3fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

std::uint64_t load_le(const unsigned char* p, std::size_t n) noexcept {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i)
    v |= static_cast<std::uint64_t>(p[i]) << (8 * i);
  return v;
}

// MurmurHash3 x64 128 (public domain design), seed 0.
std::array<std::uint64_t, 2> murmur3_128(std::string_view data) noexcept {
  constexpr std::uint64_t c1 = 0x87c37b91114253d5ULL, c2 = 0x4cf5ad432745937fULL;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  const std::size_t n = data.size();
  std::uint64_t h1 = 0, h2 = 0;
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    std::uint64_t k1 = load_le(p + i, 8), k2 = load_le(p + i + 8, 8);
    k1 *= c1;
    k1 = rotl(k1, 31);
    k1 *= c2;
    h1 ^= k1;
    h1 = rotl(h1, 27) + h2;
    h1 = h1 * 5 + 0x52dce729;
    k2 *= c2;
    k2 = rotl(k2, 33);
    k2 *= c1;
    h2 ^= k2;
    h2 = rotl(h2, 31) + h1;
    h2 = h2 * 5 + 0x38495ab5;
  }
  const std::size_t rest = n - i;
  std::uint64_t k1 = load_le(p + i, rest < 8 ? rest : 8);
  std::uint64_t k2 = rest > 8 ? load_le(p + i + 8, rest - 8) : 0;
  k2 *= c2;
  k2 = rotl(k2, 33);
  k2 *= c1;
  h2 ^= k2;
  k1 *= c1;
  k1 = rotl(k1, 31);
  k1 *= c2;
  h1 ^= k1;
  h1 ^= n;
  h2 ^= n;
  h1 += h2;
  h2 += h1;
  h1 = fmix(h1);
  h2 = fmix(h2);
  h1 += h2;
  h2 += h1;
  return {h1, h2};
}

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// Skips one JSON string starting at s[i] == '"'; returns the index after the closing quote.
std::size_t skip_string(std::string_view s, std::size_t i) {
  for (++i; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == '"') {
      return i + 1;
    }
  }
  return s.size();
}

// Skips one JSON value starting at s[i] (no leading space); returns the index after it.
std::size_t skip_value(std::string_view s, std::size_t i) {
  if (i >= s.size()) return i;
  if (s[i] == '"') return skip_string(s, i);
  if (s[i] == '{' || s[i] == '[') {
    int depth = 0;
    while (i < s.size()) {
      const char c = s[i];
      if (c == '"') {
        i = skip_string(s, i);
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      if (c == '}' || c == ']') {
        if (--depth == 0) return i + 1;
      }
      ++i;
    }
    return i;
  }
  while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']' && !is_space(s[i]))
    ++i;
  return i;
}

std::size_t skip_space(std::string_view s, std::size_t i) {
  while (i < s.size() && is_space(s[i]))
    ++i;
  return i;
}

std::string decode_key(std::string_view literal) {
  if (literal.find('\\') == std::string_view::npos) {
    return std::string(literal.substr(1, literal.size() - 2));
  }
  boost::system::error_code ec;
  const json::value v = json::parse(literal, ec);
  return !ec && v.is_string() ? std::string(v.get_string()) : std::string();
}

}  // namespace

std::string derive_job_id(std::string_view payload) {
  static constexpr char hex[] = "0123456789abcdef";
  const auto h = murmur3_128(payload);
  std::string id = "auto-";
  for (const std::uint64_t part : h) {
    for (int shift = 60; shift >= 0; shift -= 4)
      id.push_back(hex[(part >> shift) & 0xf]);
  }
  return id;
}

std::string rewrite_payload(std::string_view payload, std::string_view job_id,
                            std::int64_t attempts) {
  std::string out = "{";
  if (!job_id.empty()) {
    append_json_string(out, "job_id");
    out.push_back(':');
    append_json_string(out, job_id);
    out.push_back(',');
  }
  out += "\"attempts\":" + std::to_string(attempts);

  std::size_t i = skip_space(payload, 0);
  if (i < payload.size() && payload[i] == '{') ++i;
  while (true) {
    i = skip_space(payload, i);
    if (i >= payload.size() || payload[i] == '}' || payload[i] != '"') break;
    const std::size_t start = i;
    const std::size_t key_end = skip_string(payload, i);
    const std::string key = decode_key(payload.substr(start, key_end - start));
    i = skip_space(payload, key_end);
    if (i < payload.size() && payload[i] == ':') ++i;
    i = skip_space(payload, i);
    const std::size_t value_end = skip_value(payload, i);
    const bool replaced = key == "attempts" || (key == "job_id" && !job_id.empty());
    if (!replaced) {
      out.push_back(',');
      out.append(payload.substr(start, key_end - start));
      out.push_back(':');
      out.append(payload.substr(i, value_end - i));
    }
    i = skip_space(payload, value_end);
    if (i < payload.size() && payload[i] == ',') ++i;
  }
  out.push_back('}');
  return out;
}

bool is_valid_utf8(std::string_view bytes) noexcept {
  const auto* s = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t n = bytes.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len;
    std::uint32_t cp;
    if ((c & 0xe0) == 0xc0) {
      len = 2;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (std::size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += len;
  }
  return true;
}

}  // namespace wa::core
