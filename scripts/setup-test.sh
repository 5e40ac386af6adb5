#!/usr/bin/env bash
# Installs everything the tests need, idempotently: Debian packages as root
# (Chromium for browser tests, coturn for relay interop, iproute2/nftables for
# the NAT test, ffmpeg for server recording, redis-server and haproxy for the cluster,
# docker.io for the image test) and the Node packages from package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v chromium >/dev/null || need+=(chromium)
command -v turnserver >/dev/null || need+=(coturn)
command -v ip >/dev/null || need+=(iproute2)
command -v nft >/dev/null || need+=(nftables)
command -v iptables >/dev/null || need+=(iptables)
command -v ffmpeg >/dev/null || need+=(ffmpeg)
command -v redis-server >/dev/null || need+=(redis-server)
command -v dockerd >/dev/null || need+=(docker.io)
command -v haproxy >/dev/null || need+=(haproxy)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup-test: need root to install: ${need[*]}" >&2
    exit 1
  fi
  echo "setup-test: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # The coturn package starts a system service; tests start their own.
  systemctl disable --now coturn >/dev/null 2>&1 || true
  # Likewise redis-server: the cluster tests start their own on a free port.
  systemctl disable --now redis-server >/dev/null 2>&1 || true
  # Likewise Docker: scripts/docker-test.sh starts its own dockerd without a
  # bridge or iptables rules, on a private socket, and stops it.
  systemctl disable --now docker.service docker.socket >/dev/null 2>&1 || true
  # And haproxy: the cluster test starts its own in front of its nodes.
  systemctl disable --now haproxy >/dev/null 2>&1 || true
fi
scripts/setup-node.sh
