// wa-router dead list | purge, and the dead entries parsed: the dead list of CONTRACT.md section 5.
// dead retry is in dead_retry.cpp.
#include <array>
#include <cstdio>
#include <iostream>

#include "cli/dead.hpp"
#include "core/base64.hpp"

namespace wa::cli {

namespace json = boost::json;

namespace {

// Deletes the dead list and the held entries of a retry (UNLINK: Redis frees a big list in the
// background, so purging any length takes microseconds); returns how many entries they held.
// KEYS: dead, held.
constexpr const char* kPurgeScript = R"lua(
local n = redis.call('LLEN', KEYS[1]) + redis.call('LLEN', KEYS[2])
redis.call('UNLINK', KEYS[1], KEYS[2])
return n
)lua";

// Moves up to ARGV[1] entries from the tail of the held list to the head of the dead list: the
// held entries go back in front of the dead list in their order. KEYS: held, dead.
constexpr const char* kRestoreScript = R"lua(
local moved = 0
for i = 1, tonumber(ARGV[1]) do
  if not redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'LEFT') then break end
  moved = moved + 1
end
return moved
)lua";

}  // namespace

DeadEntry parse_entry(long long index, std::string raw) {
  DeadEntry e;
  e.index = index;
  e.raw = std::move(raw);
  boost::system::error_code ec;
  const json::value v = json::parse(e.raw, ec);
  const json::object* o = ec ? nullptr : v.if_object();
  if (o == nullptr) {
    e.error = "(unreadable dead entry: not a JSON object)";
    return e;
  }
  if (const auto* err = o->if_contains("error"); err && err->is_string()) {
    e.error = std::string(err->get_string());
  }
  if (const auto* at = o->if_contains("failed_at"); at && at->is_string()) {
    e.failed_at = std::string(at->get_string());
  }
  if (const auto* p = o->if_contains("payload"); p && p->is_string()) {
    e.payload = std::string(p->get_string());
    e.readable = true;
  } else if (const auto* b = o->if_contains("payload_base64"); b && b->is_string()) {
    if (auto bytes = core::base64_decode(b->get_string())) {
      e.payload = std::move(*bytes);
      e.base64 = true;
      e.readable = true;
    }
  }
  if (!e.readable) {
    if (e.error.empty()) e.error = "(unreadable dead entry: no payload)";
    return e;
  }
  e.job = core::parse_job(e.payload);
  return e;
}

std::string held_key(Context& ctx) {
  return ctx.keys().dead() + ":held";
}

long long restore_held(Context& ctx) {
  const std::string held = held_key(ctx), dead = ctx.keys().dead();
  long long total = 0;
  for (;;) {
    const long long n =
        ctx.redis()
            .cmd({"EVAL", kRestoreScript, "2", held, dead, std::to_string(kDeadPage)})
            .integer;
    total += n;
    if (n < kDeadPage) return total;
  }
}

namespace {

// Appends the entries of the list `key`, from its head, to `out` until `out` holds `limit`
// entries (0: all), reading kDeadPage at a time.
void read_entries(Context& ctx, const std::string& key, long long limit,
                  std::vector<DeadEntry>& out) {
  for (long long at = 0;;) {
    long long want = kDeadPage;
    if (limit > 0) want = std::min(want, limit - static_cast<long long>(out.size()));
    if (want <= 0) return;
    const redis::Reply chunk =
        ctx.redis().cmd({"LRANGE", key, std::to_string(at), std::to_string(at + want - 1)});
    for (const redis::Reply& r : chunk.elements) {
      out.push_back(parse_entry(static_cast<long long>(out.size()), r.str));
    }
    if (static_cast<long long>(chunk.elements.size()) < want) return;
    at += want;
  }
}

// The dead entries from the head, at most `limit` (0: all): the held ones first.
std::vector<DeadEntry> read_dead(Context& ctx, long long limit) {
  std::vector<DeadEntry> out;
  read_entries(ctx, held_key(ctx), limit, out);
  if (limit == 0 || static_cast<long long>(out.size()) < limit) {
    read_entries(ctx, ctx.keys().dead(), limit, out);
  }
  return out;
}

json::value id_or_null(const std::optional<core::Id>& id) {
  return id ? id_json(*id) : json::value(nullptr);
}

std::string id_text(const std::optional<core::Id>& id) {
  return id ? id->text : "-";
}

}  // namespace

