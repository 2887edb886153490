#!/usr/bin/env bash
# The performance issue's benchmark table (S1..S8: `parley bench suite`) on
# SQLite and on PostgreSQL, with the latency-vs-rate plot of the ramp (S3).
# Writes, per backend, bench-results/<stamp>/<backend>.json (the JSON
# report), <backend>.md (the result tables in Markdown) and
# <backend>-ramp.png. Takes about 4 minutes on SQLite and 7 on PostgreSQL
# (most of it filling S6's million messages) on 2 cores.
#
#   scripts/bench.sh                       # both backends
#   BENCH_BACKENDS=sqlite scripts/bench.sh # one
#   BENCH_BACKENDS= scripts/bench.sh      # only the side-by-side runs
#   BENCH_ARGS='--duration 5s' scripts/bench.sh
#   BENCH_COMPARE=0 scripts/bench.sh      # without the side-by-side runs
#
# Then the side-by-side comparisons (`parley bench compare` S1, S2 at 1k
# and 5k msgs/s, S4, S8; Parley on SQLite against Centrifugo, installed by
# scripts/peers.sh the first time, and the bare relay; rounds in rotated
# order) into compare-<S>.json and compare.md: the peer ratios.
#
# PostgreSQL: $PARLEY_TEST_POSTGRES (default: the local server, user
# postgres); the bench creates and drops a fresh database per scenario.
set -euo pipefail
cd "$(dirname "$0")/.."

pg=${PARLEY_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
backends=${BENCH_BACKENDS-sqlite postgres}
out=${BENCH_OUT:-bench-results/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"
go build -o "$out/parley" ./cmd/parley

status=0
for b in $backends; do
  db=()
  [ "$b" = postgres ] && db=(--db "$pg")
  echo "== $b -> $out/$b.{json,md} and $out/$b-ramp.png"
  # shellcheck disable=SC2086 # BENCH_ARGS is a list of flags
  if ! "$out/parley" bench suite "${db[@]}" --json --plot "$out/$b-ramp.png" ${BENCH_ARGS:-} \
      >"$out/$b.json" 2>"$out/$b.txt"; then
    status=1
  fi
  cat "$out/$b.txt" >&2
  {
    echo "# parley bench suite — $b, $(date -u +%Y-%m-%dT%H:%MZ), $(git rev-parse --short HEAD)"
    echo
    echo "![latency vs offered rate]($b-ramp.png)"
    echo
    echo '```'
    grep -v '^bench: ' "$out/$b.txt" || true
    echo '```'
  } >"$out/$b.md"
  rm -f "$out/$b.txt"
done
if [ "${BENCH_COMPARE:-1}" = 1 ]; then
  cf=$(scripts/peers.sh)
  echo "== side by side -> $out/compare-*.json and $out/compare.md"
  echo "# parley bench compare — $(date -u +%Y-%m-%dT%H:%MZ), $(git rev-parse --short HEAD)" >"$out/compare.md"
  for c in "S1 --conns 10000" "S2 --rate 1000" "S2 --rate 5000" "S4" "S8"; do
    name=$(echo "$c" | tr -d ' -' )
    # shellcheck disable=SC2086 # $c is a scenario and its flags
    if ! "$out/parley" bench compare $c --centrifugo "$cf" --json >"$out/compare-$name.json" 2>"$out/compare-$name.txt"; then
      status=1
    fi
    cat "$out/compare-$name.txt" >&2
    { echo; echo "## $c"; echo; echo '```'; grep -v '^bench: ' "$out/compare-$name.txt" || true; echo '```'; } >>"$out/compare.md"
    rm -f "$out/compare-$name.txt"
  done
fi
rm -f "$out/parley"
echo "results in $out"
exit $status
