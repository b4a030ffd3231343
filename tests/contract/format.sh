#!/usr/bin/env bash
# format.sh [SOURCE_DIR]: fails when a tracked C++ file differs from what
# clang-format makes of it (.clang-format, Google base). Uses Debian 12's
# clang-format 14, the version deploy/setup.sh installs: other versions format
# some constructs differently. Fix with: git ls-files '*.cc' '*.h' | xargs clang-format -i
set -euo pipefail
cd "${1:-$(dirname "$0")/../..}"
fmt=$(command -v clang-format-14 || command -v clang-format || true)
if [ -z "$fmt" ]; then
  echo "format: clang-format is not installed (deploy/setup.sh installs it)" >&2
  exit 1
fi
files=$(git ls-files '*.cc' '*.h')
if ! out=$(echo "$files" | xargs "$fmt" --dry-run --Werror 2>&1); then
  echo "format: these files are not clang-formatted:" >&2
  echo "$out" | grep -E '^[^ ].*: error' | cut -d: -f1 | sort -u >&2
  echo "format: run: git ls-files '*.cc' '*.h' | xargs $fmt -i" >&2
  exit 1
fi
echo "format: $(echo "$files" | wc -l) files clang-formatted"
