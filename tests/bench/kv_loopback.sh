#!/usr/bin/env bash
# kv_loopback.sh [SECONDS] [CONNS...]: KV write throughput of a real 3-agent
# cluster on loopback. Starts agents on 127.0.8.1..3 (HTTP :28800, gossip
# :28801, RPC :28802, --bootstrap-expect 3, the local gossip profile), waits
# for a leader, then for each connection count (default: 16 64) drives
# `wrk` against the leader for SECONDS (default 10): PUT /v1/kv/bench/<n>
# with 256-byte values over 10,000 keys, 2 wrk threads. Prints one line per
# connection count:
#   kv_loopback conns=C puts_per_s=X p50_ms=Y p99_ms=Z errors=E
# errors counts non-2xx answers and socket errors. $SHOAL_BINARY picks the
# binary (default: build/shoal). Needs wrk and curl (deploy/setup.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
seconds=${1:-10}
shift || true
conns=("$@")
[ ${#conns[@]} -gt 0 ] || conns=(16 64)
shoal=${SHOAL_BINARY:-$root/build/shoal}
http_port=28800
gossip_port=28801
rpc_port=28802

usage() { echo "usage: $0 [SECONDS] [CONNS...]   (1 <= SECONDS <= 600, 1 <= CONNS <= 1000)" >&2; exit 2; }
[[ "$seconds" =~ ^[0-9]+$ ]] && ((seconds >= 1 && seconds <= 600)) || usage
for c in "${conns[@]}"; do [[ "$c" =~ ^[0-9]+$ ]] && ((c >= 1 && c <= 1000)) || usage; done
[ -x "$shoal" ] || { echo "kv_loopback: no shoal binary at $shoal (set SHOAL_BINARY)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "kv_loopback: needs wrk (apt-get install wrk)" >&2; exit 1; }
command -v curl >/dev/null || { echo "kv_loopback: needs curl" >&2; exit 1; }

dir=$(mktemp -d /tmp/shoal-bench-kv.XXXXXX)
pids=()
cleanup() {
  { for pid in "${pids[@]}"; do kill -9 "$pid" || true; done; wait; } 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

key=$("$shoal" keygen)
for i in 1 2 3; do
  args=(agent --name "kv$i" --bind "127.0.8.$i" --http-port "$http_port"
        --gossip-port "$gossip_port" --rpc-port "$rpc_port" --data-dir "$dir/kv$i"
        --encrypt "$key" --gossip-profile local --bootstrap-expect 3 --log-level warn)
  ((i > 1)) && args+=(--join "127.0.8.1:$gossip_port")
  "$shoal" "${args[@]}" >"$dir/kv$i.log" 2>&1 &
  pids+=($!)
done

# The leader: the agent whose /v1/agent/self id is the leader everyone reports.
leader_ip=""
deadline=$(($(date +%s) + 30))
while [ -z "$leader_ip" ]; do
  if [ "$(date +%s)" -gt "$deadline" ]; then
    echo "kv_loopback: no leader within 30 s" >&2
    tail -n 20 "$dir"/kv*.log >&2
    exit 1
  fi
  leader=$(curl -fsS -m 1 "http://127.0.8.1:$http_port/v1/status" 2>/dev/null |
    sed -n 's/.*"leader":"\([0-9a-f]*\)".*/\1/p' || true)
  if [ -n "$leader" ]; then
    for i in 1 2 3; do
      if curl -fsS -m 1 "http://127.0.8.$i:$http_port/v1/agent/self" 2>/dev/null | grep -q "\"id\":\"$leader\""; then
        leader_ip=127.0.8.$i
      fi
    done
  fi
  [ -n "$leader_ip" ] || sleep 0.2
done
# One write through the leader proves the path before measuring.
curl -fsS -m 5 -X PUT --data warmup "http://$leader_ip:$http_port/v1/kv/bench/warmup" >/dev/null

cat >"$dir/put.lua" <<'EOF'
local value = string.rep("v", 256)
local n = 0
request = function()
  n = n + 1
  return wrk.format("PUT", "/v1/kv/bench/" .. (n % 10000), nil, value)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %.1f %.3f %.3f %d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.status + e.timeout))
end
EOF

for c in "${conns[@]}"; do
  threads=2
  ((c < threads)) && threads=$c
  out=$(wrk -t"$threads" -c"$c" -d"${seconds}s" -s "$dir/put.lua" "http://$leader_ip:$http_port")
  read -r _ rate p50 p99 errors < <(grep '^RESULT' <<<"$out")
  printf 'kv_loopback conns=%s puts_per_s=%.0f p50_ms=%.2f p99_ms=%.2f errors=%s\n' \
    "$c" "$rate" "$p50" "$p99" "$errors"
done
