#!/usr/bin/env bash
# Starts a Huddle cluster on this machine to try: redis-server, three nodes
# (bin/huddle, mesh media, no TURN) and HAProxy with deploy/haproxy.cfg in
# front. Open http://localhost:${HUDDLE_CLUSTER_PORT:-8080}; Ctrl-C stops
# everything. Needs redis-server and haproxy (scripts/setup-test.sh installs
# them) and `make build`.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${HUDDLE_CLUSTER_PORT:-8080}
redis_port=${HUDDLE_CLUSTER_REDIS_PORT:-6390}
for cmd in redis-server haproxy; do
  command -v "$cmd" >/dev/null || { echo "cluster: $cmd not installed (scripts/setup-test.sh installs it)" >&2; exit 1; }
done
[ -x bin/huddle ] || { echo "cluster: bin/huddle missing: run make build" >&2; exit 1; }

dir=$(mktemp -d)
pids=()
stop() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap stop EXIT INT TERM

redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$dir" --save "" --appendonly no \
  --loglevel warning >"$dir/redis.log" 2>&1 &
pids+=($!)
# One resume key for all nodes: a participant resumes on any of them.
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/resume-key"
for i in 1 2 3; do
  ./bin/huddle --addr "127.0.0.1:$((port + i))" --redis-url "redis://127.0.0.1:$redis_port/0" \
    --node-id "n$i" --node-url "http://127.0.0.1:$((port + i))" --resume-key-file "$dir/resume-key" \
    --trust-proxy --turn=false --media mesh >"$dir/n$i.log" 2>&1 &
  pids+=($!)
done
HUDDLE_BIND="127.0.0.1:$port" HUDDLE_NODE1="127.0.0.1:$((port + 1))" \
  HUDDLE_NODE2="127.0.0.1:$((port + 2))" HUDDLE_NODE3="127.0.0.1:$((port + 3))" \
  haproxy -db -f deploy/haproxy.cfg >"$dir/haproxy.log" 2>&1 &
pids+=($!)
echo "cluster: http://localhost:$port (nodes on ports $((port + 1))-$((port + 3)), Redis on $redis_port)"
echo "cluster: logs in $dir; kill -9 a node (pids ${pids[*]:1:3}) to watch clients move; Ctrl-C stops"
wait -n "${pids[@]}" || true
echo "cluster: a process ended; stopping" >&2
