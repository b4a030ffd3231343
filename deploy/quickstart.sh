#!/usr/bin/env bash
# Installs dependencies, builds Shoal, and starts a four-agent cluster on this
# machine: agents on 127.0.0.1 .. 127.0.0.4 (HTTP :7780, RPC :7781 and gossip
# :7782 of each), each configured by a YAML file (--config) with its own data
# dir under the state dir. The first three have --bootstrap-expect 3 and form
# one Raft cluster by themselves; the fourth joins it as an observer that
# follows the log (most agents of a real fleet are observers). The cluster key and the API token
# live in 0600 files (--encrypt-file, --api-token-file), never on a command
# line. Waits for the members and a leader, shows `shoal raft peers`, writes a
# KV value through one agent and reads it back through another, kills the
# leader and shows a write sent at that moment succeed through the observer
# (it asks the voters for the new leader and waits for it), then rotates the
# cluster key (`shoal keyring`, which names keys by id only).
# `./deploy/quickstart.sh stop` stops the agents. Run it as root on Debian 12
# (setup.sh installs packages).
set -euo pipefail
cd "$(dirname "$0")/.."
state=${SHOAL_QUICKSTART_DIR:-/tmp/shoal-quickstart}
nodes=(1 2 3 4)
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
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHOAL_TEST_FAULTS=OFF >/dev/null
cmake --build build --target shoal -j "$(nproc)" | tail -n 1

stop
mkdir -p "$state"
chmod 700 "$state"
# One key for the cluster and one API token, kept so that a second run reuses
# them (the agents' data dirs persist their keyring, which would win over a
# new key anyway). Secrets stay in files of mode 0600.
if [ ! -s "$state/cluster.key" ]; then
  (umask 077 && "$shoal" keygen >"$state/cluster.key")
fi
if [ ! -s "$state/api.token" ]; then
  (umask 077 && "$shoal" keygen | tr -d '=+/' >"$state/api.token")
fi
export SHOAL_TOKEN
SHOAL_TOKEN=$(cat "$state/api.token")  # the CLI's token, from the environment

start_agent() {  # node number
  local n=$1
  cat >"$state/node$n.yaml" <<YAML
name: node$n
bind: 127.0.0.$n
data-dir: $state/node$n
encrypt-file: $state/cluster.key
api-token-file: $state/api.token
join: [127.0.0.1]
YAML
  # Three voters form the cluster; node4 joins it as an observer.
  if [ "$n" -le 3 ]; then echo "bootstrap-expect: 3" >>"$state/node$n.yaml"; fi
  chmod 600 "$state/node$n.yaml"
  "$shoal" agent --config "$state/node$n.yaml" >>"$state/node$n.log" 2>&1 &
  echo $! >"$state/node$n.pid"
  disown  # the shell says nothing when an agent is killed below
}

for n in "${nodes[@]}"; do
  echo "==> starting node$n on 127.0.0.$n (config: $state/node$n.yaml, logs: $state/node$n.log)"
  : >"$state/node$n.log"
  start_agent "$n"
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

# Each agent answers its health check, then agent 1 sees four alive members.
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
  [ "$alive" -ge 4 ] && break
  [ "$i" -eq 300 ] && failed "node1 sees $alive of 4 members alive after 30 s"
  sleep 0.1
done

echo "==> shoal members (as node1 sees them)"
"$shoal" members

# The agents form a Raft cluster: wait until node1 knows a leader and three voters.
for i in $(seq 300); do
  status=$("$shoal" status --json 2>/dev/null || true)
  grep -Eq '"leader": ?"[0-9a-f]' <<<"$status" && grep -Eq '"voters": ?3' <<<"$status" && break
  [ "$i" -eq 300 ] && failed "no Raft leader with 3 voters after 30 s"
  sleep 0.1
