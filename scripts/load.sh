#!/usr/bin/env bash
# Load-tests a local bulwark with wrk, side by side on the same build and
# machine, and prints requests/second per route and each route's ratio to
# /healthz (the bare middleware chain). Needs: go, wrk, curl.
#
#   scripts/load.sh [seconds-per-route] [connections]
#
# Only 127.0.0.1 is targeted; every run is bounded by its duration.
set -euo pipefail
secs=${1:-10}
conns=${2:-32}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'kill "${pid:-0}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port
(cd "$root" && go build -o "$work/bulwark" ./cmd/bulwark)
DATA_DIR="$work/data" ADDR=127.0.0.1:$port LOG_LEVEL=error \
  RATELIMIT_DEFAULT="100000000 per minute" RATELIMIT_LOGIN="100000000 per minute" \
  "$work/bulwark" serve 2>"$work/log" &
pid=$!
for _ in $(seq 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done

# A signed-in session for /account: register through the real form.
jar=$work/jar
token=$(curl -s -c "$jar" -b "$jar" "$base/register" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -1)
curl -s -o /dev/null -c "$jar" -b "$jar" -H "Origin: $base" -H "Sec-Fetch-Site: same-origin" \
  --data-urlencode "csrf_token=$token" --data-urlencode "email=load@example.com" \
  --data-urlencode "name=Load" --data-urlencode "password=orchid tunnel marble fjord" "$base/register"
cookie=$(awk '$6=="bulwark_session"{print $7}' "$jar")

run() { # name, path, extra wrk args...
  local name=$1 path=$2; shift 2
  local rps
  rps=$(wrk -t2 -c"$conns" -d"${secs}s" "$@" "$base$path" | awk '/Requests\/sec/{print $2}')
  printf '%s %s\n' "$name" "$rps"
}
{
  run "GET /healthz (middleware chain only)" /healthz
  run "GET /static/style.css" /static/style.css
  run "GET /login (anonymous: signed CSRF cookie, nothing stored)" /login
  run "GET /account (signed in: session load, user, sessions, events)" /account -H "Cookie: bulwark_session=$cookie"
  run "GET /search?q=load (signed in)" "/search?q=load" -H "Cookie: bulwark_session=$cookie"
} >"$work/results"
healthz=$(awk 'NR==1{print $NF}' "$work/results")
printf '%-66s %10s %8s\n' route req/s ratio
awk -v h="$healthz" '{rps=$NF; $NF=""; printf "%-66s %10.0f %8.3f\n", $0, rps, rps/h}' "$work/results"
