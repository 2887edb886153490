#!/usr/bin/env bash
# Release builds: parley for linux/amd64, linux/arm64 and linux/loong64,
# static (CGO_ENABLED=0), -trimpath, stripped, with the version stamped in.
#
#   scripts/crossbuild.sh            build into a temp dir, print sizes, delete
#                                    (what scripts/test.sh runs: all three compile)
#   scripts/crossbuild.sh bin        keep bin/parley-linux-amd64, ... (bin/ is gitignored)
#
# The version is $PARLEY_VERSION, else `git describe --tags --always --dirty`,
# else "dev". Builds run one after another and share Go's build cache, so a
# second run only relinks.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGETS=${PARLEY_TARGETS:-"linux/amd64 linux/arm64 linux/loong64"}
VERSION=${PARLEY_VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}

if [ $# -gt 1 ]; then
  echo "usage: $0 [OUTDIR]" >&2; exit 2
fi
if [ $# -eq 1 ]; then
  out=$1
  mkdir -p "$out"
else
  out=$(mktemp -d "${TMPDIR:-/tmp}/parley-crossbuild.XXXXXX")
  trap 'rm -rf "$out"' EXIT
fi

for t in $TARGETS; do
  os=${t%/*} arch=${t#*/}
  bin="$out/parley-$os-$arch"
  start=$(date +%s)
  CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath \
    -ldflags "-s -w -X github.com/parleyim/parley/internal/server.Version=$VERSION" \
    -o "$bin" ./cmd/parley
  size=$(wc -c <"$bin")
  printf '%-16s %6.1f MiB  %3ss  %s\n' "$os/$arch" "$(echo "$size" | awk '{print $1/1048576}')" \
    "$(( $(date +%s) - start ))" "$bin"
done
echo "version $VERSION"
