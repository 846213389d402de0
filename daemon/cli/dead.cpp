// wa-router dead list | retry | purge: the dead list of CONTRACT.md section 5.
#include <array>
#include <cstdio>
#include <iostream>

#include "core/job.hpp"
#include "daemon/cli/cli.hpp"

namespace wa::cli {

namespace json = boost::json;

namespace {

constexpr long long kChunk = 1000;

// Removes one dead entry, pushes its payload to the queue tail with its notify entry and
// deletes the job's exactly-once markers, all at once; 0 when the entry is gone meanwhile.
// KEYS: dead, queue, notify, markers...; ARGV: entry, payload.
constexpr const char* kRetryScript = R"lua(
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('RPUSH', KEYS[3], 1)
for i = 4, #KEYS do redis.call('DEL', KEYS[i]) end
return 1
)lua";

constexpr const char* kPurgeScript = R"lua(
local n = redis.call('LLEN', KEYS[1])
redis.call('DEL', KEYS[1])
return n
)lua";

struct DeadEntry {
  long long index = 0;
  std::string raw;
  bool readable = false;  // a JSON object with payload or payload_base64
  bool base64 = false;
  std::string payload;
  std::string error;
  std::string failed_at;
  core::ParsedJob job;
};

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
    if (auto bytes = base64_decode(b->get_string())) {
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

// Dead entries from the head, at most `limit` (0: all).
std::vector<DeadEntry> read_dead(Context& ctx, long long limit) {
  std::vector<DeadEntry> out;
  for (long long at = 0;; at += kChunk) {
    long long end = at + kChunk - 1;
    if (limit > 0) end = std::min(end, limit - 1);
    if (end < at) break;
    const RReply chunk =
        ctx.redis().cmd({"LRANGE", ctx.keys().dead(), std::to_string(at), std::to_string(end)});
    for (const RReply& r : chunk.elements) {
      out.push_back(parse_entry(static_cast<long long>(out.size()), r.str));
    }
    if (static_cast<long long>(chunk.elements.size()) < end - at + 1) break;
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
  const long long total = ctx.redis().cmd({"LLEN", ctx.keys().dead()}).integer;
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

void dead_retry_options(po::options_description& o, po::positional_options_description& pos) {
  o.add_options()("job-id", po::value<std::string>()->value_name("JOB_ID"),
                  "retry the dead entries of this job (the payload's job_id, or its derived "
                  "auto-... id); also the first argument")("all", "retry every dead entry")(
      "include-invalid",
      "with --all, also retry payloads that are not valid jobs (a JOB_ID is always retried)");
  pos.add("job-id", 1);
}

int run_dead_retry(Context& ctx, const po::variables_map& vm) {
  const bool all = vm.count("all") > 0;
  const bool include_invalid = vm.count("include-invalid") > 0;
  if (all == (vm.count("job-id") > 0)) throw UsageError("give either JOB_ID or --all");
  const std::string wanted = all ? "" : vm["job-id"].as<std::string>();
  if (!all && wanted.empty()) throw UsageError("JOB_ID: expected a job id, got an empty string");

  const std::vector<DeadEntry> entries = read_dead(ctx, 0);
  std::vector<const DeadEntry*> moving;
  json::array skipped;
  std::vector<std::string> skipped_text;
  std::vector<std::string> warnings;
  std::vector<std::vector<std::string>> calls;
  for (const DeadEntry& e : entries) {
    if (!all && (!e.readable || e.job.job_id != wanted)) continue;
    std::string why;
    if (!e.readable) {
      why = "the entry has no readable payload";
    } else if (!e.job.job && all && !include_invalid) {
      why = "not a valid job (" + e.job.error + "); it would go straight back to dead";
    } else if (!e.job.job) {
      warnings.push_back("job " + e.job.job_id + " is not a valid job (" + e.job.error +
                         "): the daemon will move it back to dead");
    }
    if (!why.empty()) {
      skipped.push_back(json::object{{"index", e.index},
                                     {"job_id", e.readable ? json::value(e.job.job_id) : nullptr},
                                     {"reason", why}});
      skipped_text.push_back("#" + std::to_string(e.index) +
                             (e.readable ? " (" + e.job.job_id + ")" : std::string()) + ": " + why);
      continue;
    }
    // The markers the daemon would find set for this payload: its attempt, and the markers of
    // bad and poison payloads (finish script: an existing marker means "already decided").
    std::vector<std::string> cmd{
        "EVAL", kRetryScript, "", ctx.keys().dead(), ctx.keys().queue(), ctx.keys().notify()};
    if (e.job.job)
      cmd.push_back(ctx.keys().decided(e.job.job_id, std::to_string(e.job.job->attempts)));
    cmd.push_back(ctx.keys().decided(e.job.job_id, queue::Keys::kBadAttempt));
    cmd.push_back(ctx.keys().decided(e.job.job_id, queue::Keys::kPoisonAttempt));
    cmd[2] = std::to_string(cmd.size() - 3);
    cmd.push_back(e.raw);
    cmd.push_back(e.payload);
    calls.push_back(std::move(cmd));
    moving.push_back(&e);
  }
  const auto replies = calls.empty() ? std::vector<RReply>{} : ctx.redis().pipeline(calls);
  json::array ids;
  std::vector<std::string> id_list;
  long long vanished = 0;
  for (std::size_t i = 0; i < replies.size(); ++i) {
    if (replies[i].integer == 1) {
      ids.push_back(json::string(moving[i]->job.job_id));
      id_list.push_back(moving[i]->job.job_id);
    } else {
      ++vanished;
    }
  }
  const bool failed = !all && id_list.empty();
  for (const auto& w : warnings)
    std::cerr << "wa-router: warning: " << w << "\n";

  if (ctx.json()) {
    print_json(json::object{{"queue", ctx.keys().queue()},
                            {"retried", id_list.size()},
                            {"job_ids", std::move(ids)},
                            {"skipped", std::move(skipped)},
                            {"vanished", vanished}});
  } else {
    std::printf("retried %zu dead job%s onto %s", id_list.size(), id_list.size() == 1 ? "" : "s",
                ctx.keys().queue().c_str());
    for (std::size_t i = 0; i < id_list.size(); ++i) {
      std::printf("%s%s", i == 0 ? ": " : ", ", id_list[i].c_str());
    }
    std::printf("\n");
    if (!skipped_text.empty()) {
      std::printf("skipped %zu entr%s (--include-invalid retries invalid payloads):\n",
                  skipped_text.size(), skipped_text.size() == 1 ? "y" : "ies");
      for (const auto& s : skipped_text)
        std::printf("  %s\n", s.c_str());
    }
    if (vanished > 0) {
      std::printf("%lld entr%s left the dead list meanwhile (retried or purged elsewhere)\n",
                  vanished, vanished == 1 ? "y" : "ies");
    }
  }
  if (failed) {
    std::cerr << "wa-router: "
              << (vanished == 0 ? "no dead entry has job_id \"" + wanted + "\""
                                : "nothing retried for job_id \"" + wanted +
                                      "\": its entries left the dead list meanwhile")
              << "\n";
    return 1;
  }
  return 0;
}

void dead_purge_options(po::options_description&, po::positional_options_description&) {}

int run_dead_purge(Context& ctx, const po::variables_map&) {
  const long long n = ctx.redis().cmd({"EVAL", kPurgeScript, "1", ctx.keys().dead()}).integer;
  if (ctx.json()) {
    print_json(json::object{{"key", ctx.keys().dead()}, {"purged", n}});
  } else {
    std::printf("purged %lld dead entr%s from %s\n", n, n == 1 ? "y" : "ies",
                ctx.keys().dead().c_str());
  }
  return 0;
}

}  // namespace wa::cli
