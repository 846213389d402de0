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
  const std::string text = read_input(path);
  const std::vector<Piece> pieces = split_json_values(text);

  std::vector<std::string> payloads;
  std::vector<std::string> ids;
  std::vector<Invalid> invalid;
  std::set<std::string> seen;
  std::vector<std::string> duplicates;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    const core::ParsedJob pj = core::parse_job(pieces[i].bytes);
    if (!pj.job) {
      invalid.push_back({i + 1, pieces[i].line, pj.job_id, pj.error});
      continue;
    }
    if (!seen.insert(pj.job_id).second) duplicates.push_back(pj.job_id);
    payloads.emplace_back(pieces[i].bytes);
    ids.push_back(pj.job_id);
  }
  const std::string where = path == "-" ? "stdin" : path;
  for (const Invalid& e : invalid) {
    std::cerr << "wa-router: " << where << ": job " << e.number << " (line " << e.line
              << ") is invalid: " << e.error << "\n";
  }
  for (const auto& d : duplicates) {
    std::cerr << "wa-router: warning: job_id \"" << d
              << "\" appears more than once in the input (job ids should be unique)\n";
  }
  const bool refuse = !invalid.empty() && !skip_invalid;
  std::size_t pushed = 0;
  if (!refuse) {
    for (std::size_t at = 0; at < payloads.size(); at += kBatch) {
      std::vector<std::string> cmd{"EVAL", kPushScript, "2", ctx.keys().queue(),
                                   ctx.keys().notify()};
      const std::size_t end = std::min(payloads.size(), at + kBatch);
      for (std::size_t i = at; i < end; ++i)
        cmd.push_back(payloads[i]);
      pushed += static_cast<std::size_t>(ctx.redis().cmd(cmd).integer);
    }
  }

  if (ctx.json()) {
    json::array inv;
    for (const Invalid& e : invalid) {
      inv.push_back(json::object{
          {"number", e.number}, {"line", e.line}, {"job_id", e.job_id}, {"error", e.error}});
    }
    json::array id_arr;
    if (!refuse) {
      for (const auto& id : ids)
        id_arr.push_back(json::string(id));
    }
    print_json(json::object{{"queue", ctx.keys().queue()},
                            {"enqueued", pushed},
                            {"job_ids", std::move(id_arr)},
                            {"invalid", std::move(inv)}});
  } else if (refuse) {
    std::cerr << "wa-router: " << invalid.size() << " of " << pieces.size()
              << " jobs are invalid: nothing enqueued (--skip-invalid enqueues the valid ones)\n";
  } else {
    std::printf("enqueued %zu job%s onto %s", pushed, pushed == 1 ? "" : "s",
                ctx.keys().queue().c_str());
    for (std::size_t i = 0; i < ids.size() && i < kIdsShown; ++i) {
      std::printf("%s%s", i == 0 ? ": " : ", ", ids[i].c_str());
    }
    if (ids.size() > kIdsShown) std::printf(", ... (%zu more)", ids.size() - kIdsShown);
    std::printf("\n");
    if (!invalid.empty())
      std::printf("skipped %zu invalid job%s\n", invalid.size(), invalid.size() == 1 ? "" : "s");
  }
  if (refuse) {
    if (ctx.json()) {
      std::cerr << "wa-router: " << invalid.size() << " of " << pieces.size()
                << " jobs are invalid: nothing enqueued\n";
    }
    return 1;
  }
  return 0;
}

}  // namespace wa::cli
