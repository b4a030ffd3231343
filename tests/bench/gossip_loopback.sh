#!/usr/bin/env bash
# gossip_loopback.sh N [TRIALS]: failure detection and memory of N real agents
# on loopback. Starts N agents on 127.0.7.1..N (HTTP :28700, gossip :28701,
# the lan profile unless $SHOAL_BENCH_PROFILE says otherwise), waits until
# every agent sees N alive, measures each idle agent's VmRSS, then TRIALS
# times (default 1) kills -9 one agent and measures how long it takes until
# every survivor reports it dead (from the kill to the last survivor's "is
# dead" log line). Prints one line:
#   gossip_loopback nodes=N detect_all_s=X rss_median_mb=Y [...]
# detect_all_s is the median over the trials. $SHOAL_BINARY picks the binary
# (default: build/shoal).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
n=${1:-}
trials=${2:-1}
shoal=${SHOAL_BINARY:-$root/build/shoal}
profile=${SHOAL_BENCH_PROFILE:-lan}
http_port=28700
gossip_port=28701

usage() { echo "usage: $0 N [TRIALS]   (2 <= N <= 250, 1 <= TRIALS < N)" >&2; exit 2; }
[[ "$n" =~ ^[0-9]+$ && "$trials" =~ ^[0-9]+$ ]] || usage
((n >= 2 && n <= 250 && trials >= 1 && trials < n)) || usage
[ -x "$shoal" ] || { echo "gossip_loopback: no shoal binary at $shoal (set SHOAL_BINARY)" >&2; exit 1; }
command -v curl >/dev/null || { echo "gossip_loopback: needs curl" >&2; exit 1; }

# shellcheck source=tests/bench/loopback_agents.sh
. "$root/tests/bench/loopback_agents.sh"
agents_dir gossip

now() { date +%s.%N; }
# The value of one metric series of agent $1, or -1.
metric() {
  curl -fsS -m 2 "http://127.0.7.$1:$http_port/v1/metrics" 2>/dev/null |
    awk -v s="$2" '$1 == s { print $2; found = 1 } END { if (!found) print -1 }'
}

key=$("$shoal" keygen)
for i in $(seq "$n"); do
  args=(agent --name "b$i" --bind "127.0.7.$i" --http-port "$http_port" --gossip-port "$gossip_port"
        --data-dir "$dir/b$i" --encrypt "$key" --gossip-profile "$profile")
  ((i > 1)) && args+=(--join "127.0.7.1:$gossip_port")
  "$shoal" "${args[@]}" >"$dir/b$i.log" 2>&1 &
  pids+=($!)
done

# Converged: every agent sees n alive.
deadline=$(($(date +%s) + 60 + n))
pending=$(seq "$n")
while [ -n "$pending" ]; do
  next=""
  for i in $pending; do
    [ "$(metric "$i" 'shoal_gossip_members{status="alive"}')" = "$n" ] || next="$next $i"
  done
  pending=$next
  if [ -n "$pending" ] && [ "$(date +%s)" -gt "$deadline" ]; then
    echo "gossip_loopback: not converged; still waiting for:$pending" >&2
    exit 1
  fi
  [ -n "$pending" ] && sleep 0.2
done

# Idle memory: let the cluster settle, then read VmRSS of every agent.
sleep "${SHOAL_BENCH_SETTLE_S:-5}"
rss_median=$(for pid in "${pids[@]}"; do awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status"; done |
  sort -n | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.1f", m / 1024 }')
rss_max=$(for pid in "${pids[@]}"; do awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status"; done |
  sort -n | tail -n 1 | awk '{ printf "%.1f", $1 / 1024 }')

# Trials: kill the last live agent; every survivor must report one more dead.
results=()
alive=$(seq "$n")
for t in $(seq "$trials"); do
  victim=$((n - t + 1))
  alive=$(echo "$alive" | grep -vx "$victim")
  t0=$(now)
  { kill -9 "${pids[$((victim - 1))]}" && wait "${pids[$((victim - 1))]}"; } 2>/dev/null || true
  deadline=$(($(date +%s) + 120))
  pending=$alive
  while [ -n "$pending" ]; do
    next=""
    for i in $pending; do
      [ "$(metric "$i" 'shoal_gossip_members{status="dead"}')" = "$t" ] || next="$next $i"
    done
    pending=$next
    if [ -n "$pending" ] && [ "$(date +%s)" -gt "$deadline" ]; then
      echo "gossip_loopback: trial $t: b$victim not dead everywhere after 120 s:$pending" >&2
      exit 1
    fi
    [ -n "$pending" ] && sleep 0.05
  done
  # Precise times from the survivors' logs ("... member bV (...) is dead").
  last=0
  for i in $alive; do
    ts=$(grep -m1 " member b$victim (.* is dead" "$dir/b$i.log" | awk '{ print $1 }')
    [ -n "$ts" ] || continue
    s=$(date -d "${ts/T/ }" +%s.%N)
    last=$(awk -v a="$last" -v b="$s" 'BEGIN { print (b > a) ? b : a }')
  done
  results+=("$(awk -v a="$last" -v b="$t0" 'BEGIN { printf "%.2f", a - b }')")
done

median=$(printf '%s\n' "${results[@]}" | sort -n |
  awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f", m }')
runs=$(IFS=,; echo "${results[*]}")
echo "gossip_loopback nodes=$n detect_all_s=$median rss_median_mb=$rss_median rss_max_mb=$rss_max profile=$profile trials=$trials detect_runs_s=$runs"
