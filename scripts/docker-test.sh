#!/usr/bin/env bash
# Builds the FROM scratch image (Dockerfile) and runs it: HEALTHCHECK
# healthy, /healthz from the host, a Socket.IO join with the Node
# socket.io-client, the server not root. Only --network host, only
# loopback traffic; nothing is pulled. When no Docker daemon runs, it
# starts Debian's dockerd (docker.io) on a private socket and data root
# with --bridge=none --iptables=false, and stops it at the end; the image
# is removed either way.
#
# Exit 0: passed; 77: skipped (no docker, or no daemon can run here), with
# the reason on stderr; anything else: failed.
#   HUDDLE_BIN=dist/huddle-linux-amd64 PORT=18080 scripts/docker-test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

skip() { echo "docker-test: SKIP: $*" >&2; exit 77; }

# Debian's client first: it matches Debian's daemon (another client on
# PATH may want a newer API or a buildx plugin).
docker=/usr/bin/docker
[ -x "$docker" ] || docker=$(command -v docker || true)
[ -n "$docker" ] || skip "no docker client (apt-get install docker.io)"
export DOCKER_BUILDKIT=0 # the classic builder: FROM scratch needs nothing else

work=$(mktemp -d /tmp/huddle-docker-test.XXXXXX)
image="huddle-docker-test:$$"
name="huddle-docker-test-$$"
dockerd_pid=""
cleanup() {
  set +e
  "$docker" rm -f "$name" >/dev/null 2>&1
  "$docker" rmi -f "$image" >/dev/null 2>&1
  if [ -n "$dockerd_pid" ]; then
    kill "$dockerd_pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$dockerd_pid" 2>/dev/null
    # dockerd leaves its network namespace mounted under its exec root.
    awk -v w="$work/" 'index($2, w) == 1 {print $2}' /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
  fi
  rm -rf "$work" 2>/dev/null
}
trap cleanup EXIT

if ! "$docker" info >/dev/null 2>&1; then
  command -v dockerd >/dev/null || skip "no Docker daemon runs and dockerd is not installed (apt-get install docker.io)"
  [ "$(id -u)" = 0 ] || skip "no Docker daemon runs and starting one needs root"
  echo "docker-test: starting dockerd (private socket in $work)"
  dockerd --bridge=none --iptables=false --host "unix://$work/docker.sock" \
    --data-root "$work/root" --exec-root "$work/exec" --pidfile "$work/dockerd.pid" \
    >"$work/dockerd.log" 2>&1 &
  dockerd_pid=$!
  export DOCKER_HOST="unix://$work/docker.sock"
  for _ in $(seq 100); do
    "$docker" info >/dev/null 2>&1 && break
    kill -0 "$dockerd_pid" 2>/dev/null || break
    sleep 0.2
  done
  if ! "$docker" info >/dev/null 2>&1; then
    tail -5 "$work/dockerd.log" >&2
    skip "dockerd could not start here (see its log above)"
  fi
fi

# The build context: the static binary, the host's CA certificates.
HUDDLE_BIN=${HUDDLE_BIN:-} scripts/docker-context.sh "$work/ctx" >/dev/null
"$docker" build -q --pull=false -t "$image" "$work/ctx" >/dev/null
[ "$("$docker" inspect -f '{{.Config.User}}' "$image")" = "65532:65532" ] || { echo "docker-test: image user is not 65532" >&2; exit 1; }
"$docker" run --rm --network host "$image" --version | grep -q '^huddle ' || { echo "docker-test: --version failed" >&2; exit 1; }

port=${PORT:-$((20000 + RANDOM % 20000))}
# TURN off: its default port 3478 is the host's, and not what is tested.
"$docker" run -d --name "$name" --network host \
  --health-interval 1s --health-timeout 3s --health-start-period 0s --health-retries 3 \
  -e HUDDLE_ADDR="127.0.0.1:$port" -e HUDDLE_TURN=false "$image" --allow-loopback-origins >/dev/null

health=""
for _ in $(seq 100); do
  health=$("$docker" inspect -f '{{.State.Health.Status}}' "$name")
  [ "$health" = healthy ] || [ "$health" = unhealthy ] && break
  [ "$("$docker" inspect -f '{{.State.Running}}' "$name")" = true ] || break
  sleep 0.2
done
if [ "$health" != healthy ]; then
  "$docker" logs "$name" 2>&1 | tail -20 >&2
  "$docker" inspect -f '{{json .State.Health}}' "$name" >&2
  echo "docker-test: the container never became healthy ($health)" >&2
  exit 1
fi

body=$(curl -fsS --max-time 5 "http://127.0.0.1:$port/healthz")
[ "$body" = ok ] || { echo "docker-test: /healthz answered '$body'" >&2; exit 1; }

# The server process runs as 65532, not root.
pid=$("$docker" inspect -f '{{.State.Pid}}' "$name")
uid=$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")
[ "$uid" = 65532 ] || { echo "docker-test: the server runs as uid $uid" >&2; exit 1; }

# A signaling join from the host.
NODE_PATH="$root/node_modules" node -e '
const { io } = require("socket.io-client");
const s = io(process.argv[1], { transports: ["websocket"], reconnection: false, timeout: 5000 });
const fail = (m) => { console.error("docker-test: join: " + m); process.exit(1); };
setTimeout(() => fail("timed out"), 8000).unref();
s.on("connect_error", (e) => fail(e.message));
s.on("connect", async () => {
  const ack = await s.emitWithAck("join-room", { room: "docker-test", name: "Dock" });
  if (!ack || ack.ok !== true || ack.id !== s.id) fail(JSON.stringify(ack));
  s.close();
  process.exit(0);
});
' "http://127.0.0.1:$port"

"$docker" stop -t 10 "$name" >/dev/null
echo "docker-test: ok (image $("$docker" image inspect -f '{{.Size}}' "$image") bytes, healthy, /healthz, join, uid 65532)"
