#!/usr/bin/env bash
# Points sqlmap (Debian's `sqlmap`) at the two routes whose input reaches
# SQL through a search: GET /search?q= (signed in, with the session cookie)
# and GET /api/users?q= (with an API key), at --level 3 --risk 1, against a
# throwaway bulwark on 127.0.0.1. Exits 1 if sqlmap reports an injectable
# parameter. Needs: go, curl, sqlmap.
#
#   scripts/sqlmap.sh
#
# Only 127.0.0.1 is targeted; sqlmap runs in batch mode and stops by itself.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/lib.sh"
work=$(mktemp -d)
trap 'kill "${pid:-0}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

port=$(free_port)
base=http://127.0.0.1:$port
(cd "$root" && go build -o "$work/bulwark" ./cmd/bulwark)
export DATA_DIR="$work/data" ADDR=127.0.0.1:$port LOG_LEVEL=error
# The scan sends thousands of requests: lift the limits for this throwaway.
export RATELIMIT_DEFAULT="100000000 per minute" RATELIMIT_LOGIN="100000000 per minute" RATELIMIT_API="100000000 per minute"
"$work/bulwark" serve 2>"$work/log" &
pid=$!
wait_for "$base/healthz"

jar=$work/jar
post_form "$jar" "$base" /register email=scan@example.com name=Scan "password=orchid tunnel marble fjord" >/dev/null
cookie=$(session_cookie "$jar")
key=$("$work/bulwark" apikey create --email scan@example.com --name sqlmap --scope users:read 2>/dev/null)

# Both targets must answer 200 as the signed-in user and the key holder,
# or sqlmap would only probe a redirect or a 401.
for check in "$base/search?q=scan|Cookie: bulwark_session=$cookie" "$base/api/users?q=scan|X-API-Key: $key"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "${check#*|}" "${check%%|*}")
  [ "$code" = 200 ] || { echo "set-up failed: ${check%%|*} answered $code"; exit 2; }
done

scan() { # name, url, header
  local name=$1 url=$2 header=$3 out
  out=$(sqlmap -u "$url" -p q --headers="$header" --level 3 --risk 1 --batch --disable-coloring \
    --flush-session --output-dir "$work/sqlmap-${name//[^a-z]/}" -v 1 2>&1) || true
  if grep -qiE "is vulnerable|parameter '.*' (is|appears to be) .*injectable|sqlmap identified the following injection" <<<"$out"; then
    echo "$name: INJECTABLE"; grep -iE "injectable|Payload" <<<"$out"; return 1
  fi
  echo "$name: $(grep -m1 -iE 'all tested parameters do not appear to be injectable|does not seem to be injectable' <<<"$out" || echo 'no injection found')"
  grep -m1 -iE 'fetched data logged|HTTP\(s\) requests' <<<"$out" || true
  grep -c "testing '" <<<"$out" | sed 's/^/  techniques tried: /'
}
status=0
scan "GET /search?q=" "$base/search?q=scan" "Cookie: bulwark_session=$cookie" || status=1
scan "GET /api/users?q=" "$base/api/users?q=scan" "X-API-Key: $key" || status=1
exit $status
