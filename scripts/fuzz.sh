#!/usr/bin/env bash
# make fuzz: runs every Go fuzz target for FUZZTIME each (default 30s).
# The seed corpora also run as plain tests in `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
t="${FUZZTIME:-30s}"
for pkg in $(go list ./internal/...); do
  for target in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
    echo "== $pkg $target ($t)"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$t" "$pkg"
  done
done
