#!/usr/bin/env bash
# clock_reads.sh SOURCE_DIR: fails when code under node/ reads the monotonic
# clock itself. Hosts take a shoal::Clock (core/time.h) from outside, so that
# the simulator can drive them in virtual time; only core/time.cc reads
# std::chrono::steady_clock. (Calendar time for file names and timestamps,
# std::chrono::system_clock, is not what the simulator replaces.)
set -euo pipefail
src=${1:?usage: clock_reads.sh SOURCE_DIR}
if hits=$(grep -rnE '(steady_clock|high_resolution_clock)::now' "$src/node"); then
  echo "clock_reads: node/ reads the clock directly; take a shoal::Clock instead:" >&2
  echo "$hits" >&2
  exit 1
fi
echo "clock_reads: node/ reads time only through shoal::Clock"
