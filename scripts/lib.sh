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
