#!/usr/bin/env bash
# The browser tests (e2e/) of the web console and the demo web chat (/demo/):
# makes sure what they need is
# installed, then runs them against a freshly built `parley` binary.
#
#   - Chromium: Debian's package (apt-get install chromium) when
#     $PARLEY_CHROMIUM (default /usr/bin/chromium) is missing. Playwright's
#     own browser download is not used.
#   - A Chinese font (fonts-wqy-microhei) when fontconfig knows none, so the
#     简体中文 screenshots show characters rather than boxes.
#   - Node.js 20 or later and npm (the machine's); `npm ci` in e2e/ when
#     e2e/node_modules is missing or older than e2e/package-lock.json.
#
# Safe to run again: what is installed is left alone.
#   scripts/browser.sh            install if needed, then run the tests
#   scripts/browser.sh --setup    install if needed, run nothing
# Screenshots of every page in both languages go to $PARLEY_E2E_ARTIFACTS
# (default: a new directory under ${TMPDIR:-/tmp}), printed at the end.
# PARLEY_REQUIRE_BROWSER=0: a missing Chromium or Node.js skips the tests
# instead of being installed (Chromium) or failing (Node.js).
set -euo pipefail
cd "$(dirname "$0")/.."

CHROMIUM=${PARLEY_CHROMIUM:-/usr/bin/chromium}
export PARLEY_CHROMIUM=$CHROMIUM
REQUIRE=${PARLEY_REQUIRE_BROWSER:-1}

# missing reports what is missing, then fails, or with
# PARLEY_REQUIRE_BROWSER=0 skips (running what needs no browser, unless
# the second argument says Node.js itself is what is missing).
missing() {
  echo "browser: $1" >&2
  if [ "$REQUIRE" = 1 ]; then
    echo "  or skip the browser tests where it is missing: PARLEY_REQUIRE_BROWSER=0 scripts/test.sh" >&2
    exit 1
  fi
  echo "browser: skipping the browser tests (PARLEY_REQUIRE_BROWSER=0)"
  # The dictionary checks need Node.js only.
  if [ "${2:-}" != nonode ] && command -v node >/dev/null 2>&1; then
    echo "browser: the console's and the demo's dictionary checks (node --test e2e/i18n.test.mjs e2e/demo-i18n.test.mjs)"
    exec node --test --test-reporter=spec e2e/i18n.test.mjs e2e/demo-i18n.test.mjs
  fi
  exit 0
}

apt_install() {
  command -v apt-get >/dev/null 2>&1 || return 0
  local sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  echo "browser: installing $* (apt-get)"
  if [ -z "${apt_updated:-}" ]; then $sudo apt-get update -qq || true; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if [ ! -x "$CHROMIUM" ]; then
  [ "$REQUIRE" = 1 ] || missing "no Chromium at $CHROMIUM"
  apt_install chromium || true
  [ -x "$CHROMIUM" ] || missing "no Chromium at $CHROMIUM (apt-get install chromium)"
fi
if command -v fc-list >/dev/null 2>&1 && [ -z "$(fc-list :lang=zh-cn family 2>/dev/null)" ]; then
  apt_install fonts-wqy-microhei || echo "browser: no Chinese font; 简体中文 screenshots will show boxes" >&2
fi
echo "browser: $("$CHROMIUM" --version 2>/dev/null || echo "chromium at $CHROMIUM")"

command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || missing "Node.js and npm are not installed" nonode
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || missing "Node.js 20 or later is needed (found $(node --version))" nonode

if [ ! -f e2e/node_modules/.package-lock.json ] || [ e2e/package-lock.json -nt e2e/node_modules/.package-lock.json ]; then
  echo "browser: npm ci (e2e)"
  (cd e2e && npm ci --no-audit --no-fund --loglevel=error)
fi

if [ "${1:-}" = "--setup" ]; then exit 0; fi

cd e2e
exec npm test --silent
