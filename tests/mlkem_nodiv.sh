#!/bin/sh
# Fails when the compiled ML-KEM code (src/mlkem/*.c as built into
# pq3_objects) contains any division instruction: a hardware divide takes
# data-dependent time, and ML-KEM divides only by constants that must become
# multiplications. Fails too when no object file is found, so a moved build
# tree cannot make the check pass by checking nothing.
# Usage: mlkem_nodiv.sh OBJDUMP BUILD_DIR SOURCE_DIR
set -eu
objdump=$1 build=$2 src=$3
objdir="$build/CMakeFiles/pq3_objects.dir/src/mlkem"
n=0 bad=0 missing=0
for c in "$src"/src/mlkem/*.c; do
  o="$objdir/$(basename "$c").o"
  if [ ! -f "$o" ]; then
    echo "missing object file: $o"
    missing=$((missing + 1))
    continue
  fi
  n=$((n + 1))
  # Any x86 div/idiv form (divb/divw/divl/divq, idiv...) or the SSE/AVX
  # divisions (divss, divsd, vdivps, ...) or an AArch64 sdiv/udiv.
  hits=$("$objdump" -d --no-show-raw-insn "$o" |
         grep -Ei '^[[:space:]]*[0-9a-f]+:[[:space:]]+v?(i?div[bwlq]?|div[sp][sd]|[su]div)([[:space:]]|$)' || true)
  if [ -n "$hits" ]; then
    echo "division instruction in $(basename "$o"):"
    printf '%s\n' "$hits"
    bad=$((bad + 1))
  fi
done
if [ "$n" -eq 0 ] || [ "$missing" -gt 0 ]; then
  echo "mlkem_nodiv: no (or not all) ML-KEM object files under $objdir"
  echo "mlkem_nodiv: 0 passed, 1 failed"
  exit 1
fi
if [ "$bad" -gt 0 ]; then
  echo "mlkem_nodiv: 0 passed, 1 failed"
  exit 1
fi
echo "mlkem_nodiv: $n object files, no division instruction"
echo "mlkem_nodiv: 1 passed, 0 failed"
