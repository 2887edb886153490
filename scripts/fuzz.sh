#!/usr/bin/env bash
# Runs every fuzz target of the module for a short time (FUZZTIME each,
# default 3s), so each CI run explores a little further from the corpus the
# last runs left in Go's fuzz cache.
#
# Targets are discovered, not listed: for every package whose tests define
# a func Fuzz..., the test binary is built once with fuzzing
# instrumentation (go test -c -fuzz) and asked for its targets with
# -test.list '^Fuzz' (what go test -list does), so a new target is
# included without touching this script. Each target then runs from the
# package directory: a crasher lands in that package's
# testdata/fuzz/<Target>/, where go test runs it as a regression seed
# from then on (commit it with the fix).
#
#   FUZZTIME=3s        time per target (any -fuzztime value: 10s, 1000x)
#   FUZZ_PACKAGES=./...  the packages to look in
#   FUZZ_MATCH=.       a regexp: only targets whose name matches
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZTIME=${FUZZTIME:-3s}
FUZZ_PACKAGES=${FUZZ_PACKAGES:-./...}
FUZZ_MATCH=${FUZZ_MATCH:-.}
root=$(pwd)
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
cache=$(go env GOCACHE)/fuzz
start=$SECONDS
failed=()
targets=0

# Packages with a fuzz target in their tests (the candidates; the binary
# says which targets there are).
mapfile -t pkgs < <(go list -f '{{.ImportPath}} {{.Dir}} {{join .TestGoFiles " "}} {{join .XTestGoFiles " "}}' $FUZZ_PACKAGES |
  while read -r pkg dir files; do
    [ -n "$files" ] || continue
    (cd "$dir" && grep -lqE '^func Fuzz[A-Z0-9_]' $files) && echo "$pkg $dir"
  done)

# fuzz_one runs one target for FUZZTIME; its output goes to $bin/out.
fuzz_one() { # dir test name pkg
  { ls "$1/testdata/fuzz/$3" 2>/dev/null || true; } | sort >"$bin/before"
  (cd "$1" && "$2" -test.run='^$' -test.fuzz="^${3}\$" -test.fuzztime="$FUZZTIME" \
    -test.fuzzminimizetime=10s -test.fuzzcachedir="$cache/$4" -test.timeout=5m >"$bin/out" 2>&1)
}

# deadline_race: the run that just failed hit the race in Go 1.26's fuzz
# coordinator (golang/go#75804, fixed in Go 1.27): at the end of a
# duration-based -fuzztime, on a busy machine, a worker's shutdown is
# reported as a bare "context deadline exceeded" failure. It is that when
# this is the only failure printed and no new crasher was written; then
# the target is run once more.
deadline_race() { # dir name
  { ls "$1/testdata/fuzz/$2" 2>/dev/null || true; } | sort | cmp -s - "$bin/before" || return 1
  grep -q '^    context deadline exceeded$' "$bin/out" || return 1
  ! grep -qE 'panic:|Failing input|fuzz_test.go:[0-9]+:|_test.go:[0-9]+:' "$bin/out"
}

for line in "${pkgs[@]}"; do
  pkg=${line%% *}
  dir=${line#* }
  test="$bin/$(echo "$pkg" | tr / _).test"
  go test -c -fuzz=. -o "$test" "$pkg"
  mapfile -t names < <(cd "$dir" && "$test" -test.list '^Fuzz' | grep -E '^Fuzz' | grep -E -- "$FUZZ_MATCH" || true)
  for name in "${names[@]}"; do
    targets=$((targets + 1))
    t0=$SECONDS
    if fuzz_one "$dir" "$test" "$name" "$pkg" || { deadline_race "$dir" "$name" && fuzz_one "$dir" "$test" "$name" "$pkg"; }; then
      echo "fuzz: ok   ${pkg#github.com/parleyim/parley/} $name ($((SECONDS - t0))s)"
    elif deadline_race "$dir" "$name"; then
      # Twice Go's own race, never a finding: say so, do not fail.
      echo "fuzz: ok?  ${pkg#github.com/parleyim/parley/} $name: stopped by Go's fuzztime deadline race twice (golang/go#75804), no crasher"
    else
      echo "fuzz: FAIL ${pkg#github.com/parleyim/parley/} $name"
      sed 's/^/    /' "$bin/out" | grep -v '^    fuzz: elapsed' | tail -n 40
      failed+=("$pkg $name")
    fi
  done
done

echo "fuzz: $targets targets in ${#pkgs[@]} packages, ${FUZZTIME} each, $((SECONDS - start))s"
if [ "$targets" -eq 0 ]; then
  echo "fuzz: no targets found"; exit 1
fi
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failing targets (their crashers are under testdata/fuzz in the package; run them with go test -run=Target/ID):"
  printf '  %s\n' "${failed[@]}"
  cd "$root" && git status --short -- '*/testdata/fuzz/*' || true
  exit 1
fi
