#!/usr/bin/env bash
# The TypeScript SDK (sdk/js): install its dev dependencies (npm ci, skipped
# when node_modules already matches package-lock.json), build it with tsc,
# and run its tests: unit tests, and end-to-end tests against a real parley
# server built from this checkout (SQLite in a temporary directory). Fails
# when the demo's committed copy of the browser build
# (internal/demo/web/sdk) differs from the fresh build: scripts/demo-sdk.sh
# refreshes it.
set -euo pipefail
cd "$(dirname "$0")/.."

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/parley" ./cmd/parley

cd sdk/js
if ! cmp -s package-lock.json node_modules/.parley-package-lock.json 2>/dev/null; then
  npm ci --no-audit --no-fund
  cp package-lock.json node_modules/.parley-package-lock.json
fi
npm run build
../../scripts/demo-sdk.sh --check --no-build
PARLEY_BIN="$tmp/parley" npm test
