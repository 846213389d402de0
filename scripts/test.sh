#!/usr/bin/env bash
# Builds wa-router and runs every test (unit + integration against a private redis-server).
#   scripts/test.sh              normal build in build/
#   scripts/test.sh --sanitize   AddressSanitizer + UndefinedBehaviorSanitizer build in build-asan/
#   scripts/test.sh --release    Release build of everything in build-release/, unit tests only
# Every build treats warnings as errors (WA_WERROR=ON) and uses ccache when it is installed.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=normal
for arg in "$@"; do
  case "$arg" in
    --sanitize) mode=sanitize ;;
    --release) mode=release ;;
    *) echo "usage: scripts/test.sh [--sanitize | --release]" >&2; exit 2 ;;
  esac
done

bash scripts/deps.sh

# ccache is an optional speed-up; an empty launcher also clears one a build tree remembers.
launcher=
if command -v ccache >/dev/null 2>&1; then launcher=ccache; fi
common=(-DWA_WERROR=ON "-DCMAKE_CXX_COMPILER_LAUNCHER=$launcher")

jobs=$(nproc 2>/dev/null || echo 2)
labels=()
case "$mode" in
  sanitize)
    build=build-asan
    cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DWA_SANITIZE=ON -DWA_BUILD_BENCH=OFF \
      "${common[@]}" >/dev/null
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    ;;
  release)
    # What a user's `cmake -DCMAKE_BUILD_TYPE=Release` compiles (benchmarks included), warnings
    # as errors; the unit tests only, the full suite runs in the other two builds.
    build=build-release
    cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DWA_BUILD_BENCH=ON "${common[@]}" >/dev/null
    labels=(-L unit)
    ;;
  *)
    build=build
    cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${common[@]}" >/dev/null
    ;;
esac
cmake --build "$build" -j"$jobs"
ctest --test-dir "$build" --output-on-failure -j"$jobs" --timeout 300 "${labels[@]}"
