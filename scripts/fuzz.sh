#!/usr/bin/env bash
# Runs every fuzz target of the module, one at a time, for SECONDS each, and
# prints a table: package, target, result, executions. Exits 1 if any target
# failed. Needs: go.
#
#   scripts/fuzz.sh SECONDS [PACKAGE...]     (default: ./...)
#
# FUZZ_PARALLEL=N sets the fuzzing workers per target (go test -parallel;
# default GOMAXPROCS). A failure's input is written by Go to
# PACKAGE/testdata/fuzz/FuzzName/<hash>; commit that file with the fix, and
# the target replays it in every plain `go test` run from then on. Inputs
# that only widen coverage stay in Go's cache (go env GOCACHE)/fuzz.
set -euo pipefail
if [ $# -lt 1 ] || ! [[ $1 =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 SECONDS [PACKAGE...]" >&2
  exit 2
fi
seconds=$1; shift
[ $# -gt 0 ] || set -- ./...
cd "$(dirname "$0")/.."

parallel=()
[ -n "${FUZZ_PARALLEL:-}" ] && parallel=(-parallel "$FUZZ_PARALLEL")
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

# Packages whose test files declare a fuzz target; go test -list then names
# the targets exactly as the test binary sees them (a cheap grep first, so
# packages without one are not compiled).
targets=()
while read -r pkg dir; do
  grep -qs '^func Fuzz' "$dir"/*_test.go || continue
  while read -r name; do
    [[ $name == Fuzz* ]] && targets+=("$pkg $name")
  done < <(go test -list '^Fuzz' "$pkg" 2>/dev/null)
done < <(go list -f '{{.ImportPath}} {{.Dir}}' "$@")
if [ ${#targets[@]} -eq 0 ]; then
  echo "no fuzz targets in $*" >&2
  exit 1
fi
echo "${#targets[@]} fuzz targets, ${seconds}s each"

# go test's -timeout covers the whole run, fuzzing included: give it the
# fuzzing time plus room to build and replay the corpus.
timeout=$((seconds + 600))s
module=$(go list -m)
rows=() failed=0 i=0
for t in "${targets[@]}"; do
  read -r pkg name <<<"$t"
  i=$((i + 1))
  log="$logs/$i.log"
  printf '[%d/%d] %s %s\n' "$i" "${#targets[@]}" "${pkg#"$module"/}" "$name"
  start=$SECONDS
  if go test -run '^$' -fuzz "^$name\$" -fuzztime "${seconds}s" -timeout "$timeout" "${parallel[@]}" "$pkg" >"$log" 2>&1; then
    result=ok
  else
    result=FAIL failed=$((failed + 1))
    sed 's/^/    /' "$log" | tail -40
    written=$(sed -n 's/.*Failing input written to \(testdata\/fuzz\/[^ ]*\).*/\1/p' "$log" | head -1)
    if [ -n "$written" ]; then
      echo "    input kept in $(go list -f '{{.Dir}}' "$pkg")/$written: commit it with the fix"
    fi
  fi
  execs=$(sed -n 's/.*execs: \([0-9]*\).*/\1/p' "$log" | tail -1)
  rows+=("$(printf '%-40s %-28s %-5s %12s %6ss' "${pkg#"$module"/}" "$name" "$result" "${execs:--}" $((SECONDS - start)))")
done

echo
printf '%-40s %-28s %-5s %12s %7s\n' PACKAGE TARGET RESULT EXECS TIME
printf '%s\n' "${rows[@]}"
echo
# The fuzzing time includes replaying the seeds and the inputs Go cached
# from earlier runs; a target with a large cache may not get past that.
if printf '%s\n' "${rows[@]}" | grep -q ' ok  *- '; then
  echo "EXECS -: the time went to replaying the corpus before fuzzing began; give it more seconds"
fi
if [ "$failed" -gt 0 ]; then
  echo "$failed of ${#targets[@]} fuzz targets failed"
  exit 1
fi
echo "all ${#targets[@]} fuzz targets passed"
