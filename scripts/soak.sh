#!/usr/bin/env bash
# Soak: runs bulwark under a steady mixed load (scripts/soak.lua: pages,
# signed-in pages, the API, uploads that are deleted again, failed and
# successful sign-ins) at about half of its measured capacity for MINUTES
# minutes, samples the process once a minute and prints a table, to show
# that nothing grows with time: heap, goroutines, open files, RSS, threads,
# database size.
#
#   scripts/soak.sh MINUTES [embedded|postgres+redis]     # defaults 10 embedded
#   SOAK_CONNS=8 SOAK_THREADS=2 SOAK_PROBE_SECS=10 SOAK_USERS=1000
#
# "Half the capacity": wrk2 (which paces to a rate) is not in Debian, so
# first a SOAK_PROBE_SECS wrk run of the same mix at full speed measures
# the capacity C (req/s); then every minute is one 60 s wrk run whose
# connections each wait SOAK_DELAY_MS between requests (wrk's delay() hook),
# started at SOAK_CONNS*1000/(C/2) ms and corrected after each minute by the
# ratio of the rate achieved to C/2. The table shows target and achieved.
#
# Samples are taken 5 s before the end of each minute, under load. With
# METRICS_ADDR served (Prometheus), heap (go_memstats_heap_alloc_bytes),
# goroutines (go_goroutines) and open files (process_open_fds) come from
# it; without it those columns read "-" and open files come from
# /proc/PID/fd. RSS and threads always come from /proc/PID/status. The
# database size is the SQLite file with its -wal (embedded) or
# pg_database_size (postgres+redis, where Redis's key count is added).
#
# Set-up as in bench/run.sh: LOG_LEVEL=error, a fixed SECRET_KEY, limits
# lifted except the per-account sign-in limit (not configurable), N seeded
# users (`bulwark user import`), an administrator who signs in through the
# real form, an API key with every scope on a second account, and a third
# account for the successful sign-ins of the mix. Everything
# listens on 127.0.0.1 only; all servers stop at exit.
#
# Needs: go, curl, python3, wrk; for postgres+redis PostgreSQL's server
# binaries (/usr/lib/postgresql/*/bin), psql and redis-server.
set -euo pipefail
minutes=${1:-10}
set_name=${2:-embedded}
conns=${SOAK_CONNS:-8}
threads=${SOAK_THREADS:-2}
probe_secs=${SOAK_PROBE_SECS:-10}
users=${SOAK_USERS:-1000}
case $set_name in embedded | postgres+redis) ;; *)
  echo "usage: $0 MINUTES [embedded|postgres+redis]" >&2
  exit 2
  ;;
esac
[[ $minutes =~ ^[0-9]+$ ]] && [ "$minutes" -ge 1 ] || { echo "MINUTES must be a whole number ≥ 1" >&2; exit 2; }
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 1; }

scripts=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$scripts/.." && pwd)
work=$(mktemp -d)
pgdir="" pgbin="" pids=()
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
. "$scripts/lib.sh"
c() { curl -s --max-time 10 "$@"; }


echo "building bulwark..." >&2
(cd "$root" && go build -o "$work/bulwark" ./cmd/bulwark)

# The 16 KiB PNG of bench/run.sh (scripts/lib.sh).
make_png "$work/soak.png"
hash='pbkdf2:sha256:260000$PPDcgRAGkWSts6yf$be7c94cd1ec286b3699ea3da349b4a21f345ba01693d5c69525a2c73a127e44e'
awk -v n="$users" -v h="$hash" 'BEGIN { for (i = 0; i < n; i++)
  printf "{\"email\":\"u%d@example.com\",\"name\":\"Soak User %d\",\"bio\":\"seeded by scripts/soak.sh\",\"password_hash\":\"%s\"}\n", i, i, h }' >"$work/users.jsonl"

export LOG_LEVEL=error
export SECRET_KEY=0c5e8f2b7a9d4e61b3c8f2a9d07e5b41a6c3f8e2d9b1047c5a8b3e6f2d9c1e70
export RATELIMIT_DEFAULT="100000000 per minute" RATELIMIT_LOGIN="100000000 per minute" RATELIMIT_API="100000000 per minute"
export UPLOAD_QUOTA=100GiB UPLOAD_MAX_FILES=1000000
export DATA_DIR=$work/data
if [ "$set_name" = postgres+redis ]; then start_postgres; start_redis; fi

port=$(free_port) mport=$(free_port)
base=http://127.0.0.1:$port metrics=http://127.0.0.1:$mport/metrics
ADDR=127.0.0.1:$port METRICS_ADDR=127.0.0.1:$mport "$work/bulwark" serve 2>"$work/bulwark.log" &
pid=$!
pids+=($pid)
wait_for "$base/healthz" || { cat "$work/bulwark.log" >&2; exit 1; }

admin=soak-admin@example.com apiadmin=soak-api@example.com signer=soak-signin@example.com
adminpw="copper meadow lantern thistle"
"$work/bulwark" user import "$work/users.jsonl" >/dev/null
echo "$adminpw" | "$work/bulwark" user create --email "$admin" --name "Soak Admin" --admin >/dev/null
echo "$adminpw" | "$work/bulwark" user create --email "$apiadmin" --name "Soak API" --admin >/dev/null
# The successful sign-ins are a third account's: at SESSION_MAX_PER_USER
# (50) new sessions end the least recently seen, and last-seen is written
# only every few minutes, so they would soon end the admin's session.
echo "$adminpw" | "$work/bulwark" user create --email "$signer" --name "Soak Sign-in" >/dev/null
key=$("$work/bulwark" apikey create --email "$apiadmin" --name soak --scope users:read --scope users:write \
  --scope files:read --scope files:write 2>/dev/null | tail -1)
