// wa-router dead retry: moves dead jobs back to the queue, one page of the dead list at a time.
//
// The command works through the head of the dead list: every entry there is either retried
// (removed, its payload pushed to the queue) or set aside in order on the held list (an invalid
// entry, another job's), one bounded Lua step each, so that the next entry to look at is always
// the head. Retrying an entry in the middle of the list would cost Redis a scan of everything in
// front of it (LREM), which made --all quadratic when invalid entries come first. The held
// entries go back in front of the dead list at the end. Memory is bounded by the page whatever
// the list's length: the ids retried and the entries skipped are kept in a temporary file until
// printed.
#include <cstdio>
#include <iostream>
#include <utility>

#include "cli/dead.hpp"

namespace wa::cli {

namespace json = boost::json;

namespace {

// Retries the head of the dead list when it is still the entry ARGV[1]: removes it, pushes its
// payload ARGV[2] to the queue tail with its notify entry and deletes the job's exactly-once
// markers, all at once. 0 when the head is another entry. KEYS: dead, queue, notify, markers...
constexpr const char* kRetryScript = R"lua(
if redis.call('LINDEX', KEYS[1], 0) ~= ARGV[1] then return 0 end
redis.call('LPOP', KEYS[1])
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('RPUSH', KEYS[3], 1)
for i = 4, #KEYS do redis.call('DEL', KEYS[i]) end
return 1
)lua";

// Moves the head of the dead list to the tail of the held list when it is still the entry
// ARGV[1]; 0 when the head is another entry. KEYS: dead, held.
constexpr const char* kHoldScript = R"lua(
if redis.call('LINDEX', KEYS[1], 0) ~= ARGV[1] then return 0 end
redis.call('LMOVE', KEYS[1], KEYS[2], 'LEFT', 'RIGHT')
return 1
)lua";

// A page that moved nothing means the head of the dead list changed between the read and the
// steps (another command at work); after this many in a row the command gives up.
constexpr int kMaxIdlePages = 100;

// Items kept in a temporary file until they are printed, so that memory does not grow with
// their number.
class Spool {
 public:
  Spool() : f_(std::tmpfile()) {
    if (f_ == nullptr) throw Failure("cannot create a temporary file");
  }
  ~Spool() { std::fclose(f_); }
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  void add(std::string_view item) {
    const std::size_t n = item.size();
    if (std::fwrite(&n, sizeof n, 1, f_) != 1 || std::fwrite(item.data(), 1, n, f_) != n) {
      throw Failure("cannot write to a temporary file");
    }
    ++count_;
  }
  std::size_t size() const noexcept { return count_; }

  // Calls fn(item) for every item, in order.
  template <typename Fn>
  void each(Fn fn) {
    std::rewind(f_);
    std::string item;
    for (std::size_t i = 0; i < count_; ++i) {
      std::size_t n = 0;
      if (std::fread(&n, sizeof n, 1, f_) != 1) throw Failure("cannot read a temporary file");
      item.resize(n);
      if (std::fread(item.data(), 1, n, f_) != n) throw Failure("cannot read a temporary file");
      fn(item);
    }
  }

 private:
  std::FILE* f_;
  std::size_t count_ = 0;
};

struct Retry {
  bool all = false;
  bool include_invalid = false;
  std::string wanted;  // the JOB_ID, without --all
  long long examined = 0, vanished = 0;
  Spool ids;      // the job ids retried: JSON strings with --json, else the ids
  Spool skipped;  // the entries --all skipped: JSON objects with --json, else text lines
};

enum class Action { kRetry, kHold, kSkip };  // kSkip: held, and reported

// What happens to an entry; `why` says why a kSkip is skipped.
Action decide(const Retry& r, const DeadEntry& e, std::string& why) {
  if (!r.all) {
    if (!e.readable || e.job.job_id != r.wanted) return Action::kHold;
    if (!e.job.job) {
      std::cerr << "wa-router: warning: job " << e.job.job_id << " is not a valid job ("
                << e.job.error << "): the daemon will move it back to dead\n";
    }
    return Action::kRetry;
  }
  if (!e.readable) {
    why = "the entry has no readable payload";
    return Action::kSkip;
  }
  if (!e.job.job && !r.include_invalid) {
    why = "not a valid job (" + e.job.error + "); it would go straight back to dead";
    return Action::kSkip;
  }
  return Action::kRetry;
}

