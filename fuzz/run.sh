#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) in build-fuzz/ and runs each for a bounded
# time on a copy of its seed corpus in a temporary directory (the repository stays clean).
#   fuzz/run.sh                     every target, FUZZ_SECONDS (default 30) each
#   FUZZ_SECONDS=300 fuzz/run.sh    longer runs
#   FUZZ_TARGETS=job fuzz/run.sh    only job_fuzzer (names: job config)
# Exits non-zero when a fuzzer finds a crash, a leak, a timeout or an out-of-memory input, and
# prints the input's path (the temporary directory is then kept). Reproduce with
# `build-fuzz/fuzz/<target>_fuzzer <input>`; save it under fuzz/regressions/<target>/ so that
# tests/fuzz_regression_test.cpp replays it.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-30}
targets=${FUZZ_TARGETS:-job config}
per_input_timeout=${FUZZ_TIMEOUT:-10}

WA_DEPS_SANITIZE=1 bash scripts/deps.sh

build=build-fuzz
jobs=$(nproc 2>/dev/null || echo 2)
CXX=clang++ cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWA_FUZZ=ON -DWA_WERROR=ON \
  -DWA_BUILD_TESTS=OFF -DWA_BUILD_BENCH=OFF >/dev/null
names=()
for t in $targets; do names+=("${t}_fuzzer"); done
cmake --build "$build" -j"$jobs" --target "${names[@]}" >/dev/null

work=$(mktemp -d "${TMPDIR:-/tmp}/wa-fuzz.XXXXXX")
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=0
for t in $targets; do
  fuzzer="$build/fuzz/${t}_fuzzer"
  mkdir -p "$work/corpus/$t" "$work/artifacts/$t"
  cp fuzz/corpus/"$t"/* "$work/corpus/$t/"
  log="$work/$t.log"
  echo "fuzz: ${t}_fuzzer for ${seconds}s" >&2
  rc=0
  "$fuzzer" -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 \
    -timeout="$per_input_timeout" -dict="fuzz/$t.dict" -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/$t/" "$work/corpus/$t" >"$log" 2>&1 || rc=$?
  # The last status line: "#<execs> <event> cov: <edges> ft: <features> corp: <n>/<size> ..."
  status=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  echo "fuzz: ${t}_fuzzer: ${runs:-?} runs, ${rate:-?} exec/s;" \
    "$(sed -E 's/.*(cov: [0-9]+ ft: [0-9]+ corp: [^ ]+).*/\1/' <<<"$status")" >&2
  artifacts=$(find "$work/artifacts/$t" -type f \
    \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | sort)
  if [[ $rc -ne 0 || -n $artifacts ]]; then
    failed=1
    grep -E 'invariant broken|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|SUMMARY' \
      "$log" | head -5 >&2 || true
    echo "fuzz: ${t}_fuzzer FAILED (exit $rc); log: $log" >&2
    for a in $artifacts; do echo "fuzz: crashing input: $a" >&2; done
  fi
done

if [[ $failed -ne 0 ]]; then
  echo "fuzz: kept $work for the inputs above" >&2
  exit 1
fi
rm -rf "$work"
echo "fuzz: no crash" >&2
