// libFuzzer target: campaign job payloads (core/job.hpp) and, on the same bytes, message events
// (core/events.hpp). The invariants are in fuzz_checks.hpp; a broken one aborts with its
// description, so libFuzzer saves the input.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz/fuzz_checks.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string problem =
      wa::fuzz::check_job_bytes(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!problem.empty()) {
    std::fprintf(stderr, "job_fuzzer: invariant broken: %s\n", problem.c_str());
    std::abort();
  }
  return 0;
}
