// wa-router: the operator's command line of wa-routerd (queue statistics, provider reports, the
// dead list, enqueueing campaign jobs). See docs/cli.md.
#include <iostream>
#include <optional>
#include <sstream>

#include "cli/cli.hpp"

#ifndef WA_VERSION
#define WA_VERSION "0.0.0"
#endif

namespace wa::cli {

namespace {

constexpr const char* kDefaultConfig = "/etc/wa-router/wa-routerd.yaml";
constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// Long options only, no abbreviations: a command's options pass through the global parser.
constexpr int kStyle =
    po::command_line_style::default_style & ~po::command_line_style::allow_guessing;

po::options_description global_options() {
  po::options_description o("global options (anywhere on the line)");
  o.add_options()("config,c", po::value<std::string>()->value_name("FILE"),
                  (std::string("the wa-routerd YAML configuration (default ") + kDefaultConfig +
                   "); wa-router uses its redis.* and queue.name")
                      .c_str())("json", "print one JSON document instead of tables")(
      "help,h", "show help (of a command: wa-router COMMAND --help) and exit")(
      "version", "print the version and exit");
  return o;
}

std::string usage_line(const Command& c) {
  return "usage: wa-router [--config FILE] [--json] " + c.name + (c.args.empty() ? "" : " ") +
         c.args;
}

void print_global_help(std::ostream& out) {
  out << "usage: wa-router [--config FILE] [--json] COMMAND [ARGS...]\n\n"
         "The operator's command line of wa-routerd: inspects and manages its Redis queue.\n\n"
         "commands:\n";
  for (const Command& c : commands()) {
    out << "  " << c.name << (c.args.empty() ? "" : " ") << c.args << "\n      " << c.summary
        << "\n";
  }
  out << "\n"
      << global_options()
      << "\nExit status: 0 done; 1 failed (Redis unreachable, invalid configuration, invalid "
         "input,\nnothing matched); 2 bad command line.\n";
}

void print_command_help(std::ostream& out, const Command& c) {
  po::options_description o("options");
  po::positional_options_description pos;
  c.options(o, pos);
  out << usage_line(c) << "\n\n" << c.summary << "\n";
  if (!c.details.empty()) out << "\n" << c.details << "\n";
  if (!o.options().empty()) out << "\n" << o;
  out << "\n" << global_options();
}

const Command* find_command(const std::string& name) {
  for (const Command& c : commands()) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

[[noreturn]] void usage_error(const std::string& message, const Command* c) {
  throw UsageError(message + "\n" +
                   (c ? usage_line(*c) + "\nTry 'wa-router " + c->name + " --help'."
                      : std::string("usage: wa-router [--config FILE] [--json] COMMAND "
                                    "[ARGS...]\nTry 'wa-router --help'.")));
}

// The global options and the words after them (the command and its own options).
std::vector<std::string> parse_global(int argc, char** argv, po::variables_map& vm) {
  po::options_description hidden;
  hidden.add_options()("command", po::value<std::vector<std::string>>());
  po::options_description all;
  all.add(global_options()).add(hidden);
  po::positional_options_description pos;
  pos.add("command", -1);
  try {
    const po::parsed_options parsed = po::command_line_parser(argc, argv)
                                          .options(all)
                                          .positional(pos)
                                          .style(kStyle)
                                          .allow_unregistered()
                                          .run();
    po::store(parsed, vm);
    po::notify(vm);
    return po::collect_unrecognized(parsed.options, po::include_positional);
  } catch (const po::error& e) {
    usage_error(e.what(), nullptr);
  }
}

// `dead` takes a subcommand: `name` becomes "dead list" and so on. An exit code when the help
// of `dead` itself was printed.
std::optional<int> take_subcommand(std::string& name, std::vector<std::string>& rest, bool help) {
  if (name != "dead") return std::nullopt;
  if (rest.empty() || rest.front().starts_with("-")) {
    if (!help) usage_error("dead: missing subcommand (list, retry or purge)", nullptr);
    std::cout << "usage: wa-router dead list|retry|purge ...\n\n";
    for (const Command& c : commands()) {
      if (c.name.starts_with("dead "))
        std::cout << "  " << c.name << (c.args.empty() ? "" : " ") << c.args << "\n      "
                  << c.summary << "\n";
    }
    std::cout << "\nTry 'wa-router dead SUBCOMMAND --help'.\n";
    return kExitOk;
  }
  name += " " + rest.front();
  rest.erase(rest.begin());
  return std::nullopt;
}

po::variables_map parse_command(const Command& cmd, const std::vector<std::string>& rest) {
  po::options_description opts("options");
  po::positional_options_description cmd_pos;
  cmd.options(opts, cmd_pos);
  po::variables_map cvm;
  try {
    po::store(po::command_line_parser(rest).options(opts).positional(cmd_pos).style(kStyle).run(),
              cvm);
    po::notify(cvm);
  } catch (const po::error& e) {
    usage_error(cmd.name + ": " + e.what(), &cmd);
  }
  return cvm;
}

int run_command(const Command& cmd, const po::variables_map& vm, const po::variables_map& cvm) {
  const bool explicit_config = vm.count("config") > 0;
  const std::string path = explicit_config ? vm["config"].as<std::string>() : kDefaultConfig;
  Context ctx(path, vm.count("json") > 0);
  try {
    return cmd.run(ctx, cvm);
  } catch (const UsageError& e) {
    usage_error(cmd.name + ": " + e.what(), &cmd);
  } catch (const config::ConfigError& e) {
    std::cerr << "wa-router: invalid configuration " << path << ":\n" << e.what() << "\n";
    if (!explicit_config) std::cerr << "(--config FILE names another file)\n";
    return kExitFailure;
  }
}

int run(int argc, char** argv) {
  po::variables_map vm;
  std::vector<std::string> rest = parse_global(argc, argv, vm);
  const bool help = vm.count("help") > 0;
  if (rest.empty()) {
    if (vm.count("version")) {
      std::cout << "wa-router " << WA_VERSION << "\n";
      return kExitOk;
    }
    if (help) {
      print_global_help(std::cout);
      return kExitOk;
    }
    usage_error("missing command", nullptr);
  }
  if (rest.front().size() > 1 && rest.front().front() == '-') {
    usage_error("unknown option " + rest.front() + " (a command's options go after it)", nullptr);
  }
  std::string name = rest.front();
  rest.erase(rest.begin());
  if (const auto done = take_subcommand(name, rest, help)) return *done;
  const Command* cmd = find_command(name);
  if (cmd == nullptr) usage_error("unknown command \"" + name + "\"", nullptr);
  if (help) {
    print_command_help(std::cout, *cmd);
    return kExitOk;
  }
  return run_command(*cmd, vm, parse_command(*cmd, rest));
}

}  // namespace

const std::vector<Command>& commands() {
  static const std::vector<Command> all{
      {"stats", "[--results-limit N]",
       "Queue depths, decisions in wa:results by type and reason, sessions by health band, pacing.",
       "Bands follow health.min_score_primary and health.min_score_secondary (80-100, 60-79,\n"
       "0-59 by default); 'unknown' counts sessions with no health_score yet or no hash.\n"
       "Decisions are counted over the newest --results-limit records of wa:results.\n"
       "Pacing: per session (and meta_api:<workspace> with a pace) the rate per hour and\n"
       "factor, released/cap today, contacts waiting in the backlog's dispatch lists (the\n"
       "first 100 campaigns counted: '+' beyond), the ready list, and the next release.",
       stats_options, run_stats},
      {"report", "--workspace W --from YYYY-MM-DD --to YYYY-MM-DD",
       "Provider performance of a workspace (webjs vs meta_api) from the daily counters.",
       "Both dates are included; the range may span at most 366 days. Rates are percentages of\n"
       "the messages counted: success = sent/delivered/read, delivery = delivered (read\n"
       "included), read. The winner is the provider with the higher success rate.",
       report_options, run_report},
      {"dead list", "[--limit N] [--payload]",
       "Lists the dead jobs, oldest first: when and why they failed, their job and campaign ids.",
       "", dead_list_options, run_dead_list},
      {"dead retry", "JOB_ID | --all [--include-invalid]",
       "Moves dead jobs back to the tail of the queue, unchanged (attempts included).",
       "Each move is atomic: the dead entry is removed, the payload pushed with its notify\n"
       "entry, and the job's exactly-once marker for its current attempt cleared, so the\n"
       "daemon decides it again instead of taking it for a duplicate. A payload that is not a\n"
       "valid job goes straight back to dead: --all skips those unless --include-invalid; a\n"
       "JOB_ID is retried anyway, with a warning. The dead list is worked through from its\n"
       "head, 500 entries at a time; the entries kept wait in order in <dead list>:held and go\n"
       "back in front of it at the end (after a killed retry, the next one puts them back).",
       dead_retry_options, run_dead_retry},
      {"dead purge", "", "Deletes every dead entry (no confirmation) and prints how many.",
       "Redis frees the entries in the background (UNLINK): it stays responsive whatever the\n"
       "length of the list.",
       dead_purge_options, run_dead_purge},
      {"enqueue", "FILE|- [--skip-invalid]",
       "Validates campaign jobs and pushes them like Laravel's Queue::pushRaw.",
       "The input (a file, or - for stdin) holds one JSON object, an array of objects, or one\n"
       "object per line. Every job is validated first: when any is invalid, its errors are\n"
       "printed and nothing is enqueued (exit 1), unless --skip-invalid. The valid jobs' bytes\n"
       "are pushed unchanged: RPUSH queues:<name> and RPUSH queues:<name>:notify 1.",
       enqueue_options, run_enqueue},
  };
  return all;
}

}  // namespace wa::cli

int main(int argc, char** argv) {
  using namespace wa::cli;
  try {
    return run(argc, argv);
  } catch (const UsageError& e) {
    std::cerr << "wa-router: " << e.what() << "\n";
    return kExitUsage;
  } catch (const RedisError& e) {
    std::cerr << "wa-router: " << e.what() << "\n";
    return kExitFailure;
  } catch (const std::exception& e) {
    std::cerr << "wa-router: " << e.what() << "\n";
    return kExitFailure;
  }
}
