#!/usr/bin/env bash
# Load-tests bulwark side by side with a bare net/http server (bench/bare,
# "ok" on every path) in ONE run on 127.0.0.1, with wrk (Debian's `wrk`),
# first on the embedded defaults (SQLite, sessions in the database, limits in
# memory), then on PostgreSQL + Redis started as throwaway servers the way
# internal/testenv starts them. Prints one table per backend set: route,
# req/s, p50, p99 and the ratio to the bare server on the same route, the
# bare server measured interleaved (bare, bulwark, next route; then again).
#
#   bench/run.sh [seconds-per-route] [rounds] [users]      # defaults 3 2 1000
#   BENCH_BACKENDS=embedded bench/run.sh                    # skip PostgreSQL + Redis
#   BENCH_CONNS=32 BENCH_THREADS=2                          # wrk -c / -t
#
# Needs: go, curl, python3, wrk; for the second set PostgreSQL's server
# binaries (/usr/lib/postgresql/*/bin) and redis-server
# (apt-get install wrk postgresql redis-server).
#
# Set-up: bulwark runs with LOG_LEVEL=error, a fixed SECRET_KEY, and the
# limits lifted so that wrk measures work, not 429s: RATELIMIT_DEFAULT,
# RATELIMIT_LOGIN and RATELIMIT_API are "100000000 per minute", UPLOAD_QUOTA
# 100GiB, UPLOAD_MAX_FILES 1000000. N users are seeded with `bulwark user
# import` (one Werkzeug pbkdf2 hash for all); an administrator is made with
# `user create --admin`, signs in through the real form (CSRF token and
# cookie) for /account and /search; a second administrator holds the API key
# (every scope), so the files uploaded do not grow the first one's /account.
# The per-account sign-in limits (5 per 15 minutes per account and network)
# are not configurable: the POST /login mix spreads over the seeded users.
#
# Only 127.0.0.1 is targeted; every wrk run is bounded by its duration (and
# by `timeout`), every curl by --max-time; all servers stop at exit.
set -euo pipefail
secs=${1:-3}
rounds=${2:-2}
users=${3:-1000}
conns=${BENCH_CONNS:-32}
threads=${BENCH_THREADS:-2}
backends=${BENCH_BACKENDS:-embedded postgres+redis}
bench=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$bench/.." && pwd)
work=$(mktemp -d)
pgdir=""
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "$pgdir" ] && [ -d "$pgdir/data" ]; then
    pgrun pg_ctl -D "$pgdir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$work" ${pgdir:+"$pgdir"}
}
trap cleanup EXIT
trap 'exit 130' INT TERM

. "$root/scripts/lib.sh"
c() { curl -s --max-time 10 "$@"; }

echo "building bulwark and bench/bare..." >&2
(cd "$root" && go build -o "$work/bulwark" ./cmd/bulwark && go build -o "$work/bare" ./bench/bare)

make_png "$work/bench.png"

# Seed users: JSON lines for `bulwark user import`, one real Werkzeug hash
# (password/testdata/werkzeug-hashes.json) for all.
hash='pbkdf2:sha256:260000$PPDcgRAGkWSts6yf$be7c94cd1ec286b3699ea3da349b4a21f345ba01693d5c69525a2c73a127e44e'
awk -v n="$users" -v h="$hash" 'BEGIN { for (i = 0; i < n; i++)
  printf "{\"email\":\"u%d@example.com\",\"name\":\"Bench User %d\",\"bio\":\"seeded by bench/run.sh\",\"password_hash\":\"%s\"}\n", i, i, h }' >"$work/users.jsonl"

export LOG_LEVEL=error
export SECRET_KEY=5f0c8e2b9a7d4f61c3e8b2a9d07f5e41b6c3a8f2e9d1047c5b8a3e6f2d9c1b07
export RATELIMIT_DEFAULT="100000000 per minute" RATELIMIT_LOGIN="100000000 per minute" RATELIMIT_API="100000000 per minute"
export UPLOAD_QUOTA=100GiB UPLOAD_MAX_FILES=1000000
export BENCH_DIR=$bench BENCH_PNG=$work/bench.png BENCH_USERS=$users
admin=bench-admin@example.com apiadmin=bench-api@example.com
adminpw="copper meadow lantern thistle"

bareport=$(free_port)
bare=http://127.0.0.1:$bareport
"$work/bare" "127.0.0.1:$bareport" 2>"$work/bare.log" &
pids+=($!)
wait_for "$bare/healthz"


# wrk once: server-url path script [header]; prints "rps p50ms p99ms statuses".
wrk1() {
  local url=$1 path=$2 script=$3 header=${4:-} out
  out=$(BENCH_HEADER=$header timeout $((secs + 30)) wrk -t"$threads" -c"$conns" -d"${secs}s" --timeout 10s \
    --latency -s "$bench/$script" "$url$path" 2>&1) || { echo "wrk failed: $out" >&2; echo "0 0 0 wrk-failed"; return; }
  awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /m$/) return v * 60000; return v * 1000 }
    /Requests\/sec/ { rps = $2 }
    $1 == "50%" { p50 = ms($2) }
    $1 == "99%" { p99 = ms($2) }
    /^status / { st = substr($0, 8); gsub(/ /, ",", st) }
    /Socket errors/ { err = ",sockerr:" $4 $5 $6 $7 $8 $9 $10 $11; gsub(/,$/, "", err) }
    END { printf "%s %.2f %.2f %s%s\n", rps, p50, p99, (st == "" ? "-" : st), err }' <<<"$out"
}

