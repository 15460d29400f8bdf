# Shared by the scripts that drive a throwaway bulwark on 127.0.0.1
# (bench/run.sh, scripts/*.sh). Source it; it defines functions only.

# free_port prints a free TCP port on 127.0.0.1.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_for URL [curl options...]: waits up to 20 s for URL to answer 2xx.
wait_for() {
  local url=$1; shift
  for _ in $(seq 200); do curl -sf --max-time 1 "$@" "$url" >/dev/null && return 0; sleep 0.1; done
  echo "not answering: $url" >&2; return 1
}

# form_token JAR URL: loads a page with a form and prints its CSRF token,
# keeping the cookies (the anonymous CSRF cookie) in JAR.
form_token() { curl -s -c "$1" -b "$1" "$2" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -1; }

# post_form JAR BASE PATH FIELD=VALUE...: posts a same-origin form with the
# CSRF token of BASE+PATH, as the site's page would, and prints the status.
post_form() {
  local jar=$1 base=$2 path=$3; shift 3
  local token args=()
  token=$(form_token "$jar" "$base$path")
  for f in "$@"; do args+=(--data-urlencode "$f"); done
  curl -s -o /dev/null -w '%{http_code}' -c "$jar" -b "$jar" -H "Origin: $base" -H "Sec-Fetch-Site: same-origin" \
    --data-urlencode "csrf_token=$token" "${args[@]}" "$base$path"
}

# session_cookie JAR: prints the session cookie's value from JAR.
session_cookie() { awk '$6=="bulwark_session"{print $7}' "$1"; }

# The functions below use the caller's $work (a scratch directory) and
# append the servers they start to the caller's array pids, for its cleanup.

# pgrun NAME ARGS...: a PostgreSQL binary, as the postgres user when we are
# root (initdb refuses to run as root).
pgrun() {
  local bin=$pgbin/$1; shift
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$bin" "$@"; else "$bin" "$@"; fi
}

# start_postgres: a throwaway PostgreSQL in a new $pgdir on $pgport, as the
# tests start it (fsync off); exports DATABASE_URL. The caller stops it:
#   pgrun pg_ctl -D "$pgdir/data" -m immediate -w stop
start_postgres() {
  pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -n "$pgbin" ] && [ -x "$pgbin/initdb" ] || { echo "needs PostgreSQL (apt-get install postgresql)" >&2; return 1; }
  pgdir=$(mktemp -d)
  [ "$(id -u)" = 0 ] && chown postgres: "$pgdir"
  pgport=$(free_port)
  (cd "$pgdir" && pgrun initdb -D "$pgdir/data" -A trust -U bulwark -E UTF8 --no-sync >"$work/initdb.log" 2>&1)
  (cd "$pgdir" && pgrun pg_ctl -D "$pgdir/data" -l "$pgdir/log" -w -t 60 start \
    -o "-p $pgport -k $pgdir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >/dev/null)
  (cd "$pgdir" && pgrun createdb -h 127.0.0.1 -p "$pgport" -U bulwark bulwark)
  export DATABASE_URL="postgres://bulwark@127.0.0.1:$pgport/bulwark?sslmode=disable"
}

# start_redis: a throwaway redis-server on $redisport; exports REDIS_URL.
start_redis() {
  command -v redis-server >/dev/null || { echo "needs redis-server (apt-get install redis-server)" >&2; return 1; }
  redisport=$(free_port)
  mkdir -p "$work/redis"
  redis-server --port "$redisport" --bind 127.0.0.1 --save "" --appendonly no --dir "$work/redis" --daemonize no >"$work/redis.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do redis-cli -p "$redisport" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
  export REDIS_URL="redis://127.0.0.1:$redisport/0"
}

# make_png FILE: a 16 KiB PNG (random 64x64 RGB pixels, padded with a tEXt
# chunk to exactly 16384 bytes) that sniffs as image/png.
make_png() {
  python3 - "$1" <<'PY'
import os, struct, sys, zlib
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
w = h = 64
raw = b"".join(b"\0" + os.urandom(w * 3) for _ in range(h))
head = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
idat, end = chunk(b"IDAT", zlib.compress(raw, 9)), chunk(b"IEND", b"")
pad = 16384 - len(head) - len(idat) - len(end) - 12 - len(b"Comment\0")
open(sys.argv[1], "wb").write(head + chunk(b"tEXt", b"Comment\0" + b"x" * pad) + idat + end)
PY
}
