// wa-router enqueue: validates campaign jobs and pushes them as Laravel's Queue::pushRaw does.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "cli/cli.hpp"
#include "core/job.hpp"

namespace wa::cli {

namespace json = boost::json;

namespace {

// pushRaw, for several payloads: RPUSH queues:<name> payload, RPUSH queues:<name>:notify 1.
constexpr const char* kPushScript = R"lua(
for i = 1, #ARGV do
  redis.call('RPUSH', KEYS[1], ARGV[i])
  redis.call('RPUSH', KEYS[2], 1)
end
return #ARGV
)lua";
constexpr std::size_t kBatch = 500;
constexpr std::size_t kIdsShown = 10;

std::string read_input(const std::string& path) {
  std::ostringstream ss;
  if (path == "-") {
    ss << std::cin.rdbuf();
    if (std::cin.bad()) throw Failure("cannot read the standard input");
    return ss.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Failure("cannot read " + path + ": " + std::strerror(errno));
  ss << in.rdbuf();
  if (in.bad()) throw Failure("cannot read " + path + ": " + std::strerror(errno));
  return ss.str();
}

struct Invalid {
  std::size_t number;  // 1-based position in the input
  std::size_t line;
  std::string job_id;
  std::string error;
};

// The input's jobs, parsed: the valid ones (payload and id, in input order) and the others.
struct Sorted {
  std::vector<std::string> payloads;
  std::vector<std::string> ids;
  std::vector<Invalid> invalid;
  std::vector<std::string> duplicates;  // ids seen before, once per repeat
};

Sorted sort_jobs(const std::vector<Piece>& pieces) {
  Sorted out;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    const core::ParsedJob pj = core::parse_job(pieces[i].bytes);
    if (!pj.job) {
      out.invalid.push_back({i + 1, pieces[i].line, pj.job_id, pj.error});
      continue;
    }
    if (!seen.insert(pj.job_id).second) out.duplicates.push_back(pj.job_id);
    out.payloads.emplace_back(pieces[i].bytes);
    out.ids.push_back(pj.job_id);
  }
  return out;
}

// On the standard error: each invalid job of `where` (the input's name), each repeated job id.
void warn(const std::string& where, const Sorted& jobs) {
  for (const Invalid& e : jobs.invalid) {
    std::cerr << "wa-router: " << where << ": job " << e.number << " (line " << e.line
              << ") is invalid: " << e.error << "\n";
  }
  for (const auto& d : jobs.duplicates) {
    std::cerr << "wa-router: warning: job_id \"" << d
              << "\" appears more than once in the input (job ids should be unique)\n";
  }
}

// pushRaw of every payload, kBatch per script call; returns how many were pushed.
std::size_t push_payloads(Context& ctx, const std::vector<std::string>& payloads) {
  std::size_t pushed = 0;
  for (std::size_t at = 0; at < payloads.size(); at += kBatch) {
    std::vector<std::string> cmd{"EVAL", kPushScript, "2", ctx.keys().queue(), ctx.keys().notify()};
    const std::size_t end = std::min(payloads.size(), at + kBatch);
    for (std::size_t i = at; i < end; ++i)
      cmd.push_back(payloads[i]);
    pushed += static_cast<std::size_t>(ctx.redis().cmd(cmd).integer);
  }
  return pushed;
}

// --json: the queue, the count pushed, the ids pushed (none when refused) and the invalid jobs.
void print_json_result(Context& ctx, const Sorted& jobs, std::size_t pushed, bool refused) {
  json::array inv;
  for (const Invalid& e : jobs.invalid) {
    inv.push_back(json::object{
        {"number", e.number}, {"line", e.line}, {"job_id", e.job_id}, {"error", e.error}});
  }
  json::array id_arr;
  if (!refused) {
    for (const auto& id : jobs.ids)
      id_arr.push_back(json::string(id));
  }
  print_json(json::object{{"queue", ctx.keys().queue()},
                          {"enqueued", pushed},
                          {"job_ids", std::move(id_arr)},
                          {"invalid", std::move(inv)}});
}

// The text summary of a push: the count, the first kIdsShown ids and the invalid jobs skipped.
void print_text_result(Context& ctx, const Sorted& jobs, std::size_t pushed) {
  const std::vector<std::string>& ids = jobs.ids;
  std::printf("enqueued %zu job%s onto %s", pushed, pushed == 1 ? "" : "s",
              ctx.keys().queue().c_str());
  for (std::size_t i = 0; i < ids.size() && i < kIdsShown; ++i) {
    std::printf("%s%s", i == 0 ? ": " : ", ", ids[i].c_str());
  }
  if (ids.size() > kIdsShown) std::printf(", ... (%zu more)", ids.size() - kIdsShown);
  std::printf("\n");
  const std::size_t skipped = jobs.invalid.size();
  if (skipped > 0) std::printf("skipped %zu invalid job%s\n", skipped, skipped == 1 ? "" : "s");
}

}  // namespace

void enqueue_options(po::options_description& o, po::positional_options_description& pos) {
  o.add_options()("file", po::value<std::string>()->value_name("FILE"),
                  "the jobs' JSON (- for the standard input); also the first argument")(
      "skip-invalid", "enqueue the valid jobs even when some are invalid");
  pos.add("file", 1);
}

int run_enqueue(Context& ctx, const po::variables_map& vm) {
  if (!vm.count("file")) throw UsageError("FILE is required (- for the standard input)");
  const std::string path = vm["file"].as<std::string>();
  const bool skip_invalid = vm.count("skip-invalid") > 0;
  const std::string text = read_input(path);  // the pieces point into it
  const std::vector<Piece> pieces = split_json_values(text);
  const Sorted jobs = sort_jobs(pieces);
  warn(path == "-" ? "stdin" : path, jobs);
  const bool refuse = !jobs.invalid.empty() && !skip_invalid;
  const std::size_t pushed = refuse ? 0 : push_payloads(ctx, jobs.payloads);

  if (ctx.json()) print_json_result(ctx, jobs, pushed, refuse);
  if (!refuse) {
    if (!ctx.json()) print_text_result(ctx, jobs, pushed);
    return 0;
  }
  std::cerr << "wa-router: " << jobs.invalid.size() << " of " << pieces.size()
            << " jobs are invalid: nothing enqueued"
            << (ctx.json() ? "\n" : " (--skip-invalid enqueues the valid ones)\n");
  return 1;
}

}  // namespace wa::cli
