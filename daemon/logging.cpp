#include "daemon/logging.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "core/json_writer.hpp"
#include "core/records.hpp"

namespace wa::daemon {

namespace {

struct Context {
  std::string job_id;
  std::string campaign_id;
};
thread_local Context current;

// One JSON object per line: {"time","level","logger","msg"}.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const double t = std::chrono::duration<double>(msg.time.time_since_epoch()).count();
    std::string line;
    core::JsonWriter w(line);
    w.begin_object()
        .member("time", core::iso8601(t))
        .member("level", std::string(spdlog::level::to_string_view(msg.level).data(),
                                     spdlog::level::to_string_view(msg.level).size()))
        .member("msg", std::string_view(msg.payload.data(), msg.payload.size()));
    if (!current.job_id.empty()) w.member("job_id", current.job_id);
    if (!current.campaign_id.empty()) w.member("campaign_id", current.campaign_id);
    w.end_object();
    line.push_back('\n');
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

}  // namespace

JobLogContext::JobLogContext(std::string job_id, std::string campaign_id) {
  current = {std::move(job_id), std::move(campaign_id)};
}

JobLogContext::~JobLogContext() {
  current = {};
}

void setup_logging(const config::Logging& cfg) {
  auto logger = spdlog::get("wa");
  if (!logger) {
    logger =
        std::make_shared<spdlog::logger>("wa", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    spdlog::set_default_logger(logger);
  }
  if (cfg.format == config::LogFormat::json) {
    logger->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    logger->set_formatter(std::make_unique<spdlog::pattern_formatter>(
        "%Y-%m-%dT%H:%M:%S.%eZ %^%-5l%$ %v", spdlog::pattern_time_type::utc));
  }
  logger->set_level(spdlog::level::from_str(cfg.level));
  logger->flush_on(spdlog::level::info);
}

}  // namespace wa::daemon
