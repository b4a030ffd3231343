#!/usr/bin/env bash
# observer_lag.sh [WRITES]: how soon an observer applies a committed write,
# on real agents. Starts 3 voters and 1 observer on 127.0.30.1..4 (HTTP
# :28900, gossip :28901, RPC :28902, the local gossip profile), waits until
# the observer follows the log, then runs `shoal-bench observer-lag` with
# WRITES writes (default 1000) through the leader. Prints
#   observer_lag writes=N p50_ms=X p99_ms=Y max_ms=Z errors=E
# and an indented line with the machine's steal share over the run.
# $SHOAL_BINARY and $SHOAL_BENCH pick the binaries (default: build/).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
writes=${1:-1000}
shoal=${SHOAL_BINARY:-$root/build/shoal}
bench=${SHOAL_BENCH:-$root/build/tests/bench/shoal-bench}
http_port=28900
gossip_port=28901
rpc_port=28902

[[ "$writes" =~ ^[0-9]+$ ]] && ((writes >= 1 && writes <= 100000)) ||
  { echo "usage: $0 [WRITES]   (1 <= WRITES <= 100000)" >&2; exit 2; }
[ -x "$shoal" ] || { echo "observer_lag: no shoal binary at $shoal (set SHOAL_BINARY)" >&2; exit 1; }
[ -x "$bench" ] || { echo "observer_lag: no shoal-bench at $bench (set SHOAL_BENCH)" >&2; exit 1; }
command -v curl >/dev/null || { echo "observer_lag: needs curl" >&2; exit 1; }

# shellcheck source=tests/bench/loopback_agents.sh
. "$root/tests/bench/loopback_agents.sh"
agents_dir lag

key=$("$shoal" keygen)
for i in 1 2 3 4; do
  args=(agent --name "lag$i" --bind "127.0.30.$i" --http-port "$http_port"
        --gossip-port "$gossip_port" --rpc-port "$rpc_port" --data-dir "$dir/lag$i"
        --encrypt "$key" --gossip-profile local --voters 3 --log-level warn)
  ((i <= 3)) && args+=(--bootstrap-expect 3)
  ((i > 1)) && args+=(--join "127.0.30.1:$gossip_port")
  "$shoal" "${args[@]}" >"$dir/lag$i.log" 2>&1 &
  pids+=($!)
done

fail() {
  echo "observer_lag: $1" >&2
  tail -n 20 "$dir"/lag*.log >&2
  exit 1
}
# The leader: the voter whose id is the leader the observer reports (so the
# observer follows the log and knows the leader too).
leader_ip=$(find_leader 127.0.30.4 "$http_port" 127.0.30.1 127.0.30.2 127.0.30.3) ||
  fail "no leader known to the observer within 30 s"

host0=$(head -n 1 /proc/stat)
"$bench" observer-lag --leader "$leader_ip:$http_port" --observer "127.0.30.4:$http_port" \
  --writes "$writes" || fail "the benchmark failed"
host1=$(head -n 1 /proc/stat)
awk -v h0="$host0" -v h1="$host1" 'BEGIN {
  n0 = split(h0, a, " "); split(h1, b, " "); all = 0
  for (i = 2; i <= n0; i++) all += b[i] - a[i]
  printf "  observer_lag steal_pct=%.0f\n", (all > 0 ? 100 * (b[9] - a[9]) / all : 0) }'