# One backend set: start bulwark, seed, sign in, measure interleaved rounds.
bench_set() { # name
  local set=$1 port base pid jar token cookie key fileid csrfcookie logintoken
  export DATA_DIR=$work/data-${set//[^a-z]/}
  port=$(free_port); base=http://127.0.0.1:$port
  ADDR=127.0.0.1:$port "$work/bulwark" serve 2>"$work/bulwark-$set.log" &
  pid=$!; pids+=($pid)
  wait_for "$base/healthz" || { cat "$work/bulwark-$set.log" >&2; return 1; }

  local t0=$SECONDS
  "$work/bulwark" user import "$work/users.jsonl" >&2
  echo "$adminpw" | "$work/bulwark" user create --email "$admin" --name "Bench Admin" --admin >/dev/null
  # The API key belongs to a second administrator: the files it uploads
  # would otherwise all be listed on the signed-in admin's /account page.
  echo "$adminpw" | "$work/bulwark" user create --email "$apiadmin" --name "Bench API" --admin >/dev/null
  key=$("$work/bulwark" apikey create --email "$apiadmin" --name bench --scope users:read --scope users:write \
    --scope files:read --scope files:write 2>/dev/null | tail -1)
  echo "[$set] seeded $users users, two admins and an API key in $((SECONDS - t0)) s" >&2

  jar=$work/jar-$set
  post_form "$jar" "$base" /login "email=$admin" "password=$adminpw" >/dev/null
  cookie=$(session_cookie "$jar")
  [ -n "$cookie" ] || { echo "[$set] sign-in failed" >&2; return 1; }
  # A fresh anonymous CSRF cookie and token for the POST /login mix.
  rm -f "$jar.anon"
  logintoken=$(form_token "$jar.anon" "$base/login")
  csrfcookie=$(awk '$6=="bulwark_csrf"{print $7}' "$jar.anon")
  fileid=$(c -H "X-API-Key: $key" -F "file=@$work/bench.png;type=image/png" "$base/api/files" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  for check in "/account|Cookie: bulwark_session=$cookie" "/search?q=bench|Cookie: bulwark_session=$cookie" \
    "/api/me|X-API-Key: $key" "/api/files/$fileid|X-API-Key: $key"; do
    code=$(c -o /dev/null -w '%{http_code}' -H "${check#*|}" "$base${check%%|*}")
    [ "$code" = 200 ] || { echo "[$set] set-up failed: ${check%%|*} answered $code" >&2; return 1; }
  done

  local routes=(
    "GET /healthz|/healthz|get.lua|"
    "GET /|/|get.lua|"
    "GET /login|/login|get.lua|"
    "GET /account|/account|get.lua|Cookie: bulwark_session=$cookie"
    "GET /search?q=bench|/search?q=bench|get.lua|Cookie: bulwark_session=$cookie"
    "GET /api/me|/api/me|get.lua|X-API-Key: $key"
    "POST /api/users|/api/users|api_users.lua|X-API-Key: $key"
    "POST /api/files (16 KiB PNG)|/api/files|api_files.lua|X-API-Key: $key"
    "GET /api/files/{id}|/api/files/$fileid|get.lua|X-API-Key: $key"
    "POST /login (wrong passwords, seeded users)|/login|login.lua|"
  )
  export BENCH_CSRF_COOKIE=$csrfcookie BENCH_CSRF_TOKEN=$logintoken BENCH_ORIGIN=$base
  local r i name path script header
  for r in $(seq "$rounds"); do
    for i in "${!routes[@]}"; do
      IFS='|' read -r name path script header <<<"${routes[$i]}"
      echo "[$set] round $r: $name" >&2
      printf '%s|%s|bare|%s\n' "$i" "$name" "$(BENCH_RUN=$set-$r-bare wrk1 "$bare" "$path" "$script" "$header")" >>"$work/res-$set"
      printf '%s|%s|bulwark|%s\n' "$i" "$name" "$(BENCH_RUN=$set-$r-bw wrk1 "$base" "$path" "$script" "$header")" >>"$work/res-$set"
    done
  done
  kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true

  echo
  echo "## $set: wrk -t$threads -c$conns, ${secs}s per route, $rounds interleaved rounds (means), $users seeded users"
  echo
  echo "| route | req/s | p50 ms | p99 ms | bare req/s | bare p99 ms | ratio to bare | bulwark statuses |"
  echo "|---|---:|---:|---:|---:|---:|---:|---|"
  awk -F'|' '{
      split($4, v, " "); k = $1 SUBSEP $3
      name[$1] = $2; n[k]++; rps[k] += v[1]; p50[k] += v[2]; p99[k] += v[3]
      if ($3 == "bulwark") st[$1] = st[$1] (st[$1] == "" ? "" : " / ") v[4]
      if ($1 + 1 > max) max = $1 + 1
    }
    END { for (i = 0; i < max; i++) {
      b = i SUBSEP "bulwark"; a = i SUBSEP "bare"
      printf "| %s | %.0f | %.2f | %.2f | %.0f | %.2f | %.3f | %s |\n", name[i], rps[b]/n[b], p50[b]/n[b], p99[b]/n[b],
        rps[a]/n[a], p99[a]/n[a], (rps[a] > 0 ? rps[b]/rps[a] : 0), st[i] } }' "$work/res-$set"
}

echo "# bench/run.sh $secs $rounds $users — $(date -u +%Y-%m-%d) — nproc $(nproc) — commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo ?) — $(go version | awk '{print $3}')"
for set in $backends; do
  case $set in
    embedded) bench_set embedded ;;
    postgres+redis)
      start_postgres && start_redis && bench_set postgres+redis
      unset DATABASE_URL REDIS_URL ;;
    *) echo "unknown backend set: $set" >&2; exit 2 ;;
  esac
done
