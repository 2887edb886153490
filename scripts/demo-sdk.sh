#!/usr/bin/env bash
# The demo web chat (internal/demo) imports the TypeScript SDK's browser ESM
# build from internal/demo/web/sdk/, committed so that the binary embeds it
# and nothing is built at serve time. This script builds the SDK (npm run
# build in sdk/js) and copies dist/esm's browser modules there.
#
#   scripts/demo-sdk.sh           build, then refresh the copy
#   scripts/demo-sdk.sh --check   build, then fail if the copy differs
#                                 (scripts/sdk-js.sh runs this)
#   --no-build                    use the existing sdk/js/dist as it is
set -euo pipefail
cd "$(dirname "$0")/.."

check=0
build=1
for a in "$@"; do
  case "$a" in
    --check) check=1 ;;
    --no-build) build=0 ;;
    *) echo "usage: scripts/demo-sdk.sh [--check] [--no-build]" >&2; exit 2 ;;
  esac
done

if [ "$build" = 1 ]; then
  (cd sdk/js && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && npm run build >/dev/null)
fi

dest=internal/demo/web/sdk
fresh=$(mktemp -d)
trap 'rm -rf "$fresh"' EXIT
# The browser entry point and what it imports: every top-level module but
# the mini-program adapters (the Node adapters live in node/, left out).
for f in sdk/js/dist/esm/*.js; do
  [ "$(basename "$f")" = miniprogram.js ] && continue
  cp "$f" "$fresh/"
done

if [ "$check" = 1 ]; then
  if ! diff -r "$fresh" "$dest" >/dev/null; then
    echo "demo-sdk: $dest is stale against a fresh build of sdk/js:" >&2
    diff -r "$fresh" "$dest" | head -20 >&2 || true
    echo "  refresh it: scripts/demo-sdk.sh, and commit $dest" >&2
    exit 1
  fi
  echo "demo-sdk: $dest matches the fresh build"
  exit 0
fi
rm -rf "$dest"
mkdir -p "$dest"
cp "$fresh"/*.js "$dest/"
echo "demo-sdk: copied $(ls "$dest" | wc -l) modules to $dest"
