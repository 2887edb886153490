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

for line in "${pkgs[@]}"; do
  pkg=${line%% *}
  dir=${line#* }
  test="$bin/$(echo "$pkg" | tr / _).test"
  go test -c -fuzz=. -o "$test" "$pkg"
  mapfile -t names < <(cd "$dir" && "$test" -test.list '^Fuzz' | grep -E '^Fuzz' | grep -E -- "$FUZZ_MATCH" || true)
  for name in "${names[@]}"; do
    targets=$((targets + 1))
    t0=$SECONDS
    if (cd "$dir" && "$test" -test.run='^$' -test.fuzz="^${name}\$" -test.fuzztime="$FUZZTIME" \
        -test.fuzzminimizetime=10s -test.fuzzcachedir="$cache/$pkg" -test.timeout=5m >"$bin/out" 2>&1); then
      echo "fuzz: ok   ${pkg#github.com/parleyim/parley/} $name ($((SECONDS - t0))s)"
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
