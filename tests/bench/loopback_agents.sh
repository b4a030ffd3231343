# loopback_agents.sh: shared by the benchmarks that run real agents on
# loopback (source it; it defines functions and nothing runs).
#
#   agents_dir NAME        makes $dir (a fresh /tmp dir), an empty pids
#                          array, and an EXIT trap that kill -9s every pid
#                          in it and removes $dir
#   find_leader ASK PORT IP...
#                          prints the IP, among IP..., of the agent whose id
#                          is the leader that the agent at ASK reports
#                          (polled for up to 30 s); exit status 1 if none

agents_dir() {
  dir=$(mktemp -d "/tmp/shoal-bench-$1.XXXXXX")
  pids=()
  trap '{ for pid in "${pids[@]}"; do kill -9 "$pid" || true; done; wait; } 2>/dev/null || true; rm -rf "$dir"' EXIT
}

find_leader() {
  local ask=$1 port=$2 deadline leader ip
  shift 2
  deadline=$(($(date +%s) + 30))
  while [ "$(date +%s)" -le "$deadline" ]; do
    leader=$(curl -fsS -m 1 "http://$ask:$port/v1/status" 2>/dev/null |
      sed -n 's/.*"leader":"\([0-9a-f]*\)".*/\1/p' || true)
    if [ -n "$leader" ]; then
      for ip in "$@"; do
        if curl -fsS -m 1 "http://$ip:$port/v1/agent/self" 2>/dev/null | grep -q "\"id\":\"$leader\""; then
          echo "$ip"
          return 0
        fi
      done
    fi
    sleep 0.2
  done
  return 1
}
