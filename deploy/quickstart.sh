#!/usr/bin/env bash
# Installs dependencies, builds Shoal, starts a local agent and shows it
# working. `./deploy/quickstart.sh stop` stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
state=${SHOAL_QUICKSTART_DIR:-/tmp/shoal-quickstart}
http=127.0.0.1:7780

stop() {
  if [ -f "$state/agent.pid" ]; then
    local pid
    pid=$(cat "$state/agent.pid")
    if kill "$pid" 2>/dev/null; then
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      echo "stopped agent (pid $pid)"
    fi
    rm -f "$state/agent.pid"
  fi
}

if [ "${1:-}" = "stop" ]; then
  stop
  exit 0
fi

export CCACHE_DIR=${CCACHE_DIR:-/var/cache/shoal-ccache}
mkdir -p "$CCACHE_DIR" 2>/dev/null || export CCACHE_DIR="$HOME/.cache/shoal-ccache"

echo "==> installing dependencies"
deploy/setup.sh
echo "==> building"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target shoal -j "$(nproc)" | tail -n 1

stop
mkdir -p "$state"
echo "==> starting a dev agent on $http (logs: $state/agent.log)"
build/shoal agent --dev >"$state/agent.log" 2>&1 &
echo $! >"$state/agent.pid"

for _ in $(seq 100); do
  if curl -fsS "http://$http/v1/agent/health" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$(cat "$state/agent.pid")" 2>/dev/null; then
    echo "quickstart: the agent exited; its log:" >&2
    cat "$state/agent.log" >&2
    exit 1
  fi
  sleep 0.1
done

echo "==> GET /v1/agent/health"
curl -fsS "http://$http/v1/agent/health"
echo
echo "==> GET /v1/agent/self"
curl -fsS "http://$http/v1/agent/self"
echo
cat <<MSG

Shoal is running (one dev agent, in-memory data dir, no encryption).
Try next:
  build/shoal --help
  build/shoal keygen                       # a cluster key for --encrypt
  curl http://$http/v1/agent/self
  ./deploy/quickstart.sh stop              # stop the agent
MSG
