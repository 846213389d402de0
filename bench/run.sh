#!/usr/bin/env bash
# Builds the core benchmarks in Release and runs them, printing a compact table and a summary
# against the goals (median of WA_BENCH_REPETITIONS repetitions, default 3; CPU time).
# The full results are also written as JSON to build-bench/bench_core.json; without arguments,
# a second pass measures the 1M-contact copy with a cold allocator (build-bench/bench_core_cold.json).
# Extra arguments go to the benchmark, e.g. bench/run.sh --benchmark_filter='decide/'
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/deps.sh

cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DWA_BUILD_TESTS=OFF -DWA_BUILD_BENCH=ON \
  >/dev/null
cmake --build build-bench --target wa_bench_core -j"$(nproc)" >/dev/null

bench=(./build-bench/bench/wa_bench_core --benchmark_min_time=0.2
  --benchmark_repetitions="${WA_BENCH_REPETITIONS:-3}" --benchmark_report_aggregates_only=true)

"${bench[@]}" --benchmark_out=build-bench/bench_core.json --benchmark_out_format=json "$@"

# The 1M-contact materialize again in a fresh process whose allocator has never freed a large
# block (see warm_up_malloc in core_bench.cpp): what the writer pays before glibc adapts.
if [[ $# -eq 0 ]]; then
  echo
  echo "--- again with a cold allocator (WA_BENCH_COLD_MALLOC=1) ---"
  WA_BENCH_COLD_MALLOC=1 "${bench[@]}" \
    --benchmark_filter='^(decide\+materialize|materialize|baseline/copy_strings)/(weighted_capacity/)?1000000$' \
    --benchmark_out=build-bench/bench_core_cold.json --benchmark_out_format=json
fi
