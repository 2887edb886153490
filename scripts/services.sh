#!/usr/bin/env bash
# Makes sure the local services the test suite uses are up: PostgreSQL on
# 127.0.0.1:5432 (trust auth, user postgres). Starts it if it is installed
# but stopped. Prints what it did; exits non-zero if a service is missing.
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
