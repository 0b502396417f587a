#!/bin/sh
# Runs one ProVerif model of formal/ and compares its RESULT lines with the
# model's own (* EXPECTPV ... END *) block (docs/FORMAL.md). ProVerif exits 0
# even when a property fails, so the RESULT lines are the verdict.
# usage: formal_check.sh PROVERIF LIBRARY MODEL.pv TIMEOUT_SECONDS
# exit: 0 all RESULT lines as expected; 1 mismatch (a changed, missing or
# extra RESULT line), syntax or type error, or timeout; 77 ProVerif absent.
pv=$1; lib=$2; model=$3; limit=${4:-120}
if [ -z "$pv" ] || ! command -v "$pv" >/dev/null 2>&1; then
  echo "SKIPPED: ProVerif not found ('$pv'); build it with ../shared/tools/build-proverif build/proverif or set -DPQ3_PROVERIF=..."
  exit 77
fi
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)
timeout "$limit" "$pv" -lib "$lib" "$model" >"$tmp/out" 2>&1
rc=$?
end=$(date +%s)
if [ "$rc" -eq 124 ]; then
  echo "FAIL $model: no verdict within $limit s"; exit 1
fi
if [ "$rc" -ne 0 ] || grep -q '^Error' "$tmp/out"; then
  tail -20 "$tmp/out"; echo "FAIL $model: ProVerif exit $rc (syntax, type or file error)"; exit 1
fi
sed -n '/^(\* EXPECTPV/,/^END \*)/p' "$model" | grep '^RESULT' >"$tmp/expected"
grep '^RESULT' "$tmp/out" >"$tmp/actual"
if [ ! -s "$tmp/expected" ]; then
  echo "FAIL $model: no RESULT line in its EXPECTPV block"; exit 1
fi
if cmp -s "$tmp/expected" "$tmp/actual"; then
  echo "OK $model: $(wc -l <"$tmp/actual") RESULT lines as expected, $((end - start)) s"
  exit 0
fi
echo "FAIL $model: RESULT lines differ from the EXPECTPV block (- expected, + actual)"
diff -u "$tmp/expected" "$tmp/actual" | sed -n '3,$p'
exit 1