done
# The observer follows the log: it knows the leader too.
for i in $(seq 300); do
  status=$(SHOAL_ADDR=http://127.0.0.4:7780 "$shoal" status --json 2>/dev/null || true)
  grep -Eq '"leader": ?"[0-9a-f]' <<<"$status" && grep -Eq '"role": ?"observer"' <<<"$status" && break
  [ "$i" -eq 300 ] && failed "node4 does not follow the cluster's log after 30 s"
  sleep 0.1
done
echo
echo "==> shoal raft peers (the agents chose their voters and a leader; node4 observes)"
"$shoal" raft peers
echo
echo "==> a KV write through node2, read back through node3"
SHOAL_ADDR=http://127.0.0.2:7780 "$shoal" kv put quickstart/greeting "hello from node2"
echo -n "node3 reads: "
SHOAL_ADDR=http://127.0.0.3:7780 "$shoal" kv get quickstart/greeting
echo

# Kill -9 the leader and at once send one write through the observer: it
# hears at once that its connection to the leader broke, asks the voters who
# leads, and holds the write until they have elected a new leader (at most
# 2 s) instead of failing it. A write whose fate is unknown would get 504, one
# that was never taken 503 with Retry-After (docs/api.md).
leader=$("$shoal" status --json | sed -n 's/.*"leader_name": *"\([^"]*\)".*/\1/p')
survivor=4
echo "==> kill -9 the leader ($leader) and write through the observer node$survivor at once"
kill -9 "$(cat "$state/$leader.pid")"
rm -f "$state/$leader.pid"
start=$(date +%s.%N)
attempts=0
for i in $(seq 100); do
  attempts=$i
  SHOAL_ADDR=http://127.0.0.$survivor:7780 "$shoal" kv put quickstart/after-failover ok \
    >/dev/null 2>&1 && break
  [ "$i" -eq 100 ] && failed "no write accepted within 10 s of the leader's death"
  sleep 0.1
done
printf 'the write sent at the kill succeeded %.1f s later (%s attempt(s)); the new leader: ' \
  "$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')" "$attempts"
SHOAL_ADDR=http://127.0.0.$survivor:7780 "$shoal" status --json |
  sed -n 's/.*"leader_name": *"\([^"]*\)".*/\1/p'
echo "==> restarting $leader on its data dir: it rejoins as a voter"
n=${leader#node}
start_agent "$n"
for i in $(seq 100); do
  SHOAL_ADDR=http://127.0.0.$n:7780 "$shoal" kv get --stale quickstart/after-failover \
    >/dev/null 2>&1 && break
  [ "$i" -eq 100 ] && failed "$leader did not catch up within 10 s"
  sleep 0.1
done
echo -n "$leader reads its local replica: "
SHOAL_ADDR=http://127.0.0.$n:7780 "$shoal" kv get --stale quickstart/after-failover
echo

echo "==> no agent has a secret on its command line"
for n in "${nodes[@]}"; do
  if tr '\0' ' ' <"/proc/$(cat "$state/node$n.pid")/cmdline" |
    grep -Fq -e "$(cat "$state/cluster.key")" -e "$SHOAL_TOKEN"; then
    failed "node$n has a secret on its command line"
  fi
done
echo "checked /proc/PID/cmdline of node1..node4: only --config FILE"
echo
echo "==> rotating the cluster key: install a new one, use it, remove the old one"
(umask 077 && "$shoal" keygen >"$state/cluster.key.new")
old_id=$("$shoal" keyring list --local --json | grep -o '"id": *"[0-9a-f]\{8\}"' | head -n 1 |
  grep -o '[0-9a-f]\{8\}')  # the primary comes first
for i in $(seq 100); do
  "$shoal" keyring install --key-file "$state/cluster.key.new" >"$state/rotate.out" 2>&1 && break
  [ "$i" -eq 100 ] && failed "keyring install did not reach every agent: $(cat "$state/rotate.out")"
  sleep 0.2
done
cat "$state/rotate.out"
new_id=$(sed -n 's/.*key \([0-9a-f]\{8\}\).*/\1/p' "$state/rotate.out")
"$shoal" keyring use "$new_id"
"$shoal" keyring remove "$old_id"
mv "$state/cluster.key.new" "$state/cluster.key"
echo "==> shoal keyring list (key ids only: the API never returns key material)"
"$shoal" keyring list
echo

cat <<MSG

Shoal is running: four agents in one encrypted Raft cluster (three voters and
an observer), configured by
$state/node*.yaml (key in $state/cluster.key, API token in $state/api.token).
Try next:
  export SHOAL_ADDR=http://127.0.0.1:7780     # the CLI talks to node1
  export SHOAL_TOKEN=\$(cat $state/api.token)  # every API call but health needs it
  $shoal status
  $shoal raft peers
  $shoal kv put app/config '{"replicas": 3}'  # any agent takes writes
  $shoal kv list app/
  $shoal raft transfer-leader node3
  curl -s -H "Authorization: Bearer \$SHOAL_TOKEN" \\
    'http://127.0.0.2:7780/v1/kv/app/config?index=1&wait=30s'   # a blocking query
  $shoal keyring list
  kill -HUP \$(cat $state/node1.pid)          # re-read node1.yaml and the token file
  $shoal members
  $shoal snapshot save /tmp/shoal.snap
  kill -9 \$(cat $state/node3.pid); watch -n 0.5 $shoal members
  ./deploy/quickstart.sh stop              # stop all four
MSG
