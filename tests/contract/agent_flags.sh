#!/usr/bin/env bash
# agent_flags.sh SHOAL_BINARY DOC [--self-test]: fails when the long flags that
# `SHOAL_BINARY agent --help` lists and the flags of DOC's main table (the
# table under "## Flags" in docs/agent-flags.md; not the "Planned" table)
# differ, naming every flag found on one side only. It also fails when a flag
# of the planned table is already accepted: it then belongs in the main table.
# --help itself is left out on both sides.
#
# --self-test checks the real doc first, then a copy with one row removed, a
# copy with a fake row added and a binary whose help gains a fake flag with a
# short alias, and expects each of the three to be caught by name, so that
# this check cannot silently pass everything.
set -euo pipefail
usage='usage: agent_flags.sh SHOAL_BINARY DOC [--self-test]'
binary=${1:?$usage}
doc=${2:?$usage}
[ -r "$doc" ] || { echo "agent_flags: cannot read $doc" >&2; exit 1; }

# The flags of an option list from CLI11's help: a line that starts, after a
# short indent, with the option's names ("  -h,--help   ...", "  --join TEXT
# ...", or a long name alone with its description wrapped to the next line).
# Only that first word is read: descriptions mention other flags too.
help_flags() {
  local help
  help=$("$1" agent --help) || { echo "agent_flags: '$1 agent --help' failed" >&2; return 1; }
  printf '%s\n' "$help" |
    sed -nE 's/^ {1,8}(-[^[:space:]]*).*/\1/p' |
    tr ',' '\n' |
    sed -nE 's/^(--[A-Za-z0-9][A-Za-z0-9_-]*).*/\1/p' |
    grep -vx -- '--help' | sort -u || true
}

# The flags in the first cell of the table rows of one "## TITLE" section.
doc_flags() {
  local file=$1 title=$2
  awk -v title="## $title" '
    /^## / { in_section = ($0 == title); next }
    in_section && /^\|/ {
      split($0, cells, "|")
      print cells[2]
    }' "$file" |
    grep -oE -- '--[A-Za-z0-9][A-Za-z0-9_-]*' |
    grep -vx -- '--help' | sort -u || true
}

# compare BINARY DOC: prints the differences on stderr; fails when there are any.
compare() {
  local bin=$1 file=$2 accepted documented planned failures=0 flag
  accepted=$(help_flags "$bin") || return 1
  documented=$(doc_flags "$file" 'Flags')
  planned=$(doc_flags "$file" 'Planned (not accepted yet)')
  if [ -z "$accepted" ]; then
    echo "agent_flags: no flags found in '$bin agent --help'" >&2
    return 1
  fi
  if [ -z "$documented" ]; then
    echo "agent_flags: no flags found in the '## Flags' table of $file" >&2
    return 1
  fi
  for flag in $(comm -23 <(echo "$accepted") <(echo "$documented")); do
    echo "agent_flags: $flag is accepted by shoal agent but missing from the table in $file" >&2
    failures=$((failures + 1))
  done
  for flag in $(comm -13 <(echo "$accepted") <(echo "$documented")); do
    echo "agent_flags: $flag is in the table in $file but shoal agent does not accept it" >&2
    failures=$((failures + 1))
  done
  if [ -n "$planned" ]; then
    for flag in $(comm -12 <(echo "$accepted") <(echo "$planned")); do
      echo "agent_flags: $flag is accepted now but listed as planned in $file" >&2
      failures=$((failures + 1))
    done
  fi
  [ "$failures" -eq 0 ] || return 1
  echo "agent_flags: shoal agent --help and $file list the same $(echo "$accepted" | wc -l) flags ($(echo "$planned" | grep -c . || true) planned)"
}

if [ "${3:-}" = --self-test ]; then
  tmp=$(mktemp -d /tmp/shoal-agent-flags.XXXXXX)
  trap 'rm -rf "$tmp"' EXIT
  # expect_caught WHAT FLAG BINARY DOC: the comparison must fail and name FLAG.
  expect_caught() {
    if compare "$3" "$4" >/dev/null 2>"$tmp/err"; then
      echo "agent_flags self-test: $1 was not caught" >&2
      exit 1
    fi
    if ! grep -q -- "$2 " "$tmp/err"; then
      echo "agent_flags self-test: $1 failed without naming $2:" >&2
      sed 's/^/    /' "$tmp/err" >&2
      exit 1
    fi
  }
  if ! compare "$binary" "$doc" >/dev/null; then
    echo "agent_flags self-test: the real doc must pass first" >&2
    exit 1
  fi
  # One row removed: that of the main table's alphabetically first flag.
  removed=$(doc_flags "$doc" 'Flags' | head -n 1)
  awk -v flag="$removed" '
    /^## / { in_section = ($0 == "## Flags") }
    in_section && !done && /^\|/ {
      split($0, cells, "|")
      if (index(cells[2], "`" flag " ") || index(cells[2], "`" flag "`")) { done = 1; next }
    }
    { print }' "$doc" >"$tmp/removed.md"
  expect_caught "removing the $removed row" "$removed" "$binary" "$tmp/removed.md"
  # One fake row added after the main table's header separator.
  awk '
    { print }
    /^## / { in_section = ($0 == "## Flags") }
    in_section && !done && /^\|---/ {
      print "| `--no-such-flag N` | 1 | planted by the self-test |"; done = 1
    }' "$doc" >"$tmp/added.md"
  expect_caught "a row for --no-such-flag" "--no-such-flag" "$binary" "$tmp/added.md"
  # A binary whose help gains "-z,--zz-planted" (an alias, like -h,--help).
  real=$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary")
  cat >"$tmp/shoal" <<EOF
#!/usr/bin/env bash
set -euo pipefail
"$real" "\$@"
echo "  -z,--zz-planted TEXT        planted by the self-test; see --name"
EOF
  chmod +x "$tmp/shoal"
  expect_caught "a new flag in --help" "--zz-planted" "$tmp/shoal" "$doc"
  echo "agent_flags self-test: a removed row, an added row and a new flag were each caught"
  exit 0
fi

if ! compare "$binary" "$doc"; then
  echo "agent_flags: the main table of $doc must list exactly the flags shoal agent accepts" >&2
  exit 1
fi
