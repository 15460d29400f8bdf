#!/usr/bin/env bash
# Peak resident memory of bulwark while it receives 16 MiB uploads, 1 and 8
# at a time, on local disk: the body is streamed to storage, never held.
# Needs: go, curl, python3. Only 127.0.0.1 is targeted.
#
#   scripts/upload-rss.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/scripts/lib.sh"
work=$(mktemp -d)
trap 'kill "${pid:-0}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
(cd "$root" && go build -o "$work/bulwark" ./cmd/bulwark)
python3 - "$work/big.png" <<'PY'
import struct, sys, zlib
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
png += chunk(b"IDAT", zlib.compress(b"\x00\x00\x00\x00")) + chunk(b"IEND", b"")
open(sys.argv[1], "wb").write(png + b"\x00" * (16 * 1024 * 1024 - len(png) - 4096))
PY
export DATA_DIR="$work/data" SECRET_KEY=0f9e8d7c6b5a49382716051f2e3d4c5b6a79880f1e2d3c4b5a69788796a5b4c3 LOG_LEVEL=error
export RATELIMIT_DEFAULT="100000 per minute" UPLOAD_QUOTA=1GiB
echo "copper meadow lantern thistle" | "$work/bulwark" user create --email rss@example.com --name RSS >/dev/null
key=$("$work/bulwark" apikey create --email rss@example.com --name rss --scope files:write 2>/dev/null)
measure() { # parallel uploads
  local n=$1 port
  port=$(free_port)
  ADDR=127.0.0.1:$port "$work/bulwark" serve 2>/dev/null & pid=$!
  wait_for "http://127.0.0.1:$port/healthz"
  local before; before=$(awk '/VmHWM/{print $2}' /proc/$pid/status)
  for _ in $(seq "$n"); do
    curl -s -o /dev/null -w '%{http_code}\n' -H "X-API-Key: $key" -F "file=@$work/big.png;filename=big.png" \
      "http://127.0.0.1:$port/api/files" >>"$work/codes" &
  done
  wait $(jobs -p | grep -v "^$pid$") 2>/dev/null || true
  local peak; peak=$(awk '/VmHWM/{print $2}' /proc/$pid/status)
  printf '%d parallel 16 MiB uploads: peak RSS %d MiB (idle %d MiB); statuses: %s\n' "$n" $((peak / 1024)) $((before / 1024)) "$(sort "$work/codes" | uniq -c | tr '\n' ' ')"
  : >"$work/codes"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}
measure 1
measure 8
