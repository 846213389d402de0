// Benchmarks of the pure decision engine (CONTRACT.md sections 3 and 4).
//
//   decide/<strategy>/<contacts>              core::decide for a workspace of 10 webjs sessions
//   decide+materialize/<strategy>/<contacts>  the same, then core::materialize over the contact ids
//                                             (each id copied once, as the daemon's writer does)
//   materialize/..., materialize_view/...     the copy step alone (std::string / std::string_view)
//   largest_remainder/<n>, allocate/...       the balancing arithmetic alone: O(sessions)
//   eligible_sessions/10                      filtering + tier sort of the 10 sessions
//   health/<sessions>                         core::compute_metrics + core::health_score
//   baseline/copy_strings/<n>                 std::vector<std::string> copy of the same ids: the
//                                             floor for materialize; ratios are printed against it
//   *_jid17/...                               the same with 17-byte ids ("254712345678@c.us"),
//                                             too long for libstdc++'s 15-byte small-string buffer
//
// Items are contacts (sessions for health), so items/s is contacts (sessions) per second. Every
// input is built once, before the timed loop; a timed iteration does the work and frees its
// result (the daemon frees its lists too). Run with bench/run.sh: Release build, compact table,
// and a summary against the goals. Pass --benchmark_format=console|json|csv for the stock output.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <numeric>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "core/balance.hpp"
#include "core/health.hpp"
#include "core/select.hpp"
#include "core/types.hpp"

namespace {

namespace core = wa::core;
namespace cfg = wa::config;

// A fixed clock: 2025-11-25T12:00:00Z.
constexpr core::Seconds kNow = 1'764'072'000;
constexpr core::Seconds kMinute = 60;
constexpr core::Seconds kDay = 86'400;

constexpr std::int64_t kSmall = 20;
constexpr std::int64_t kMedium = 10'000;
constexpr std::int64_t kLarge = 1'000'000;
constexpr std::int64_t kHealthSessions = 10'000;

// ---------------------------------------------------------------------------------------------
// Inputs, built once and cached (outside every timed loop).

std::string digits(std::mt19937_64& rng, int count) {
  std::string out(static_cast<std::size_t>(count), '0');
  for (char& c : out)
    c = static_cast<char>('0' + rng() % 10);
  return out;
}

// n distinct-looking 12-digit MSISDNs (country + operator prefix, 8 random digits), optionally
// in WhatsApp JID form ("...@c.us", 17 bytes).
const std::vector<std::string>& contacts(std::size_t n, bool jid = false) {
  static std::map<std::pair<std::size_t, bool>, std::vector<std::string>> cache;
  std::vector<std::string>& ids = cache[{n, jid}];
  if (ids.size() == n) return ids;
  static constexpr std::array<std::string_view, 6> kPrefixes{"2547", "2348", "9198",
                                                             "6281", "5511", "4477"};
  std::mt19937_64 rng(0x5eed'0000 + n);
  ids.clear();
  ids.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::string id(kPrefixes[rng() % kPrefixes.size()]);
    id += digits(rng, 8);
    if (jid) id += "@c.us";
    ids.push_back(std::move(id));
  }
  return ids;
}

const std::vector<std::string_view>& contact_views(std::size_t n) {
  static std::map<std::size_t, std::vector<std::string_view>> cache;
  std::vector<std::string_view>& views = cache[n];
  if (views.size() == n) return views;
  const auto& ids = contacts(n);
  views.assign(ids.begin(), ids.end());
  return views;
}

std::string uuid(std::mt19937_64& rng) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string u = "xxxxxxxx-xxxx-4xxx-8xxx-xxxxxxxxxxxx";
  for (char& c : u) {
    if (c == 'x') c = kHex[rng() % 16];
  }
  return u;
}

// The last hour of a session: `total` messages, `fail_pct` % failed, every message reporting a
// response time around `response_ms`, the delivered ones a delivery time around `delivery_ms`.
core::WindowStats last_hour(std::uint64_t total, double fail_pct, double response_ms,
                            double delivery_ms) {
  core::WindowStats w;
  w.total = total;
  w.failed = static_cast<std::uint64_t>(std::llround(static_cast<double>(total) * fail_pct / 100));
  w.successful = total - w.failed;
  w.delivered = w.successful * 92 / 100;
  w.read = w.successful * 61 / 100;
  w.response_time_count = total;
  w.response_time_sum_ms = response_ms * static_cast<double>(total);
  w.delivery_time_count = w.delivered;
  w.delivery_time_sum_ms = delivery_ms * static_cast<double>(w.delivered);
  return w;
}

