#!/usr/bin/env bash
# Builds the release binaries: static (CGO_ENABLED=0, no libc, so they run
# on any Linux and in a FROM scratch image), reproducible paths (-trimpath),
# the version from git in `huddle --version`. The web app must be built
# (make web) first: it is embedded.
#
#   scripts/release.sh                 # dist/huddle-linux-{amd64,arm64}, dist/SHA256SUMS
#   PLATFORMS=linux/amd64 DIST=/tmp/d VERSION=v1.0.0 scripts/release.sh
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
DIST=${DIST:-dist}
PLATFORMS=${PLATFORMS:-linux/amd64 linux/arm64}
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}

if [ ! -f web/dist/index.html ]; then
  echo "release: web/dist/index.html is missing: run make web first" >&2
  exit 1
fi
mkdir -p "$DIST"
files=()
for p in $PLATFORMS; do
  os=${p%/*} arch=${p#*/}
  out="huddle-$os-$arch"
  echo "release: $out ($VERSION)"
  CGO_ENABLED=0 GOOS=$os GOARCH=$arch "$GO" build -trimpath \
    -ldflags "-s -w -X main.version=$VERSION" -o "$DIST/$out" ./cmd/huddle
  files+=("$out")
done
echo "$VERSION" >"$DIST/VERSION"
(cd "$DIST" && sha256sum "${files[@]}" >SHA256SUMS)
cat "$DIST/SHA256SUMS"