// The Lua step for an entry: retry it or set it aside.
std::vector<std::string> step(Context& ctx, const DeadEntry& e, Action a) {
  const queue::Keys& k = ctx.keys();
  if (a != Action::kRetry) return {"EVAL", kHoldScript, "2", k.dead(), held_key(ctx), e.raw};
  // The markers the daemon would find set for this payload: its attempt, and the markers of
  // bad and poison payloads (finish script: an existing marker means "already decided").
  std::vector<std::string> cmd{"EVAL", kRetryScript, "", k.dead(), k.queue(), k.notify()};
  if (e.job.job) cmd.push_back(k.decided(e.job.job_id, std::to_string(e.job.job->attempts)));
  cmd.push_back(k.decided(e.job.job_id, queue::Keys::kBadAttempt));
  cmd.push_back(k.decided(e.job.job_id, queue::Keys::kPoisonAttempt));
  cmd[2] = std::to_string(cmd.size() - 3);
  cmd.push_back(e.raw);
  cmd.push_back(e.payload);
  return cmd;
}

void report_skipped(Context& ctx, Retry& r, const DeadEntry& e, const std::string& why) {
  if (ctx.json()) {
    r.skipped.add(to_json(
        json::object{{"index", e.index},
                     {"job_id", e.readable ? json::value(e.job.job_id) : json::value(nullptr)},
                     {"reason", why}}));
  } else {
    // Appended piece by piece: "literal" + a temporary std::string trips GCC 12's -Wrestrict
    // at -O3 (GCC bug 105651).
    std::string line = "#";
    line += std::to_string(e.index);
    if (e.readable) line += " (" + e.job.job_id + ")";
    line += ": " + why;
    r.skipped.add(line);
  }
}

// Moves the first `want` entries at the head of the dead list, each retried or held. Returns
// whether any moved (or vanished); nullopt when the dead list is empty.
std::optional<bool> process_page(Context& ctx, Retry& r, long long want) {
  const redis::Reply page =
      ctx.redis().cmd({"LRANGE", ctx.keys().dead(), "0", std::to_string(want - 1)});
  if (page.elements.empty()) return std::nullopt;
  std::vector<DeadEntry> entries;
  std::vector<Action> actions;
  std::vector<std::string> why(page.elements.size());
  std::vector<std::vector<std::string>> calls;
  for (const redis::Reply& raw : page.elements) {
    entries.push_back(parse_entry(r.examined + static_cast<long long>(entries.size()), raw.str));
    actions.push_back(decide(r, entries.back(), why[entries.size() - 1]));
    calls.push_back(step(ctx, entries.back(), actions.back()));
  }
  const std::vector<redis::Reply> replies = ctx.redis().cmds(calls);
  const long long before = r.examined;
  for (std::size_t i = 0; i < replies.size(); ++i) {
    const bool moved = replies[i].integer == 1;
    if (actions[i] == Action::kRetry) {
      ++r.examined;  // retried, or gone meanwhile
      if (moved) {
        r.ids.add(ctx.json() ? json::serialize(json::string(entries[i].job.job_id))
                             : entries[i].job.job_id);
      } else {
        ++r.vanished;
      }
    } else if (moved) {
      ++r.examined;
      if (actions[i] == Action::kSkip) report_skipped(ctx, r, entries[i], why[i]);
    }
  }
  return r.examined > before;
}

// How many dead entries have the job id `wanted`: read-only, a page at a time.
long long count_matches(Context& ctx, const std::string& wanted) {
  long long n = 0;
  for (long long at = 0;; at += kDeadPage) {
    const redis::Reply page = ctx.redis().cmd(
        {"LRANGE", ctx.keys().dead(), std::to_string(at), std::to_string(at + kDeadPage - 1)});
    for (const redis::Reply& raw : page.elements) {
      const DeadEntry e = parse_entry(0, raw.str);
      if (e.readable && e.job.job_id == wanted) ++n;
    }
    if (static_cast<long long>(page.elements.size()) < kDeadPage) return n;
  }
}