void refresh_health(core::Session& s, const cfg::Config& config) {
  s.metrics = core::compute_metrics(s, s.last_hour, kNow);
  s.health = core::health_score(s.metrics, config.health.weights);
}

struct Workspace {
  std::vector<core::Session> sessions;
  core::WorkspaceView view;
};

// Ten webjs sessions of one workspace, all connected and active, of mixed health (from ~98 down
// to ~66, three of them primary), every one eligible under the default config.
const Workspace& workspace() {
  static const Workspace ws = [] {
    struct Mix {
      bool primary;
      double active_min_ago;
      double age_days;
      double uptime;  // fraction of its life since the last (re)connection
      std::uint64_t total;
      double fail_pct, response_ms, delivery_ms;
    };
    static constexpr std::array<Mix, 10> kMix{{
        {true, 1, 90, 0.98, 420, 1.0, 650, 2100},
        {true, 3, 45, 0.95, 310, 2.5, 900, 2600},
        {true, 12, 120, 0.90, 260, 4.0, 1400, 3900},
        {false, 2, 30, 0.85, 180, 1.5, 800, 2400},
        {false, 8, 60, 0.70, 150, 3.0, 1800, 4800},
        {false, 25, 75, 0.60, 95, 5.0, 2300, 5600},
        {false, 45, 200, 0.50, 60, 6.5, 2900, 7100},
        {false, 75, 20, 0.40, 35, 8.0, 3400, 8800},
        {false, 95, 150, 0.30, 12, 0.0, 4100, 9500},
        {false, 110, 10, 0.20, 0, 0.0, 0, 0},  // no message this hour
    }};
    const cfg::Config config;
    std::mt19937_64 rng(42);
    Workspace w;
    for (std::size_t i = 0; i < kMix.size(); ++i) {
      const Mix& m = kMix[i];
      core::Session s;
      s.id = std::to_string(1001 + i);
      s.uuid = uuid(rng);
      s.phone_number = "2547" + digits(rng, 8);
      s.provider = core::ProviderType::webjs;
      s.status = core::SessionStatus::connected;
      s.is_active = true;
      s.is_primary = m.primary;
      s.created_at = kNow - m.age_days * kDay;
      s.last_connected_at = kNow - m.uptime * m.age_days * kDay;
      s.last_activity_at = kNow - m.active_min_ago * kMinute;
      s.last_hour = last_hour(m.total, m.fail_pct, m.response_ms, m.delivery_ms);
      refresh_health(s, config);
      w.sessions.push_back(std::move(s));
    }
    w.view.sessions = w.sessions;
    w.view.meta = {true, 80, 1000, "GREEN", ""};
    w.view.webjs_7d = last_hour(48'300, 3.1, 1200, 3900);
    w.view.meta_7d = last_hour(9'100, 0.8, 400, 1500);
    return w;
  }();
  return ws;
}

// kHealthSessions sessions of many workspaces, as the health cycle sees them: mostly connected,
// varied activity, age, uptime and traffic.
const std::vector<core::Session>& health_sessions() {
  static const std::vector<core::Session> sessions = [] {
    std::mt19937_64 rng(7);
    auto uniform = [&rng](double lo, double hi) {
      return std::uniform_real_distribution<double>(lo, hi)(rng);
    };
    std::vector<core::Session> out;
    out.reserve(kHealthSessions);
    for (std::int64_t i = 0; i < kHealthSessions; ++i) {
      core::Session s;
      s.id = std::to_string(100'000 + i);
      s.uuid = uuid(rng);
      s.phone_number = "2547" + digits(rng, 8);
      const double roll = uniform(0, 100);
      s.status = roll < 85   ? core::SessionStatus::connected
                 : roll < 90 ? core::SessionStatus::connecting
                 : roll < 95 ? core::SessionStatus::disconnected
                 : roll < 98 ? core::SessionStatus::qr_scanning
                             : core::SessionStatus::failed;
      s.is_active = roll < 95;
      s.is_primary = i % 5 == 0;
      s.created_at = kNow - uniform(1, 365) * kDay;
      s.last_connected_at = s.created_at + uniform(0, 1) * (kNow - s.created_at);
      if (uniform(0, 1) < 0.9) s.last_activity_at = kNow - uniform(0, 240) * kMinute;
      if (s.status != core::SessionStatus::connected && uniform(0, 1) < 0.7) {
        s.disconnected_at = *s.last_connected_at + uniform(0, 1) * (kNow - *s.last_connected_at);
      }
      const auto total = uniform(0, 1) < 0.1 ? 0 : static_cast<std::uint64_t>(uniform(1, 600));
      s.last_hour = last_hour(total, uniform(0, 20), uniform(300, 6000), uniform(1000, 12000));
      out.push_back(std::move(s));
    }
    return out;
  }();
  return sessions;
}

cfg::Config config_with(cfg::Strategy strategy) {
  cfg::Config c;
  c.load_balancing.strategy = strategy;
  return c;
}

// A direct-mode campaign with the automatic preference: the common bulk send.
const core::CampaignSpec kDirect{};

// Checks, once and untimed, that the fixture exercises what it claims to: a webjs decision over
// all 10 sessions whose slices cover every contact.
bool valid_decision(benchmark::State& state, const core::Decision& d, std::uint64_t n) {
  std::uint64_t covered = 0;
  for (const auto& t : d.distribution)
    covered += t.slice.count;
  if (d.type != core::DecisionType::webjs || covered != n ||
      d.distribution.size() != std::min<std::uint64_t>(n, 10)) {
    state.SkipWithError("fixture: expected a webjs decision over 10 sessions covering n contacts");
    return false;
  }
  return true;
}

std::vector<core::Slice> slices_of(const core::Decision& d) {
  std::vector<core::Slice> out;
  for (const auto& t : d.distribution)
    out.push_back(t.slice);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Benchmarks.

// Reports the minor page faults of the timed loop per iteration (counter "faults"): a list that
// lands on memory the allocator just gave back to the kernel pays one fault per 4 KiB page.
class PageFaults {
 public:
  explicit PageFaults(benchmark::State& state) : state_(state), start_(minor_faults()) {}
  PageFaults(const PageFaults&) = delete;
  PageFaults& operator=(const PageFaults&) = delete;
  ~PageFaults() {
    state_.counters["faults"] = benchmark::Counter(static_cast<double>(minor_faults() - start_),
                                                   benchmark::Counter::kAvgIterations);
  }

 private:
  static long minor_faults() {
    rusage usage{};
    getrusage(RUSAGE_THREAD, &usage);
    return usage.ru_minflt;
  }
  benchmark::State& state_;
  long start_;
};

void bm_decide(benchmark::State& state, cfg::Strategy strategy) {
  const auto n = static_cast<std::uint64_t>(state.range(0));
  const cfg::Config config = config_with(strategy);
  const core::WorkspaceView& ws = workspace().view;
  if (!valid_decision(state, core::decide(kDirect, n, ws, config), n)) return;
  const PageFaults faults(state);
  for (auto _ : state) {
    core::Decision d = core::decide(kDirect, n, ws, config);
    benchmark::DoNotOptimize(d);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void bm_decide_materialize(benchmark::State& state, cfg::Strategy strategy, bool jid) {
  const auto n = static_cast<std::uint64_t>(state.range(0));
  const cfg::Config config = config_with(strategy);
  const core::WorkspaceView& ws = workspace().view;
  const std::span<const std::string> ids = contacts(n, jid);
  {
    const core::Decision d = core::decide(kDirect, n, ws, config);
    if (!valid_decision(state, d, n)) return;
    std::uint64_t copied = 0;
    for (const auto& list : core::materialize<std::string>(slices_of(d), ids)) {
      copied += list.size();
    }
    if (copied != n) {
      state.SkipWithError("fixture: materialize did not copy every contact once");
      return;
    }
  }
  std::vector<core::Slice> slices;
  slices.reserve(16);  // reused: the writer walks the distribution, it does not allocate for it
  const PageFaults faults(state);
  for (auto _ : state) {
    core::Decision d = core::decide(kDirect, n, ws, config);
    slices.clear();
    for (const auto& t : d.distribution)
      slices.push_back(t.slice);
    auto lists = core::materialize<std::string>(slices, ids);
    benchmark::DoNotOptimize(d);
    benchmark::DoNotOptimize(lists.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

// The copy step alone, over the slices of a weighted_capacity decision.
template <typename T>
void bm_materialize(benchmark::State& state, std::span<const T> items) {
  const auto n = static_cast<std::uint64_t>(state.range(0));
  const cfg::Config config;
  const core::Decision d = core::decide(kDirect, n, workspace().view, config);
  if (!valid_decision(state, d, n)) return;
  const std::vector<core::Slice> slices = slices_of(d);
  const PageFaults faults(state);
  for (auto _ : state) {
    auto lists = core::materialize<T>(slices, items);
    benchmark::DoNotOptimize(lists.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void bm_largest_remainder(benchmark::State& state) {
  const auto n = static_cast<std::uint64_t>(state.range(0));
  const cfg::Config config;
  std::vector<double> weights;
  for (const core::Session& s : workspace().sessions) {
    weights.push_back(core::session_capacity(s, core::TemplateMode::direct, config.load_balancing));
  }
  const PageFaults faults(state);
  for (auto _ : state) {
    auto shares = core::largest_remainder(n, weights);
    benchmark::DoNotOptimize(shares.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void bm_allocate(benchmark::State& state, cfg::Strategy strategy) {
  const auto n = static_cast<std::uint64_t>(state.range(0));
  const cfg::Config config = config_with(strategy);
  const std::vector<const core::Session*> eligible =
      core::eligible_sessions(workspace().sessions, config);
  if (eligible.size() != 10) {
    state.SkipWithError("fixture: expected 10 eligible sessions");
    return;
  }
  const PageFaults faults(state);
  for (auto _ : state) {
    auto slices = core::allocate(n, eligible, core::TemplateMode::direct, config.load_balancing);
    benchmark::DoNotOptimize(slices.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void bm_eligible_sessions(benchmark::State& state) {
  const cfg::Config config;
  const std::span<const core::Session> sessions = workspace().sessions;
  const PageFaults faults(state);
  for (auto _ : state) {
    auto eligible = core::eligible_sessions(sessions, config);
    benchmark::DoNotOptimize(eligible.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(sessions.size()));
}

void bm_health(benchmark::State& state) {
  const cfg::Config config;
  const std::vector<core::Session>& sessions = health_sessions();
  const cfg::HealthWeights& weights = config.health.weights;
  const PageFaults faults(state);
  for (auto _ : state) {
    for (const core::Session& s : sessions) {
      core::HealthMetrics m = core::compute_metrics(s, s.last_hour, kNow);
      int health = core::health_score(m, weights);
      benchmark::DoNotOptimize(m);
      benchmark::DoNotOptimize(health);
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(sessions.size()));
}

void bm_copy_strings(benchmark::State& state, bool jid) {
  const std::vector<std::string>& ids = contacts(static_cast<std::size_t>(state.range(0)), jid);
  const PageFaults faults(state);
  for (auto _ : state) {
    std::vector<std::string> copy(ids);
    benchmark::DoNotOptimize(copy.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}

void register_all() {
  using cfg::Strategy;
  constexpr std::array kStrategies{Strategy::weighted_capacity, Strategy::health_score,
                                   Strategy::round_robin};
  auto name = [](std::string_view what, Strategy s) {
    return std::string(what) + "/" + cfg::to_string(s);
  };
  for (Strategy s : kStrategies) {
    auto* b = benchmark::RegisterBenchmark(name("decide", s).c_str(), bm_decide, s);
    if (s == Strategy::weighted_capacity) b->Arg(kSmall);
    b->Arg(kMedium);
    if (s == Strategy::weighted_capacity) b->Arg(kLarge);
  }
  for (Strategy s : kStrategies) {
    auto* b = benchmark::RegisterBenchmark(name("decide+materialize", s).c_str(),
                                           bm_decide_materialize, s, false);
    if (s == Strategy::weighted_capacity) b->Arg(kSmall);
    b->Arg(kMedium);
    if (s == Strategy::weighted_capacity) b->Arg(kLarge);
  }
  benchmark::RegisterBenchmark("decide+materialize_jid17/weighted_capacity", bm_decide_materialize,
                               Strategy::weighted_capacity, true)
      ->Arg(kLarge);
  benchmark::RegisterBenchmark("materialize/weighted_capacity", [](benchmark::State& st) {
    bm_materialize<std::string>(st, contacts(static_cast<std::size_t>(st.range(0))));
  })->Arg(kLarge);
  benchmark::RegisterBenchmark("materialize_view/weighted_capacity", [](benchmark::State& st) {
    bm_materialize<std::string_view>(st, contact_views(static_cast<std::size_t>(st.range(0))));
  })->Arg(kLarge);
  benchmark::RegisterBenchmark("largest_remainder", bm_largest_remainder)->Arg(kSmall)->Arg(kLarge);
  benchmark::RegisterBenchmark(name("allocate", Strategy::weighted_capacity).c_str(), bm_allocate,
                               Strategy::weighted_capacity)
      ->Arg(kSmall)
      ->Arg(kLarge);
  benchmark::RegisterBenchmark("eligible_sessions", bm_eligible_sessions)->Arg(10);
  benchmark::RegisterBenchmark("health", bm_health)->Arg(kHealthSessions);
  benchmark::RegisterBenchmark("baseline/copy_strings", bm_copy_strings, false)
      ->Arg(kSmall)
      ->Arg(kMedium)
      ->Arg(kLarge);
  benchmark::RegisterBenchmark("baseline/copy_strings_jid17", bm_copy_strings, true)->Arg(kLarge);
}

// ---------------------------------------------------------------------------------------------
// A compact console table (median of the repetitions, CPU time), then the figures the goals are
// about, with ratios to the plain-copy baseline.

class CompactReporter : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context& context) override {
    std::printf("wa_bench_core: %d CPU(s) at %.0f MHz%s\n", context.cpu_info.num_cpus,
                context.cpu_info.cycles_per_second / 1e6,
                context.cpu_info.scaling == benchmark::CPUInfo::ENABLED
                    ? " (CPU frequency scaling on: figures are noisy)"
                    : "");
    std::printf("%-52s %12s %14s %10s %6s\n", "benchmark", "time/op", "items/s", "faults/op", "cv");
    return true;
  }

  void ReportRuns(const std::vector<Run>& runs) override {
    const Run* pick = nullptr;
    double cv = -1;
    for (const Run& r : runs) {
      if (r.error_occurred) {
        std::printf("%-52s ERROR: %s\n", r.run_name.str().c_str(), r.error_message.c_str());
        return;
      }
      if (r.run_type == Run::RT_Aggregate && r.aggregate_name == "median") pick = &r;
      if (r.run_type == Run::RT_Aggregate && r.aggregate_name == "cv") cv = r.cpu_accumulated_time;
      if (r.run_type == Run::RT_Iteration && r.repetitions <= 1) pick = &r;
    }
    if (pick == nullptr) return;
    Row row;
    row.ns = pick->GetAdjustedCPUTime() * to_ns(pick->time_unit);
    if (auto it = pick->counters.find("items_per_second"); it != pick->counters.end()) {
      row.items_per_second = it->second.value;
    }
    const std::string name = pick->run_name.str();
    if (auto it = pick->counters.find("faults"); it != pick->counters.end()) {
      row.faults = it->second.value;
    }
    rows_[name] = row;
    std::printf("%-52s %12s %14s %10s %6s\n", name.c_str(), time_text(row.ns).c_str(),
                rate_text(row.items_per_second).c_str(), fixed(row.faults, 1).c_str(),
                cv < 0 ? "" : (fixed(cv * 100, 1) + "%").c_str());
    std::fflush(stdout);
  }

  void Finalize() override {
    std::printf("\nsummary (median CPU time, one thread):\n");
    if (const Row* r = find("decide/weighted_capacity/20")) {
      std::printf("  decision, 20 contacts:             %10.0f ns   goal < 2000 ns      %s\n",
                  r->ns, r->ns < 2000 ? "met" : "MISSED");
    }
    for (std::string_view n : {"20", "10000", "1000000"}) {
      const Row* d = find("decide/weighted_capacity/" + std::string(n));
      if (d != nullptr) {
        std::printf("  decide alone, %7s contacts:     %10.0f ns\n", std::string(n).c_str(), d->ns);
      }
    }
    const Row* full = find("decide+materialize/weighted_capacity/1000000");
    const Row* copy = find("baseline/copy_strings/1000000");
    const Row* mat = find("materialize/weighted_capacity/1000000");
    if (full != nullptr) {
      std::printf("  decide+materialize, 1M contacts:   %10s      goal >= 50.0 M/s    %s\n",
                  rate_text(full->items_per_second).c_str(),
                  full->items_per_second >= 50e6 ? "met" : "MISSED");
    }
    if (full != nullptr && copy != nullptr) {
      std::printf(
          "  plain vector<string> copy, 1M:     %10s      (the floor: decide+materialize"
          " takes %.2fx its time)\n",
          rate_text(copy->items_per_second).c_str(), full->ns / copy->ns);
    }
    if (mat != nullptr) {
      std::printf("  materialize alone, 1M:             %10s      (%.1f page faults per call)\n",
                  rate_text(mat->items_per_second).c_str(), mat->faults);
    }
    if (const Row* v = find("materialize_view/weighted_capacity/1000000")) {
      std::printf("  materialize as string_view, 1M:    %10s\n",
                  rate_text(v->items_per_second).c_str());
    }
    if (const Row* h = find("health/10000")) {
      std::printf("  health (metrics + score):          %10s sessions, %.0f ns per session\n",
                  rate_text(h->items_per_second).c_str(), h->ns / kHealthSessions);
    }
    std::printf("\nratios of time to baseline/copy_strings/<same n> (1.00 = as fast as a copy):\n");
    for (const auto& [name, row] : rows_) {
      if (name.rfind("decide+materialize/", 0) != 0 && name.rfind("materialize/", 0) != 0) continue;
      const std::string n = name.substr(name.rfind('/') + 1);
      if (const Row* base = find("baseline/copy_strings/" + n)) {
        std::printf("  %-52s %6.2fx\n", name.c_str(), row.ns / base->ns);
      }
    }
    if (const Row* j = find("decide+materialize_jid17/weighted_capacity/1000000")) {
      if (const Row* base = find("baseline/copy_strings_jid17/1000000")) {
        std::printf("  %-52s %6.2fx\n", "decide+materialize_jid17/weighted_capacity/1000000",
                    j->ns / base->ns);
      }
    }
  }

 private:
  struct Row {
    double ns = 0;
    double items_per_second = 0;
    double faults = 0;
  };

  const Row* find(const std::string& name) const {
    const auto it = rows_.find(name);
    return it == rows_.end() ? nullptr : &it->second;
  }

  static double to_ns(benchmark::TimeUnit unit) {
    switch (unit) {
      case benchmark::kNanosecond:
        return 1;
      case benchmark::kMicrosecond:
        return 1e3;
      case benchmark::kMillisecond:
        return 1e6;
      case benchmark::kSecond:
        return 1e9;
    }
    return 1;
  }

  static std::string fixed(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
  }

  static std::string time_text(double ns) {
    if (ns < 1e3) return fixed(ns, 1) + " ns";
    if (ns < 1e6) return fixed(ns / 1e3, 2) + " us";
    if (ns < 1e9) return fixed(ns / 1e6, 2) + " ms";
    return fixed(ns / 1e9, 2) + " s";
  }

  static std::string rate_text(double per_second) {
    if (per_second <= 0) return "";
    if (per_second >= 1e9) return fixed(per_second / 1e9, 2) + " G/s";
    if (per_second >= 1e6) return fixed(per_second / 1e6, 1) + " M/s";
    if (per_second >= 1e3) return fixed(per_second / 1e3, 1) + " k/s";
    return fixed(per_second, 1) + " /s";
  }

  std::map<std::string, Row> rows_;
};

// glibc's malloc serves blocks above its mmap threshold (128 KiB at start) with mmap, and gives
// the top of the heap back to the kernel above its trim threshold; freeing an mmapped block
// raises the mmap threshold to that block's size (at most 32 MiB) and the trim threshold to
// twice it. Until then every large list is fresh memory and costs a page fault per 4 KiB, so
// results would depend on which benchmark ran first. Freeing one 32 MB block up front gives the
// state a long-running daemon is in once it has held one large job (1M contact ids in a
// std::vector<std::string> are 32 MB). WA_BENCH_COLD_MALLOC=1 skips it, to see the cold cost.
void warm_up_malloc() {
  if (const char* cold = std::getenv("WA_BENCH_COLD_MALLOC");
      cold && std::string_view(cold) == "1") {
    std::printf("allocator: cold (WA_BENCH_COLD_MALLOC=1)\n");
    return;
  }
  void* block = std::malloc(32'000'000);
  benchmark::DoNotOptimize(block);
  std::free(block);
}

}  // namespace

int main(int argc, char** argv) {
  warm_up_malloc();
  bool stock_format = false;
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]).starts_with("--benchmark_format")) stock_format = true;
  }
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  if (stock_format) {
    benchmark::RunSpecifiedBenchmarks();
  } else {
    CompactReporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
  }
  benchmark::Shutdown();
  return 0;
}
