// spdlog set-up: text lines or JSON lines on stderr (the journal under systemd).
#pragma once

#include <string>

#include "config/config.hpp"

namespace wa::daemon {

// Installs the default logger. Safe to call again on reload (level and format change in place).
void setup_logging(const config::Logging& cfg);

}  // namespace wa::daemon