// Works through the dead list as it was when the command started (entries dead since are left
// alone); with a JOB_ID, only up to its last entry.
void retry_entries(Context& ctx, Retry& r) {
  const long long budget = ctx.redis().cmd({"LLEN", ctx.keys().dead()}).integer;
  const long long matches = r.all ? budget : count_matches(ctx, r.wanted);
  int idle = 0;
  while (r.examined < budget &&
         (r.all || static_cast<long long>(r.ids.size()) + r.vanished < matches)) {
    const auto moved = process_page(ctx, r, std::min(kDeadPage, budget - r.examined));
    if (!moved) break;
    idle = *moved ? 0 : idle + 1;
    if (idle == kMaxIdlePages) {
      restore_held(ctx);
      throw Failure(
          "the dead list keeps changing under this command (another retry or purge "
          "at work?); try again");
    }
  }
}

void print_retry(Context& ctx, Retry& r) {
  const std::size_t n = r.ids.size();
  if (ctx.json()) {
    std::cout << "{\"queue\":" << json::serialize(json::string(ctx.keys().queue()))
              << ",\"retried\":" << n << ",\"job_ids\":[";
    const char* sep = "";
    r.ids.each([&](const std::string& id) { std::cout << std::exchange(sep, ",") << id; });
    std::cout << "],\"skipped\":[";
    sep = "";
    r.skipped.each([&](const std::string& s) { std::cout << std::exchange(sep, ",") << s; });
    std::cout << "],\"vanished\":" << r.vanished << "}\n";
    return;
  }
  std::cout << "retried " << n << " dead job" << (n == 1 ? "" : "s") << " onto "
            << ctx.keys().queue();
  const char* sep = ": ";
  r.ids.each([&](const std::string& id) { std::cout << std::exchange(sep, ", ") << id; });
  std::cout << "\n";
  if (const std::size_t k = r.skipped.size(); k > 0) {
    std::cout << "skipped " << k << " entr" << (k == 1 ? "y" : "ies")
              << " (--include-invalid retries invalid payloads):\n";
    r.skipped.each([&](const std::string& s) { std::cout << "  " << s << "\n"; });
  }
  if (r.vanished > 0) {
    std::cout << r.vanished << " entr" << (r.vanished == 1 ? "y" : "ies")
              << " left the dead list meanwhile (retried or purged elsewhere)\n";
  }
}

}  // namespace

void dead_retry_options(po::options_description& o, po::positional_options_description& pos) {
  o.add_options()("job-id", po::value<std::string>()->value_name("JOB_ID"),
                  "retry the dead entries of this job (the payload's job_id, or its derived "
                  "auto-... id); also the first argument")("all", "retry every dead entry")(
      "include-invalid",
      "with --all, also retry payloads that are not valid jobs (a JOB_ID is always retried)");
  pos.add("job-id", 1);
}

int run_dead_retry(Context& ctx, const po::variables_map& vm) {
  Retry r;
  r.all = vm.count("all") > 0;
  r.include_invalid = vm.count("include-invalid") > 0;
  if (r.all == (vm.count("job-id") > 0)) throw UsageError("give either JOB_ID or --all");
  r.wanted = r.all ? "" : vm["job-id"].as<std::string>();
  if (!r.all && r.wanted.empty()) {
    throw UsageError("JOB_ID: expected a job id, got an empty string");
  }
  restore_held(ctx);  // what a killed retry left aside
  retry_entries(ctx, r);
  restore_held(ctx);
  print_retry(ctx, r);
  if (r.all || r.ids.size() > 0) return 0;
  std::cerr << "wa-router: "
            << (r.vanished == 0 ? "no dead entry has job_id \"" + r.wanted + "\""
                                : "nothing retried for job_id \"" + r.wanted +
                                      "\": its entries left the dead list meanwhile")
            << "\n";
  return 1;
}

}  // namespace wa::cli
