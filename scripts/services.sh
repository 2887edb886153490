#!/usr/bin/env bash
# Makes sure the local services the test suite uses are up: PostgreSQL on
# 127.0.0.1:5432 (trust auth, user postgres), started if it is installed but
# stopped; NATS on 127.0.0.1:4222, likewise; versitygw (an S3-compatible gateway over a local folder) on
# 127.0.0.1:7070, installed with `go install` if missing and started if not
# answering. Safe to run again: a running service is left alone. Prints what
# it did; exits non-zero if a required service is missing.
set -euo pipefail

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

if ! pg_up; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "services: starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    for _ in $(seq 50); do pg_up && break; sleep 0.2; done
  fi
fi
if pg_up; then
  echo "services: PostgreSQL is up on 127.0.0.1:5432"
else
  echo "services: PostgreSQL is not reachable on 127.0.0.1:5432" >&2
  echo "  install it, or run the suite without it: PARLEY_REQUIRE_POSTGRES=0 scripts/test.sh" >&2
  [ "${PARLEY_REQUIRE_POSTGRES:-1}" = 1 ] && exit 1
fi

# NATS (with JetStream off or on; Parley uses core NATS) for the cluster
# mode's tests, on 127.0.0.1:4222 as in PARLEY_TEST_NATS.
nats_up() { (exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null; }
if ! nats_up; then
  nats_bin=$(command -v nats-server || echo /usr/sbin/nats-server)
  if [ -x "$nats_bin" ]; then
    echo "services: starting NATS"
    mkdir -p /var/lib/nats-server 2>/dev/null || true
    start-stop-daemon --start --oknodo --background --exec "$nats_bin" -- \
      -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log || true
    for _ in $(seq 50); do nats_up && break; sleep 0.2; done
  fi
fi
if nats_up; then
  echo "services: NATS is up on 127.0.0.1:4222"
else
  echo "services: NATS is not reachable on 127.0.0.1:4222 (apt-get install nats-server)" >&2
  echo "  or run the suite without the cluster tests: PARLEY_REQUIRE_NATS=0 scripts/test.sh" >&2
  [ "${PARLEY_REQUIRE_NATS:-1}" = 1 ] && exit 1
fi

# versitygw: the S3 server for the blob store's tests. Address and
# credentials match PARLEY_TEST_S3 in scripts/test.sh.
VGW_VERSION=v1.8.0
VGW_ADDR=127.0.0.1:7070
VGW_ACCESS=parley
VGW_SECRET=parley-test-secret
VGW_HOME=${TMPDIR:-/tmp}/parley-versitygw

# Up means: answers an S3 ListBuckets signed with our credentials.
vgw_up() {
  curl -fs -o /dev/null --max-time 2 --aws-sigv4 "aws:amz:us-east-1:s3" \
    --user "$VGW_ACCESS:$VGW_SECRET" "http://$VGW_ADDR/" \
    -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
}

if ! vgw_up; then
  gobin="$(go env GOPATH)/bin"
  vgw=$(command -v versitygw || true)
  if [ -z "$vgw" ] && [ -x "$gobin/versitygw" ]; then vgw="$gobin/versitygw"; fi
  if [ -z "$vgw" ]; then
    echo "services: installing versitygw $VGW_VERSION into $gobin (go install, about a minute)"
    GOBIN="$gobin" go install "github.com/versity/versitygw/cmd/versitygw@$VGW_VERSION"
    vgw="$gobin/versitygw"
  fi
  mkdir -p "$VGW_HOME/data"
  echo "services: starting versitygw on $VGW_ADDR (data $VGW_HOME/data, log $VGW_HOME/log)"
  nohup setsid "$vgw" --access "$VGW_ACCESS" --secret "$VGW_SECRET" --port "$VGW_ADDR" --quiet \
    posix "$VGW_HOME/data" >"$VGW_HOME/log" 2>&1 </dev/null &
  for _ in $(seq 100); do vgw_up && break; sleep 0.1; done
fi
if vgw_up; then
  echo "services: versitygw (S3) is up on $VGW_ADDR"
else
  echo "services: versitygw (S3) is not answering on $VGW_ADDR (log: $VGW_HOME/log)" >&2
  echo "  run the suite without it: PARLEY_REQUIRE_S3=0 scripts/test.sh" >&2
  if [ "${PARLEY_REQUIRE_S3:-1}" = 1 ]; then exit 1; fi
fi
