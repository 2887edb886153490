#!/usr/bin/env bash
# The foundation acceptance walk-through, with curl alone against a running
# server: create an app, get an app token, register a user and a batch of 60,
# page through every user with the cursor, update a nickname, change a
# password, get a user token with the new password (the old one is refused),
# deactivate the user (its token stops working, the password grant is
# refused), activate it again.
#
# Usage: scripts/acceptance.sh BASE_URL OWNER_PASSWORD [OWNER_USERNAME]
#   e.g. scripts/acceptance.sh http://127.0.0.1:8080 "$(cat data/console-owner-password)"
# With no arguments it builds parley, starts it on a temporary data dir and a
# free port, runs the walk-through and stops it.
set -euo pipefail

if [ $# -eq 0 ]; then
  root=$(cd "$(dirname "$0")/.." && pwd)
  tmp=$(mktemp -d)
  trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT
  (cd "$root" && go build -o "$tmp/parley" ./cmd/parley)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 18931)
  "$tmp/parley" serve --listen "127.0.0.1:$port" --data "$tmp/data" --log-level warn 2>"$tmp/server.log" &
  pid=$!
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  "$0" "http://127.0.0.1:$port" "$(cat "$tmp/data/console-owner-password")"
  exit $?
fi

BASE=$1 OWNER_PW=$2 OWNER=${3:-owner}
ORG=acme APP="accept$RANDOM"
step() { printf '== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
# call METHOD PATH TOKEN BODY -> sets $status and $body
call() {
  local auth=()
  [ -n "$3" ] && auth=(-H "Authorization: Bearer $3")
  local out
  out=$(curl -s -w '\n%{http_code}' -X "$1" "$BASE$2" -H 'Content-Type: application/json' "${auth[@]}" ${4:+--data-binary "$4"})
  status=${out##*$'\n'}
  body=${out%$'\n'*}
}
expect() { [ "$status" = "$1" ] || fail "$2: HTTP $status, want $1: $body"; }
field() { printf '%s' "$body" | sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }

step "admin token"
call POST /management/token "" "{\"grant_type\":\"password\",\"username\":\"$OWNER\",\"password\":\"$OWNER_PW\"}"
expect 200 "admin token"; ADMIN=$(field access_token)

step "create app $ORG#$APP"
call POST "/management/orgs/$ORG/applications" "$ADMIN" "{\"name\":\"$APP\"}"
expect 200 "create app"; CID=$(field client_id); CSECRET=$(field client_secret)
[ -n "$CID" ] && [ -n "$CSECRET" ] || fail "no credentials in $body"

step "app token"
call POST "/$ORG/$APP/token" "" "{\"grant_type\":\"client_credentials\",\"client_id\":\"$CID\",\"client_secret\":\"$CSECRET\"}"
expect 200 "app token"; TOKEN=$(field access_token)

step "register one user"
call POST "/$ORG/$APP/users" "$TOKEN" '{"username":"alice","password":"old-pass","nickname":"Alice"}'
expect 200 "register"

step "register a batch of 60"
batch=$(for i in $(seq -w 1 60); do printf '{"username":"user%s","password":"pw%s"},' "$i" "$i"; done)
call POST "/$ORG/$APP/users" "$TOKEN" "[${batch%,}]"
expect 200 "batch"
n=$(printf '%s' "$body" | grep -o '"type":"user"' | wc -l)
[ "$n" = 60 ] || fail "batch created $n users, want 60"

step "page through all users with the cursor"
cursor="" total=0 pages=0
while :; do
  call GET "/$ORG/$APP/users?limit=25${cursor:+&cursor=$cursor}" "$TOKEN"
  expect 200 "list page"
  total=$((total + $(printf '%s' "$body" | grep -o '"type":"user"' | wc -l)))
  pages=$((pages + 1))
  cursor=$(field cursor)
  [ -z "$cursor" ] && break
  [ $pages -lt 10 ] || fail "cursor does not end"
done
[ "$total" = 61 ] || fail "paged $total users in $pages pages, want 61"

step "update nickname"
call PUT "/$ORG/$APP/users/alice" "$TOKEN" '{"nickname":"Alice L."}'
expect 200 "nickname"; [ "$(field nickname)" = "Alice L." ] || fail "nickname not updated: $body"

step "change password"
call PUT "/$ORG/$APP/users/alice/password" "$TOKEN" '{"newpassword":"new-pass"}'
expect 200 "password"

step "user token: old password refused, new accepted"
call POST "/$ORG/$APP/token" "" '{"grant_type":"password","username":"alice","password":"old-pass"}'
expect 400 "old password"; [ "$(field error)" = invalid_grant ] || fail "old password: $body"
call POST "/$ORG/$APP/token" "" '{"grant_type":"password","username":"alice","password":"new-pass"}'
expect 200 "new password"; UTOKEN=$(field access_token)
call GET "/$ORG/$APP/users/alice" "$UTOKEN"
expect 200 "user token works"

step "deactivate: token stops working, password grant refused"
call POST "/$ORG/$APP/users/alice/deactivate" "$TOKEN"
expect 200 "deactivate"
call GET "/$ORG/$APP/users/alice" "$UTOKEN"
expect 401 "revoked token"; [ "$(field error)" = auth_bad_access_token ] || fail "revoked token: $body"
call POST "/$ORG/$APP/token" "" '{"grant_type":"password","username":"alice","password":"new-pass"}'
expect 400 "deactivated grant"; [ "$(field error_description)" = "user not activated" ] || fail "deactivated grant: $body"

step "activate again"
call POST "/$ORG/$APP/users/alice/activate" "$TOKEN"
expect 200 "activate"
call POST "/$ORG/$APP/token" "" '{"grant_type":"password","username":"alice","password":"new-pass"}'
expect 200 "grant after activate"

echo "acceptance: all steps passed"
