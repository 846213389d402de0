// Shared pieces of the wa-router command line: the run context, its errors, and helpers used by
// several commands.
#pragma once

#include <boost/json.hpp>
#include <boost/program_options.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "cli/sync_redis.hpp"
#include "config/config.hpp"
#include "core/types.hpp"
#include "queue/keys.hpp"

namespace wa::cli {

namespace po = boost::program_options;

// A bad command line: exit 2 with the command's usage.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A command that could not do its work (bad input data, nothing matched...): exit 1.
class Failure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What a command works with. The configuration is loaded, and Redis connected, on first use, so
// that a command checks its arguments first (a bad argument is exit 2 even without a config).
class Context {
 public:
  Context(std::string config_path, bool json) : path_(std::move(config_path)), json_(json) {}

  bool json() const noexcept { return json_; }
  // Throws config::ConfigError naming the key (or the unreadable file).
  const config::Config& config();
  const queue::Keys& keys();
  // RedisError when Redis is unreachable.
  SyncRedis& redis();

 private:
  std::string path_;
  bool json_ = false;
  std::optional<config::Config> cfg_;
  std::optional<queue::Keys> keys_;
  std::unique_ptr<SyncRedis> redis_;
};

// One command: its usage line, options, positional arguments and body.
struct Command {
  std::string name;     // "stats", "dead retry"
  std::string args;     // the usage after the name: "[--limit N]"
  std::string summary;  // one line
  std::string details;  // more help text (may be empty)
  void (*options)(po::options_description&, po::positional_options_description&);
  int (*run)(Context&, const po::variables_map&);
};

const std::vector<Command>& commands();

// Commands (stats.cpp, report.cpp, dead.cpp, enqueue.cpp).
void stats_options(po::options_description&, po::positional_options_description&);
int run_stats(Context&, const po::variables_map&);
void report_options(po::options_description&, po::positional_options_description&);
int run_report(Context&, const po::variables_map&);
void dead_list_options(po::options_description&, po::positional_options_description&);
int run_dead_list(Context&, const po::variables_map&);
void dead_retry_options(po::options_description&, po::positional_options_description&);
int run_dead_retry(Context&, const po::variables_map&);
void dead_purge_options(po::options_description&, po::positional_options_description&);
int run_dead_purge(Context&, const po::variables_map&);
void enqueue_options(po::options_description&, po::positional_options_description&);
int run_enqueue(Context&, const po::variables_map&);

// Helpers (util.cpp).

// One JSON document, compact (doubles in their shortest round-trip form).
std::string to_json(const boost::json::value& v);
// Prints one JSON document on stdout, followed by a newline.
void print_json(const boost::json::value& v);
// An id as the JSON type it came in (a number for numeric ids).
boost::json::value id_json(const core::Id& id);
// "-" → "n/a"; otherwise the number with `decimals` decimals and `suffix`.
std::string fixed(std::optional<double> v, int decimals, std::string_view suffix = "");

// A UTC calendar day as days since 1970-01-01.
using Day = std::int64_t;
// Parses "YYYY-MM-DD" (a real calendar date); throws UsageError naming `what`.
Day parse_day(std::string_view text, std::string_view what);
std::string format_day(Day d);
Day today_utc();
// Parses the daemon's ISO-8601 UTC timestamps ("2026-11-25T12:00:00.000Z") into Unix seconds.
std::optional<double> parse_iso8601(std::string_view text);
double now_seconds();

// The top-level JSON values of `text` (one object, an array of objects, or JSON lines). A
// single array is split into its elements. `line` is the 1-based line where a value starts.
struct Piece {
  std::string_view bytes;
  std::size_t line = 1;
};
// Throws Failure when the text is not a sequence of JSON values (unterminated string...).
std::vector<Piece> split_json_values(std::string_view text);

}  // namespace wa::cli
