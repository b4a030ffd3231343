#!/usr/bin/env bash
# Installs what Shoal needs to build, test and run, from Debian 12 packages
# only. Idempotent: runs `apt-get update` once, and only when something is
# missing; quiet on success, one clear line on failure. Run as root.
set -euo pipefail

packages=(
  # toolchain
  g++ cmake ninja-build ccache pkg-config git clang libclang-rt-14-dev clang-format
  # libraries (Boost 1.74: 1.81 conflicts with libmsgpack-cxx-dev)
  libboost-dev libboost-system-dev libmsgpack-cxx-dev libsodium-dev librocksdb-dev
  libspdlog-dev libfmt-dev libcli11-dev libyaml-cpp-dev nlohmann-json3-dev
  # tests (iptables: the chaos suite's partitions, tests/chaos)
  libgtest-dev libgmock-dev curl iptables
  # benchmarks (tests/bench/kv_loopback.sh)
  wrk
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "setup.sh: missing packages (${missing[*]}); run as root to install them" >&2
  exit 1
fi
log=$(mktemp /tmp/shoal-setup.XXXXXX.log)
export DEBIAN_FRONTEND=noninteractive
if ! apt-get update -qq >>"$log" 2>&1; then
  echo "setup.sh: apt-get update failed (see $log)" >&2
  exit 1
fi
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$log" 2>&1; then
  echo "setup.sh: apt-get install of ${missing[*]} failed (see $log)" >&2
  exit 1
fi
rm -f "$log"
