#!/usr/bin/env bash
# core_purity.sh SOURCE_DIR [--self-test]: fails when a protocol core reaches,
# directly or through the project headers it includes, anything that does I/O
# or owns time: Asio/Boost, threads and locks, clocks, sockets, the filesystem,
# RocksDB or spdlog (DESIGN.md §1: time, randomness and I/O come in as
# arguments). The cores are gossip/, the pure part of raft/ (everything but the
# RocksDB log store and the fault-injecting file system), scheduler/ and dns/.
# A core may include core/ and its own folder, nothing else of the project.
#
# --self-test copies the tree, plants one violation per kind and checks that
# each is reported, so that this check cannot silently pass everything.
set -euo pipefail
src=${1:?usage: core_purity.sh SOURCE_DIR [--self-test]}

# System headers a core must not reach (matched against the text inside <>).
banned_system='^(boost/|asio|spdlog/|fmt/|rocksdb/|thread$|mutex$|shared_mutex$|condition_variable$|future$|stop_token$|semaphore$|latch$|barrier$|filesystem$|fstream$|ctime$|time\.h$|sys/|netinet/|arpa/|netdb\.h$|unistd\.h$|fcntl\.h$|poll\.h$)'
# Identifiers a core must not use: clock reads and global randomness.
banned_tokens='(steady_clock|system_clock|high_resolution_clock|std::thread|std::random_device|[^_a-z]s?rand\(|getenv\()'

core_files() {
  local root=$1
  {
    find "$root/gossip" "$root/scheduler" "$root/dns" -maxdepth 1 -name '*.h' -o -name '*.cc' 2>/dev/null
    find "$root/raft" -maxdepth 1 \( -name '*.h' -o -name '*.cc' \) \
      ! -name 'rocksdb_log_store.*' ! -name 'fault_fs.*'
  } | sort
}

check_tree() {
  local root=$1 failures=0
  local -A seen=()
  local file
  for file in $(core_files "$root"); do
    local rel=${file#"$root"/}
    local folder=${rel%%/*}
    # Walk the project includes breadth-first.
    local -a queue=("$rel")
    local -A visited=(["$rel"]=1)
    while [ ${#queue[@]} -gt 0 ]; do
      local cur=${queue[0]}
      queue=("${queue[@]:1}")
      local line
      while IFS= read -r line; do
        if [[ $line =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*\<([^>]+)\> ]]; then
          local sys=${BASH_REMATCH[1]}
          if [[ $sys =~ $banned_system ]]; then
            local key="$rel|$cur|$sys"
            if [ -z "${seen[$key]:-}" ]; then
              seen[$key]=1
              echo "core_purity: $rel reaches <$sys> (through $cur)" >&2
              failures=$((failures + 1))
            fi
          fi
        elif [[ $line =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*\"([^\"]+)\" ]]; then
          local inc=${BASH_REMATCH[1]}
          local inc_folder=${inc%%/*}
          if [ "$inc_folder" != core ] && [ "$inc_folder" != "$folder" ]; then
            echo "core_purity: $rel includes \"$inc\" (through $cur): a core depends on core/ only" >&2
            failures=$((failures + 1))
          fi
          if [ -z "${visited[$inc]:-}" ] && [ -f "$root/$inc" ]; then
            visited[$inc]=1
            queue+=("$inc")
          fi
        fi
      done <"$root/$cur"
    done
    local hits
    if hits=$(grep -nE "$banned_tokens" "$file" | grep -vE '^[0-9]+:[[:space:]]*//'); then
      echo "core_purity: $rel reads a clock, starts a thread or uses global state:" >&2
      echo "$hits" | sed 's/^/    /' >&2
      failures=$((failures + 1))
    fi
  done
  return $((failures > 0))
}

if [ "${2:-}" = --self-test ]; then
  tmp=$(mktemp -d /tmp/shoal-core-purity.XXXXXX)
  trap 'rm -rf "$tmp"' EXIT
  plant() {  # plant FILE LINE: copy the tree, add LINE to FILE, expect a failure
    rm -rf "$tmp/tree"
    mkdir -p "$tmp/tree"
    cp -r "$src/core" "$src/gossip" "$src/raft" "$src/scheduler" "$src/dns" "$tmp/tree/"
    echo "$2" >>"$tmp/tree/$1"
    if check_tree "$tmp/tree" 2>/dev/null; then
      echo "core_purity self-test: planting '$2' in $1 was not caught" >&2
      exit 1
    fi
  }
  plant gossip/codec.cc '#include <thread>'
  plant core/time.h '#include <boost/asio.hpp>'     # reached through a core/ header
  plant raft/raft.h '#include <spdlog/spdlog.h>'
  plant scheduler/kv_state.h '#include "node/agent.h"'
  plant raft/election.cc 'auto t = std::chrono::steady_clock::now();'
  plant gossip/probe.cc '#include <sys/socket.h>'
  echo "core_purity self-test: every planted violation was caught"
  exit 0
fi

if ! check_tree "$src"; then
  echo "core_purity: protocol cores must stay pure (DESIGN.md §1)" >&2
  exit 1
fi
echo "core_purity: $(core_files "$src" | wc -l) core files reach no I/O, threads, clocks or logging"
