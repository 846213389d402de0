// Replays every input the fuzzers found (fuzz/regressions/<target>/) through the fuzzers' own
// checks (fuzz/fuzz_checks.hpp), so that a fixed bug stays fixed. Add a file there and it is
// replayed here with no code change.
//
// Inputs whose bug is not fixed yet are listed in kUnfixed: EveryInputPasses skips them, and each
// has a DISABLED_ test of its own. When the fix lands, remove the entry and the DISABLED_ prefix.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "fuzz/fuzz_checks.hpp"

namespace {

namespace fs = std::filesystem;

const fs::path kRegressions = fs::path(WA_SOURCE_DIR) / "fuzz" / "regressions";

// target/file of the inputs whose bug is still open (see the DISABLED_ tests below).
const std::set<std::string> kUnfixed = {};

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string check(const std::string& target, const std::string& bytes) {
  if (target == "job") return wa::fuzz::check_job_bytes(bytes);
  if (target == "config") return wa::fuzz::check_config_bytes(bytes);
  return "unknown fuzz target directory " + target;
}

// target/file names under fuzz/regressions, sorted.
std::vector<std::string> all_inputs() {
  std::vector<std::string> out;
  if (!fs::is_directory(kRegressions)) return out;
  for (const auto& dir : fs::directory_iterator(kRegressions)) {
    if (!dir.is_directory()) continue;
    for (const auto& f : fs::directory_iterator(dir.path())) {
      if (f.is_regular_file()) {
        out.push_back(dir.path().filename().string() + "/" + f.path().filename().string());
      }
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

void replay(const std::string& name) {
  const fs::path path = kRegressions / name;
  ASSERT_TRUE(fs::is_regular_file(path)) << path;
  const std::string target = name.substr(0, name.find('/'));
  EXPECT_EQ(check(target, read_bytes(path)), "") << "fuzz/regressions/" << name;
}

TEST(FuzzRegression, InputsArePresent) {
  const auto inputs = all_inputs();
  EXPECT_FALSE(inputs.empty()) << kRegressions;
  for (const auto& name : kUnfixed) {
    EXPECT_TRUE(std::find(inputs.begin(), inputs.end(), name) != inputs.end()) << name;
  }
}

TEST(FuzzRegression, EveryInputPasses) {
  for (const auto& name : all_inputs()) {
    if (kUnfixed.count(name) != 0) continue;
    SCOPED_TRACE(name);
    replay(name);
  }
}

// The seed corpora pass too (they are what every fuzzing run starts from).
TEST(FuzzRegression, SeedCorporaPass) {
  for (const std::string target : {"job", "config"}) {
    const fs::path dir = fs::path(WA_SOURCE_DIR) / "fuzz" / "corpus" / target;
    ASSERT_TRUE(fs::is_directory(dir)) << dir;
    for (const auto& f : fs::directory_iterator(dir)) {
      EXPECT_EQ(check(target, read_bytes(f.path())), "") << f.path();
    }
  }
}

// A config that is only "," makes yaml-cpp 0.7's LoadAll allocate a null document per turn,
// forever (jbeder/yaml-cpp#1040): load_from_string never returns, or throws std::bad_alloc.
TEST(FuzzRegression, ConfigCommaDoesNotHang) {
  replay("config/comma_loadall_hang.yaml");
}

// An unknown key made of NUL bytes and "queue" is named raw in its problem: what(), a C string,
// ends at the first NUL and --check-config prints an empty message (a newline in a key likewise
// splits one problem over two lines). yaml-cpp's "unknown escape character" message quotes the
// raw byte too.
TEST(FuzzRegression, ConfigProblemsAreOnePrintableLineEach) {
  replay("config/nul_in_key_message.yaml");
  replay("config/nul_in_yaml_error_message.yaml");
}

// load_balancing.base_capacity 1e-300 is valid (> 0); the prediction's 1000 contacts then take
// 1.7e304 minutes, which estimate_minutes converts to uint64 (undefined behaviour; UBSan:
// select.cpp "outside the range of representable values"). The Meta estimate does the same
// with a tiny throughput_mps from Redis.
TEST(FuzzRegression, TinyCapacityGivesNoEstimate) {
  replay("config/base_capacity_tiny.yaml");
}

// An event with "at": 1.18e29 is accepted; EventAggregate::add converts floor(at / 60) to int64
// (undefined behaviour; UBSan: events.cpp "outside the range of representable values").
TEST(FuzzRegression, EventTimeOutOfRangeIsRejected) {
  replay("job/event_at_overflow.json");
}

// Two events with "response_time_ms": 1e308 sum to inf: the daemon sends "inf" to HINCRBYFLOAT,
// Redis rejects it, the events script fails and the same batch is read again, forever.
TEST(FuzzRegression, EventTimingsSumToAFiniteIncrement) {
  replay("job/event_timing_sum_inf.json");
}

// template.id 1e400 parses as infinity and is echoed with Boost.JSON's serialize(), which
// writes "Infinity": the decision record is not JSON.
TEST(FuzzRegression, TemplateIdInfinityKeepsTheDecisionJson) {
  replay("job/template_id_infinity.json");
}

}  // namespace
