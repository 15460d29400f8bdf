#!/usr/bin/env bash
# Floods a throwaway bulwark (embedded defaults) and reports what it costs:
#   1. SECONDS of POST /login with the right passwords of 20 existing users on
#      500 connections (every request hashes), while 4 connections measure
#      GET /healthz: peak RSS, /healthz p99, statuses;
#   2. at least 100,000 cookieless GET / and GET /login each: the database
#      files' sizes before and after (an anonymous visitor writes nothing).
# Needs: go, wrk, curl, python3. Only 127.0.0.1 is targeted.
#
#   scripts/flood.sh [SECONDS]     default 20; GOMEMLIMIT, when set, is passed to the service
set -euo pipefail
secs=${1:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/lib.sh"
work=$(mktemp -d)
trap 'kill "${pid:-0}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
(cd "$root" && go build -o "$work/bulwark" ./cmd/bulwark)

export DATA_DIR="$work/data" SECRET_KEY=0f9e8d7c6b5a49382716051f2e3d4c5b6a79880f1e2d3c4b5a69788796a5b4c3 LOG_LEVEL=error
export RATELIMIT_DEFAULT="100000000 per minute" RATELIMIT_LOGIN="100000000 per minute"
pw="copper meadow lantern thistle"
for i in $(seq 20); do echo "$pw" | "$work/bulwark" user create --email "flood$i@example.com" --name "Flood $i" >/dev/null; done

port=$(free_port); base="http://127.0.0.1:$port"
ADDR=127.0.0.1:$port GOMEMLIMIT=${GOMEMLIMIT:-} "$work/bulwark" serve 2>"$work/log" & pid=$!
wait_for "$base/healthz"
idle=$(awk '/VmRSS/{print $2}' /proc/$pid/status)

# One anonymous form token and its cookie serve every request.
token=$(form_token "$work/jar" "$base/login")
cookie=$(sed 's/^#HttpOnly_//' "$work/jar" | awk '!/^#/ && NF==7 {printf "%s%s=%s", sep, $6, $7; sep="; "}')
export BENCH_DIR="$root/bench"
cat >"$work/login.lua" <<LUA
dofile("$root/bench/status.lua")
local i = 0
request = function()
  i = i % 20 + 1
  local body = "email=flood" .. i .. "%40example.com&password=copper+meadow+lantern+thistle&csrf_token=" .. "$token"
  return wrk.format("POST", "/login", {
    ["Content-Type"] = "application/x-www-form-urlencoded", ["Origin"] = "$base",
    ["Sec-Fetch-Site"] = "same-origin", ["Cookie"] = "$cookie"}, body)
end
LUA

wrk -t2 -c500 -d"${secs}s" --timeout 30s -s "$work/login.lua" "$base" >"$work/login.out" 2>&1 &
flood=$!
sleep 1
wrk -t1 -c4 -d"$((secs - 2))s" --latency "$base/healthz" >"$work/healthz.out" 2>&1
wait "$flood"
peak=$(awk '/VmHWM/{print $2}' /proc/$pid/status)
echo "== 500 connections of POST /login (right passwords, 20 accounts), ${secs}s"
grep -E 'Requests/sec|^status|Socket errors' "$work/login.out" | sed 's/^ */  /'
echo "  peak RSS $((peak / 1024)) MiB (idle $((idle / 1024)) MiB)"
echo "== GET /healthz on 4 connections during the flood"
grep -E 'Requests/sec|^ +(50|99)%' "$work/healthz.out" | sed 's/^ */  /'

dbsize() { stat -c '%n %s' "$DATA_DIR"/bulwark.db* | sed "s#$DATA_DIR/##" | tr '\n' ' '; }
before=$(dbsize)
for path in / /login; do
  n=0
  while [ "$n" -lt 100000 ]; do
    out=$(wrk -t2 -c32 -d5s -s "$root/bench/get.lua" "$base$path" 2>&1)
    n=$((n + $(echo "$out" | awk '/requests in/{print $1}')))
  done
  echo "== cookieless GET $path: $n requests (last run: $(echo "$out" | grep ^status))"
done
echo "  database files before: $before"
echo "  database files after:  $(dbsize)"
