#!/bin/sh
# make bench: Huddle against the Node.js reference, one table (issue 5).
# Extra arguments go to the runner, e.g. bench/run.sh --quick
set -eu
cd "$(dirname "$0")/.."
command -v taskset >/dev/null || { echo "bench: taskset (util-linux) is needed" >&2; exit 1; }
[ -x bin/huddle ] || { echo "bench: bin/huddle is missing; run make build" >&2; exit 1; }
[ -d node_modules/socket.io ] || scripts/setup-node.sh
mkdir -p bench/out
go build -o bench/out/load ./bench/load
go build -o bench/out/runner ./bench/runner
exec bench/out/runner "$@"
