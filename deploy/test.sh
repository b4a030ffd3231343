#!/usr/bin/env bash
# Installs, builds and runs every test layer:
#   1. setup        deploy/setup.sh
#   2. format       every tracked .cc/.h as clang-format makes it (tests/contract/format.sh)
#   3. build        release build (gcc, -Werror) in build/
#   4. test         ctest: unit, sim, integration, fuzz corpora, benchmark smoke,
#                   the chaos suite (tests/chaos, run alone: RUN_SERIAL)
#   5. build-asan   clang build with ASan+UBSan+libFuzzer in build-fuzz/
#   6. test-asan    unit and sim tests under the sanitizers (fewer sim seeds)
#   7. fuzz         each fuzz target for a short smoke (SHOAL_FUZZ_SECONDS, 30)
# Prints ctest's summaries and the time each stage took; exits non-zero on any
# failure.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

jobs=${SHOAL_JOBS:-$(nproc)}
fuzz_seconds=${SHOAL_FUZZ_SECONDS:-30}
asan_sim_seeds=${SHOAL_ASAN_SIM_SEEDS:-3}

# ccache lives outside the clone so CI's fresh clones rebuild quickly.
export CCACHE_DIR=${CCACHE_DIR:-/var/cache/shoal-ccache}
export CCACHE_BASEDIR="$root"
export CCACHE_NOHASHDIR=1
mkdir -p "$CCACHE_DIR" 2>/dev/null || export CCACHE_DIR="$HOME/.cache/shoal-ccache"

timings=()
stage() {
  local name=$1
  shift
  echo "==> $name"
  local start=$SECONDS
  if ! "$@"; then
    echo "==> $name FAILED after $((SECONDS - start))s" >&2
    print_timings
    exit 1
  fi
  timings+=("$(printf '%-12s %5ss' "$name" $((SECONDS - start)))")
}
print_timings() {
  echo "==> stage times"
  for t in "${timings[@]}"; do echo "    $t"; done
}

configure_release() {
  # Test faults compiled in: the chaos suite's negative controls need them.
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHOAL_WERROR=ON \
    -DSHOAL_TEST_FAULTS=ON >/dev/null
  cmake --build build -j "$jobs"
}
test_release() {
  ctest --test-dir build --output-on-failure -j "$jobs" --timeout 600
}
configure_asan() {
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSHOAL_SANITIZE=ON -DSHOAL_FUZZ=ON -DSHOAL_WERROR=ON >/dev/null
  cmake --build build-fuzz -j "$jobs"
}
test_asan() {
  SHOAL_SIM_SEEDS=$asan_sim_seeds ASAN_OPTIONS=detect_leaks=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-fuzz -L 'unit|sim' --output-on-failure -j "$jobs" --timeout 900
}
fuzz_smoke() {
  local dir
  for bin in build-fuzz/tests/fuzz/fuzz_*; do
    [ -x "$bin" ] || continue
    local name=${bin##*/fuzz_}
    dir=$(mktemp -d /tmp/shoal-fuzz-"$name".XXXXXX)
    echo "--- fuzz_$name for ${fuzz_seconds}s"
    if ! "$bin" -max_total_time="$fuzz_seconds" -print_final_stats=1 -close_fd_mask=3 \
        "$dir" "tests/fuzz/corpus/$name" >"$dir.log" 2>&1; then
      tail -n 40 "$dir.log" >&2
      return 1
    fi
    grep -E 'stat::number_of_executed_units|Done [0-9]+ runs' "$dir.log" | tail -n 2 || true
    rm -rf "$dir" "$dir.log"
  done
}

stage setup deploy/setup.sh
stage format tests/contract/format.sh
stage build configure_release
stage test test_release
stage build-asan configure_asan
stage test-asan test_asan
stage fuzz fuzz_smoke
print_timings
echo "==> all tests passed"
