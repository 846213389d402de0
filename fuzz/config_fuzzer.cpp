// libFuzzer target: the configuration loader (config/config.hpp). Only ConfigError may escape
// load_from_string; an accepted configuration must be within its documented ranges and usable by
// the engine (fuzz_checks.hpp). A broken invariant aborts with its description.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz/fuzz_checks.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string problem =
      wa::fuzz::check_config_bytes(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!problem.empty()) {
    std::fprintf(stderr, "config_fuzzer: invariant broken: %s\n", problem.c_str());
    std::abort();
  }
  return 0;
}
