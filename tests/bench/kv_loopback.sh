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

# shellcheck source=tests/bench/loopback_agents.sh
. "$root/tests/bench/loopback_agents.sh"
agents_dir kv

key=$("$shoal" keygen)
for i in 1 2 3; do
  args=(agent --name "kv$i" --bind "127.0.8.$i" --http-port "$http_port"
        --gossip-port "$gossip_port" --rpc-port "$rpc_port" --data-dir "$dir/kv$i"
        --encrypt "$key" --gossip-profile local --bootstrap-expect 3 --log-level warn)
  ((i > 1)) && args+=(--join "127.0.8.1:$gossip_port")
  "$shoal" "${args[@]}" >"$dir/kv$i.log" 2>&1 &
  pids+=($!)
done

# The leader: the agent whose /v1/agent/self id is the leader agent 1 reports.
leader_ip=$(find_leader 127.0.8.1 "$http_port" 127.0.8.1 127.0.8.2 127.0.8.3) || {
  echo "kv_loopback: no leader within 30 s" >&2
  tail -n 20 "$dir"/kv*.log >&2
  exit 1
}
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

# raft_counters IP: "saves entries seconds readies" of that agent's Raft log.
raft_counters() {
  curl -fsS -m 2 "http://$1:$http_port/v1/metrics" | awk '
    /^shoal_raft_synced_saves_total /{s=$2} /^shoal_raft_synced_entries_total /{e=$2}
    /^shoal_raft_synced_save_seconds_total /{t=$2} /^shoal_raft_readies_total /{r=$2}
    END{printf "%s %s %s %s\n", s+0, e+0, t+0, r+0}'
}
# agents_cpu_ticks: user+system clock ticks used so far by each agent, in
# the order of $pids (agent i is pids[i-1]).
agents_cpu_ticks() {
  local f pid
  for pid in "${pids[@]}"; do
    read -ra f <"/proc/$pid/stat"
    printf '%s ' $((f[13] + f[14]))
  done
}

for c in "${conns[@]}"; do
  declare -A before=()
  for i in 1 2 3; do before[$i]=$(raft_counters "127.0.8.$i"); done
  read -ra cpu0 <<<"$(agents_cpu_ticks)"
  host0=$(head -n 1 /proc/stat)
  threads=2
  ((c < threads)) && threads=$c
  out=$(wrk -t"$threads" -c"$c" -d"${seconds}s" -s "$dir/put.lua" "http://$leader_ip:$http_port")
  read -ra cpu1 <<<"$(agents_cpu_ticks)"
  host1=$(head -n 1 /proc/stat)
  read -r _ rate p50 p99 errors < <(grep '^RESULT' <<<"$out")
  printf 'kv_loopback conns=%s puts_per_s=%.0f p50_ms=%.2f p99_ms=%.2f errors=%s\n' \
    "$c" "$rate" "$p50" "$p99" "$errors"

  # Diagnostics, indented. CPU the agents used per put (user + system, all
  # threads; steadier than puts/s, which swings with the hypervisor's steal
  # time) and the machine's steal time over the run.
  awk -v c="$c" -v leader="${leader_ip##*.}" -v hz="$(getconf CLK_TCK)" -v rate="$rate" \
      -v d="$seconds" -v ticks="$((cpu1[0] - cpu0[0])) $((cpu1[1] - cpu0[1])) $((cpu1[2] - cpu0[2]))" \
      -v h0="$host0" -v h1="$host1" 'BEGIN {
    split(ticks, t, " "); us = (rate > 0) ? 1e6 / hz / (rate * d) : 0; f = ""
    for (i = 1; i <= 3; i++) if (i != leader) f = f (f == "" ? "" : "+") sprintf("%.0f", t[i] * us)
    n0 = split(h0, a, " "); split(h1, b, " "); all = 0
    for (i = 2; i <= n0; i++) all += b[i] - a[i]
    printf "  kv_loopback conns=%s agents_cpu_us_per_put=%.0f leader=%.0f followers=%s steal_pct=%.0f\n",
      c, (t[1] + t[2] + t[3]) * us, t[leader] * us, f, (all > 0 ? 100 * (b[9] - a[9]) / all : 0) }'
  # Per agent: synced log writes per second, entries per synced write, mean
  # time in one, Ready batches per second (the batching behind puts/s).
  for i in 1 2 3; do
    read -r s0 e0 t0 r0 <<<"${before[$i]}"
    read -r s1 e1 t1 r1 <<<"$(raft_counters "127.0.8.$i")"
    role=follower
    [ "127.0.8.$i" = "$leader_ip" ] && role=leader
    awk -v c="$c" -v role="$role" -v d="$seconds" -v s0="$s0" -v s1="$s1" -v e0="$e0" -v e1="$e1" \
        -v t0="$t0" -v t1="$t1" -v r0="$r0" -v r1="$r1" 'BEGIN {
      s = s1 - s0; e = e1 - e0; r = r1 - r0
      printf "  kv_loopback conns=%s %s synced_writes_per_s=%.0f entries_per_write=%.1f fsync_ms=%.3f readies_per_s=%.0f\n",
        c, role, s / d, s ? e / s : 0, s ? (t1 - t0) * 1000 / s : 0, r / d }'
  done
done
