#!/usr/bin/env bash
# The whole test suite: formatting, vet, the release cross-builds (static
# linux/amd64, arm64, loong64), every Go test with the race detector on
# SQLite and PostgreSQL (the end-to-end suites once more with encryption at
# rest on), every fuzz target briefly, and the curl acceptance walk-through.
#
# PostgreSQL tests use $PARLEY_TEST_POSTGRES (default: the local server,
# user postgres, trust auth). They are required unless PARLEY_REQUIRE_POSTGRES=0.
# S3 blob-store tests use $PARLEY_TEST_S3, http://ACCESS:SECRET@HOST:PORT/BUCKET
# (default: the versitygw that scripts/services.sh starts). They are required
# unless PARLEY_REQUIRE_S3=0 (with PARLEY_TEST_S3= they are skipped).
# NATS tests (the cluster bus, the three-node cluster test) use
# $PARLEY_TEST_NATS (default: the local server); required unless
# PARLEY_REQUIRE_NATS=0.
# The chaos test (internal/cli: a cluster on a private PostgreSQL, NATS and
# versitygw on a tmpfs it stops, kills and fills) needs root and the
# PostgreSQL, NATS and versitygw binaries; PARLEY_TEST_CHAOS=0 skips it,
# PARLEY_REQUIRE_CHAOS=0 skips it when they are missing.
# The web console's browser tests (e2e/) need Chromium and Node.js:
# scripts/browser.sh installs Debian's chromium and the npm packages when
# missing; required unless PARLEY_REQUIRE_BROWSER=0.
set -euo pipefail
cd "$(dirname "$0")/.."

export PARLEY_TEST_POSTGRES=${PARLEY_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
export PARLEY_REQUIRE_POSTGRES=${PARLEY_REQUIRE_POSTGRES:-1}
export PARLEY_TEST_S3=${PARLEY_TEST_S3-http://parley:parley-test-secret@127.0.0.1:7070/parley-test}
export PARLEY_REQUIRE_S3=${PARLEY_REQUIRE_S3:-1}
export PARLEY_TEST_NATS=${PARLEY_TEST_NATS:-nats://127.0.0.1:4222}
export PARLEY_REQUIRE_NATS=${PARLEY_REQUIRE_NATS:-1}
export PARLEY_TEST_CHAOS=${PARLEY_TEST_CHAOS:-1}
export PARLEY_REQUIRE_CHAOS=${PARLEY_REQUIRE_CHAOS:-1}

scripts/services.sh

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

echo "== go vet"
go vet ./...

echo "== cross-build (linux/amd64, arm64, loong64)"
scripts/crossbuild.sh

echo "== go test -race"
go test -race -count=1 -timeout 15m ./...

echo "== go test -race, encryption at rest on (the REST, WebSocket and Go SDK end-to-end suites)"
PARLEY_TEST_ENCRYPTION=1 go test -race -count=1 -timeout 10m ./internal/transport/... ./sdk/go/...

echo "== fuzz (every fuzz target for ${FUZZTIME:-3s}: scripts/fuzz.sh)"
scripts/fuzz.sh

echo "== acceptance (curl)"
scripts/acceptance.sh

echo "== console (browser)"
scripts/browser.sh

echo "== sdk/js (node)"
scripts/sdk-js.sh
