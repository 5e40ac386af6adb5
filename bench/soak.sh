#!/bin/sh
# make soak: 10,000 sockets connect, join, exchange and disconnect, ten
# cycles; PASS when the server's goroutines and RSS stay within 10% (issue 6).
set -eu
cd "$(dirname "$0")/.."
command -v taskset >/dev/null || { echo "soak: taskset (util-linux) is needed" >&2; exit 1; }
[ -x bin/huddle ] || { echo "soak: bin/huddle is missing; run make build" >&2; exit 1; }
mkdir -p bench/out
go build -o bench/out/load ./bench/load
go build -o bench/out/runner ./bench/runner
exec bench/out/runner --soak "$@"