void dead_list_options(po::options_description& o, po::positional_options_description&) {
  o.add_options()("limit", po::value<long long>()->default_value(50)->value_name("N"),
                  "show the oldest N entries (0: all)")(
      "payload", "include each job's payload (JSON output only)");
}

int run_dead_list(Context& ctx, const po::variables_map& vm) {
  const long long limit = vm["limit"].as<long long>();
  if (limit < 0) throw UsageError("--limit: expected N >= 0");
  const bool with_payload = vm.count("payload") > 0;
  const auto lengths = ctx.redis().cmds({{"LLEN", held_key(ctx)}, {"LLEN", ctx.keys().dead()}});
  const long long total = lengths[0].integer + lengths[1].integer;
  const std::vector<DeadEntry> entries =
      total == 0 ? std::vector<DeadEntry>{} : read_dead(ctx, limit);

  if (ctx.json()) {
    json::array arr;
    for (const DeadEntry& e : entries) {
      json::object o{{"index", e.index}, {"error", e.error}, {"readable", e.readable}};
      o["failed_at"] = e.failed_at.empty() ? json::value(nullptr) : json::value(e.failed_at);
      if (e.readable) {
        o["job_id"] = e.job.job_id;
        o["campaign_id"] = id_or_null(e.job.campaign_id);
        o["workspace_id"] = id_or_null(e.job.workspace_id);
        o["valid"] = e.job.job.has_value();
        o["attempts"] = e.job.job ? json::value(e.job.job->attempts) : json::value(nullptr);
        o["encoding"] = e.base64 ? "base64" : "json";
        if (with_payload) {
          o["payload"] = e.base64 ? core::base64_encode(e.payload) : e.payload;
        }
      } else if (with_payload) {
        o["raw"] = e.raw;
      }
      arr.push_back(std::move(o));
    }
    print_json(json::object{{"key", ctx.keys().dead()},
                            {"total", total},
                            {"shown", entries.size()},
                            {"entries", std::move(arr)}});
    return 0;
  }

  std::printf("%s: %lld dead job%s", ctx.keys().dead().c_str(), total, total == 1 ? "" : "s");
  if (static_cast<long long>(entries.size()) < total) {
    std::printf(" (showing the oldest %zu; --limit 0 shows all)", entries.size());
  }
  std::printf("\n");
  if (entries.empty()) return 0;
  std::vector<std::array<std::string, 6>> rows{
      {"#", "FAILED AT", "JOB ID", "CAMPAIGN", "WORKSPACE", "ERROR"}};
  for (const DeadEntry& e : entries) {
    rows.push_back({std::to_string(e.index), e.failed_at.empty() ? "-" : e.failed_at,
                    e.readable ? e.job.job_id : "-", e.readable ? id_text(e.job.campaign_id) : "-",
                    e.readable ? id_text(e.job.workspace_id) : "-", e.error});
  }
  std::size_t width[5] = {};
  for (const auto& r : rows) {
    for (int i = 0; i < 5; ++i)
      width[i] = std::max(width[i], r[i].size());
  }
  for (const auto& r : rows) {
    for (int i = 0; i < 5; ++i)
      std::printf("%-*s  ", static_cast<int>(width[i]), r[i].c_str());
    std::printf("%s\n", r[5].c_str());
  }
  return 0;
}

void dead_purge_options(po::options_description&, po::positional_options_description&) {}

int run_dead_purge(Context& ctx, const po::variables_map&) {
  const long long n =
      ctx.redis().cmd({"EVAL", kPurgeScript, "2", ctx.keys().dead(), held_key(ctx)}).integer;
  if (ctx.json()) {
    print_json(json::object{{"key", ctx.keys().dead()}, {"purged", n}});
  } else {
    std::printf("purged %lld dead entr%s from %s\n", n, n == 1 ? "y" : "ies",
                ctx.keys().dead().c_str());
  }
  return 0;
}

}  // namespace wa::cli
