#!/usr/bin/env bash
# Installs dependencies, builds Shoal, and starts a three-agent cluster on this
# machine: agents on 127.0.0.1, 127.0.0.2 and 127.0.0.3 (HTTP on :7780 and
# gossip on :7782 of each), sharing a cluster key made with `shoal keygen`,
# each with its own data dir under the state dir. Waits until agent 1 sees all
# three alive, then shows the members. `./deploy/quickstart.sh stop` stops the
# three agents. Run it as root on Debian 12 (setup.sh installs packages).
set -euo pipefail
cd "$(dirname "$0")/.."
state=${SHOAL_QUICKSTART_DIR:-/tmp/shoal-quickstart}
nodes=(1 2 3)
shoal=build/shoal

stop() {
  local pidfile pid
  for pidfile in "$state"/node*.pid "$state"/agent.pid; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    if kill "$pid" 2>/dev/null; then
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      echo "stopped $(basename "$pidfile" .pid) (pid $pid)"
    fi
    rm -f "$pidfile"
  done
}

if [ "${1:-}" = "stop" ]; then
  stop
  exit 0
fi
if [ $# -gt 0 ]; then
  echo "usage: $0 [stop]" >&2
  exit 2
fi

export CCACHE_DIR=${CCACHE_DIR:-/var/cache/shoal-ccache}
mkdir -p "$CCACHE_DIR" 2>/dev/null || export CCACHE_DIR="$HOME/.cache/shoal-ccache"

echo "==> installing dependencies"
deploy/setup.sh
echo "==> building"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target shoal shoal-bench -j "$(nproc)" | tail -n 1

stop
mkdir -p "$state"
chmod 700 "$state"
# One key for the cluster, kept so that a second run reuses it (the agents'
# data dirs persist their keyring, which would win over a new key anyway).
if [ ! -s "$state/cluster.key" ]; then
  (umask 077 && "$shoal" keygen >"$state/cluster.key")
fi
key=$(cat "$state/cluster.key")

for n in "${nodes[@]}"; do
  addr=127.0.0.$n
  echo "==> starting node$n on $addr (logs: $state/node$n.log)"
  "$shoal" agent --name "node$n" --bind "$addr" --data-dir "$state/node$n" \
    --encrypt "$key" --join 127.0.0.1 >"$state/node$n.log" 2>&1 &
  echo $! >"$state/node$n.pid"
done

failed() {
  echo "quickstart: $1; the logs:" >&2
  for n in "${nodes[@]}"; do
    echo "--- node$n ($state/node$n.log)" >&2
    tail -n 20 "$state/node$n.log" >&2
  done
  stop >&2
  exit 1
}

# Each agent answers its health check, then agent 1 sees three alive members.
for n in "${nodes[@]}"; do
  for i in $(seq 100); do
    curl -fsS "http://127.0.0.$n:7780/v1/agent/health" >/dev/null 2>&1 && break
    kill -0 "$(cat "$state/node$n.pid")" 2>/dev/null || failed "node$n exited"
    [ "$i" -eq 100 ] && failed "node$n did not become healthy within 10 s"
    sleep 0.1
  done
done
export SHOAL_ADDR=http://127.0.0.1:7780
for i in $(seq 300); do
  alive=$("$shoal" members 2>/dev/null | awk '$4 == "alive"' | wc -l)
  [ "$alive" -ge 3 ] && break
  [ "$i" -eq 300 ] && failed "node1 sees $alive of 3 members alive after 30 s"
  sleep 0.1
done

echo "==> shoal members (as node1 sees them)"
"$shoal" members

# The Raft log the agents will share with the next release: three Raft
# nodes in one process, each with its own RocksDB log and fsync, committing
# what 16 clients propose; then a leader crash on the simulator.
echo
echo "==> Raft: 3 nodes, RocksDB + fsync, 16 clients for 2 s (build/tests/bench/shoal-bench raft)"
raft_dir=$(mktemp -d)
build/tests/bench/shoal-bench raft --nodes 3 --clients 16 --seconds 2 --value-bytes 256 \
  --data-dir "$raft_dir" | tr ' ' '\n' | grep -E '^(commits_per_s|p50_ms|p99_ms|entries_per_fsync)='
rm -rf "$raft_dir"
echo "==> Raft: the leader crashes; time until a new one, over 200 simulated runs"
build/tests/bench/shoal-bench raft-failover --seeds 200 | tr ' ' '\n' | grep -E '^leaderless_'
cat <<MSG

Shoal is running: three agents in one encrypted cluster (key in $state/cluster.key).
Try next:
  export SHOAL_ADDR=http://127.0.0.1:7780     # the CLI talks to node1
  $shoal members --json
  $shoal keyring list                      # the key, and how many nodes hold it
  curl -s http://127.0.0.1:7780/v1/metrics | grep shoal_gossip_members
  kill -9 \$(cat $state/node3.pid)    # then watch node3 turn suspect, then dead:
  watch -n 0.5 $shoal members
  SHOAL_ADDR=http://127.0.0.2:7780 $shoal leave   # node2 leaves gracefully ("left")
  ./deploy/quickstart.sh stop              # stop all three
MSG