jar=$work/jar
post_form "$jar" "$base" /login "email=$admin" "password=$adminpw" >/dev/null
cookie=$(session_cookie "$jar")
[ -n "$cookie" ] || { echo "sign-in failed" >&2; exit 1; }
logintoken=$(form_token "$jar.anon" "$base/login")
csrfcookie=$(awk '$6=="bulwark_csrf"{print $7}' "$jar.anon")
fileid=$(c -H "X-API-Key: $key" -F "file=@$work/soak.png;type=image/png" "$base/api/files" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
export BENCH_DIR=$root/bench BENCH_PNG=$work/soak.png BENCH_USERS=$users
export BENCH_CSRF_COOKIE=$csrfcookie BENCH_CSRF_TOKEN=$logintoken BENCH_ORIGIN=$base
export SOAK_SESSION=$cookie SOAK_KEY=$key SOAK_FILE=$fileid SOAK_EMAIL=$signer SOAK_PASSWORD=$adminpw

have_metrics=0
c -o /dev/null -f "$metrics" && have_metrics=1
metric() { # name: its value in the metrics text, or "-"
  [ "$have_metrics" = 1 ] || { echo -; return; }
  c "$metrics" | awk -v m="$1" '$1 == m && !found { v = $2; found = 1 } END { print (found ? v : "-") }'
}
mib() { awk -v v="$1" 'BEGIN { if (v == "-" || v == "") print "-"; else printf "%.1f", v / 1048576 }'; }
db_size() {
  if [ "$set_name" = embedded ]; then
    du -cb "$DATA_DIR"/bulwark.db* 2>/dev/null | awk 'END { print $1 }'
  else
    psql -h 127.0.0.1 -p "$pgport" -U bulwark -d bulwark -Atc 'SELECT pg_database_size(current_database())'
  fi
}
sample() { # minute target achieved statuses: prints one table row
  local heap goroutines fds rss threads dbs extra=""
  heap=$(mib "$(metric go_memstats_heap_alloc_bytes)")
  goroutines=$(metric go_goroutines)
  fds=$(metric process_open_fds)
  [ "$fds" = - ] && fds=$(ls "/proc/$pid/fd" | wc -l)
  rss=$(awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$pid/status")
  threads=$(awk '/^Threads:/ { print $2 }' "/proc/$pid/status")
  dbs=$(mib "$(db_size)")
  [ "$set_name" = postgres+redis ] && extra=" $(redis-cli -p "$redisport" dbsize) |"
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |%s %s |\n' "$1" "$2" "$3" "$heap" "$goroutines" "$fds" "$rss" "$threads" "$dbs" "$extra" "$4"
}
# wrk over the mix for SECS with DELAY ms between a connection's requests;
# prints "req/s statuses".
run_mix() { # secs delay
  local out
  out=$(SOAK_DELAY_MS=$2 timeout $(($1 + 30)) wrk -t"$threads" -c"$conns" -d"$1s" --timeout 10s \
    -s "$scripts/soak.lua" "$base/" 2>&1) || { echo "wrk failed: $out" >&2; echo "0 wrk-failed"; return; }
  awk '/Requests\/sec/ { rps = $2 } /^status / { st = substr($0, 8); gsub(/ /, ",", st) }
    END { printf "%.0f %s\n", rps, (st == "" ? "-" : st) }' <<<"$out"
}

echo "measuring capacity: ${probe_secs}s of the mix at full speed, wrk -t$threads -c$conns..." >&2
read -r capacity probe_st < <(run_mix "$probe_secs" 0)
[ "${capacity:-0}" -gt 0 ] || { echo "capacity probe failed ($probe_st)" >&2; exit 1; }
target=$((capacity / 2))
delay=$(awk -v c="$conns" -v t="$target" 'BEGIN { printf "%.3f", c * 1000 / t }')
echo "capacity $capacity req/s ($probe_st); soaking at $target req/s: $delay ms between a connection's requests" >&2

head="| minute | target req/s | achieved req/s | heap MiB | goroutines | open fds | RSS MiB | threads | database MiB |"
rule="|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
if [ "$set_name" = postgres+redis ]; then head="$head Redis keys |"; rule="$rule---:|"; fi
head="$head statuses |"; rule="$rule---|"
rows=$work/rows
sample 0 - - "after the capacity probe" >"$rows"
for m in $(seq "$minutes"); do
  run_mix 60 "$delay" >"$work/min" &
  wrkpid=$!
  sleep 55
  sample "$m" "$target" "@@" "@@" >"$work/row"
  wait "$wrkpid" || true
  read -r got st <"$work/min"
  sed -e "0,/@@/s/@@/$got/" -e "s/@@/$st/" "$work/row" >>"$rows"
  echo "minute $m: $got req/s ($st)" >&2
  # Steer toward the target: more delay if above it, less if below.
  [ "${got:-0}" -gt 0 ] && delay=$(awk -v d="$delay" -v g="$got" -v t="$target" \
    'BEGIN { r = g / t; if (r < 0.5) r = 0.5; if (r > 2) r = 2; printf "%.3f", d * r }')
done
kill -0 "$pid" 2>/dev/null || { echo "bulwark exited during the soak:" >&2; tail -20 "$work/bulwark.log" >&2; exit 1; }

echo
echo "## soak, $set_name: $minutes min at ~half of $capacity req/s (wrk -t$threads -c$conns, paced), $users seeded users"
echo "$(date -u +%Y-%m-%d) — nproc $(nproc) — commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo ?) — $(go version | awk '{print $3}') — metrics: $([ "$have_metrics" = 1 ] && echo "from METRICS_ADDR" || echo "not served; /proc only")"
echo
echo "$head"
echo "$rule"
cat "$rows"
