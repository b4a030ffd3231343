#!/usr/bin/env bash
# Runs the chaos suite for real agents (tests/chaos/README.md): finds
# shoal-chaos in the build ($SHOAL_BUILD_DIR, else <repo>/build) and runs it
# with every argument given here, e.g.
#   tests/chaos/run.sh --nodes 3 --minutes 1 --seed 42 --faults kill,partition
# Whatever happens to the tool, the SHOAL_CHAOS iptables chain it may have
# created is removed when this script exits.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${SHOAL_BUILD_DIR:-$repo/build}
bin=$build/tests/chaos/shoal-chaos
if [ ! -x "$bin" ]; then
  echo "run.sh: $bin not found; build it first: cmake --build $build --target shoal shoal-chaos" >&2
  exit 2
fi

remove_chain() {
  command -v iptables >/dev/null 2>&1 || return 0
  while iptables -w 5 -D INPUT -j SHOAL_CHAOS 2>/dev/null; do :; done
  iptables -w 5 -F SHOAL_CHAOS 2>/dev/null
  iptables -w 5 -X SHOAL_CHAOS 2>/dev/null
  return 0
}

# The tool runs as a child (not exec'd) so that this trap outlives it; INT
# and TERM are passed on, and the tool heals and stops its agents itself.
pid=
forward() { [ -n "$pid" ] && kill -s "$1" "$pid" 2>/dev/null; }
trap 'forward INT' INT
trap 'forward TERM' TERM
trap remove_chain EXIT

"$bin" "$@" &
pid=$!
while :; do
  wait "$pid"
  rc=$?
  # wait returns early (>128) when a trapped signal arrives; wait again
  # until the tool has really exited.
  kill -0 "$pid" 2>/dev/null || break
done
exit "$rc"
