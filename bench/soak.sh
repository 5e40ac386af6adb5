#!/bin/sh
# make soak: 10,000 sockets connect, join, exchange and disconnect, ten
# cycles (SOAK_CYCLES, or --soak-cycles N); PASS when the server's live
# heap after a forced GC does not trend up from cycle 2 on (least-squares
# slope at most 1 % of cycle 2 per cycle, last cycle at most 10 % over
# cycle 2), its goroutines end every cycle at the fresh server's count and
# no connection fails (issues 6 and 18). RSS is printed, not judged.
# Extra arguments go to the runner: bench/out/runner --help.
set -eu
cd "$(dirname "$0")/.."
command -v taskset >/dev/null || { echo "soak: taskset (util-linux) is needed" >&2; exit 1; }
[ -x bin/huddle ] || { echo "soak: bin/huddle is missing; run make build" >&2; exit 1; }
mkdir -p bench/out
go build -o bench/out/load ./bench/load
go build -o bench/out/runner ./bench/runner
exec bench/out/runner --soak --soak-cycles "${SOAK_CYCLES:-10}" "$@"
