// spdlog set-up: text lines or JSON lines on stderr (the journal under systemd).
#pragma once

#include <string>

#include "config/config.hpp"

namespace wa::daemon {

// Installs the default logger. Safe to call again on reload (level and format change in place).
void setup_logging(const config::Logging& cfg);

// While alive, JSON log lines carry "job_id" and "campaign_id" (the daemon is one thread).
class JobLogContext {
 public:
  JobLogContext(std::string job_id, std::string campaign_id);
  ~JobLogContext();
  JobLogContext(const JobLogContext&) = delete;
  JobLogContext& operator=(const JobLogContext&) = delete;
};

}  // namespace wa::daemon
