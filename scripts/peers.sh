#!/usr/bin/env bash
# Installs the peers that `parley bench compare` measures Parley against:
# Centrifugo v6 (github.com/centrifugal/centrifugo/v6), built with `go install`
# from the Go module proxy into a cache directory, once. The build takes a few
# minutes on two cores; a binary already there is left alone. The bare relay
# needs no install: it is part of the parley binary (`parley bench relay`).
#
# The binary lands in $PARLEY_PEERS_BIN (default ~/.cache/parley-peers/bin);
# `parley bench compare` looks there (or takes --centrifugo PATH).
# Prints the binary's path on success.
set -euo pipefail

version=${CENTRIFUGO_VERSION:-v6.9.1}
bin_dir=${PARLEY_PEERS_BIN:-$HOME/.cache/parley-peers/bin}
bin="$bin_dir/centrifugo"

# go install leaves the binary's own version string empty: read the module
# version from its build information instead.
if [ -x "$bin" ] && go version -m "$bin" 2>/dev/null | grep -Eq "^[[:space:]]+mod[[:space:]]+github.com/centrifugal/centrifugo/v6[[:space:]]+$version[[:space:]]"; then
  echo "$bin"
  exit 0
fi
mkdir -p "$bin_dir"
echo "peers: building centrifugo $version into $bin_dir (takes a few minutes)" >&2
GOBIN="$bin_dir" go install "github.com/centrifugal/centrifugo/v6@$version"
go version -m "$bin" | grep -E "^[[:space:]]+mod[[:space:]]" >&2
echo "$bin"
