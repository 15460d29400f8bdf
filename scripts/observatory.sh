#!/usr/bin/env bash
# Grades bulwark's home and login pages with the MDN HTTP Observatory scanner,
# served over HTTPS (production settings) with a certificate from a local CA
# made here. Needs: go, openssl, node + npm (the scanner is installed by
# ../shared/tools/observatory.sh, offline-safe), jq.
#
#   scripts/observatory.sh            # prints each page's grade and score; exit 1 unless all are A+
#
# Set OBSERVATORY to the scanner wrapper if it lives elsewhere, and
# OBSERVATORY_DETAIL=1 to print every test's result and score modifier.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
scanner=${OBSERVATORY:-$root/../shared/tools/observatory.sh}
work=$(mktemp -d)
trap 'kill "${pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

# A throwaway CA and a certificate for 127.0.0.1.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj "/CN=bulwark test CA" -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -subj "/CN=127.0.0.1" -keyout "$work/tls.key" -out "$work/tls.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$work/ext"
openssl x509 -req -in "$work/tls.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial \
  -days 2 -extfile "$work/ext" -out "$work/tls.pem" 2>/dev/null

. "$root/scripts/lib.sh"
port=$(free_port)
(cd "$root" && go build -o "$work/bulwark" ./cmd/bulwark)
mkdir -m 700 "$work/data"
BULWARK_ENV=production ALLOWED_HOSTS=127.0.0.1 SECRET_KEY=$(openssl rand -hex 32) DATA_DIR="$work/data" \
  ADDR=127.0.0.1:$port BASE_URL=https://127.0.0.1:$port TLS_CERT_FILE="$work/tls.pem" TLS_KEY_FILE="$work/tls.key" \
  "$work/bulwark" serve 2>"$work/log" &
pid=$!
for _ in $(seq 50); do
  curl -sf --cacert "$work/ca.pem" "https://127.0.0.1:$port/healthz" >/dev/null && break
  sleep 0.2
done

status=0
for path in / /login; do
  out=$(NODE_EXTRA_CA_CERTS="$work/ca.pem" "$scanner" "127.0.0.1:$port$path")
  grade=$(jq -r '.scan.grade' <<<"$out")
  score=$(jq -r '.scan.score' <<<"$out")
  echo "$path: grade $grade, score $score"; [ -n "${OBSERVATORY_DETAIL:-}" ] && jq -c '.tests | to_entries[] | {(.key): [.value.result, .value.scoreModifier]}' <<<"$out"
  if [ "$grade" != "A+" ]; then
    status=1
    jq -c '.tests | to_entries[] | select(.value.pass != true) | {test: .key, result: .value.result}' <<<"$out" || true
  fi
done
exit $status
