#!/usr/bin/env bash
# Prepares the Docker build context for ./Dockerfile in dist/docker (or
# $1): the static binary for this machine's architecture (or $GOARCH), the
# build host's CA certificates, and the image's /etc/passwd, /data and
# /tmp. Nothing is downloaded: the image is FROM scratch.
#   HUDDLE_BIN=dist/huddle-linux-amd64 scripts/docker-context.sh   # use a built binary
set -euo pipefail
cd "$(dirname "$0")/.."

ctx=${1:-dist/docker}
GO=${GO:-go}
arch=${GOARCH:-$("$GO" env GOARCH)}
ca=${CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}
if [ ! -s "$ca" ]; then
  echo "docker-context: no CA certificates at $ca (apt-get install ca-certificates, or set CA_CERTS)" >&2
  exit 1
fi

rm -rf "$ctx"
mkdir -p "$ctx/data" "$ctx/tmp"
chmod 1777 "$ctx/tmp"
if [ -n "${HUDDLE_BIN:-}" ]; then
  cp "$HUDDLE_BIN" "$ctx/huddle"
else
  DIST="$ctx/.bin" PLATFORMS="linux/$arch" GO="$GO" scripts/release.sh >/dev/null
  mv "$ctx/.bin/huddle-linux-$arch" "$ctx/huddle"
  rm -rf "$ctx/.bin"
fi
cp Dockerfile "$ctx/Dockerfile"
cp "$ca" "$ctx/ca-certificates.crt"
echo 'nonroot:x:65532:65532:huddle:/data:/sbin/nologin' >"$ctx/passwd"
echo 'nonroot:x:65532:' >"$ctx/group"
echo "docker-context: $ctx ($("$ctx/huddle" --version 2>/dev/null || echo "huddle for $arch"))"
