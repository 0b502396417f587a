#!/bin/sh
# Lists the dynamic symbols libopenpq3.so defines and fails on any that does not
# start with pq3_ (the whole public API carries the prefix; everything else is
# hidden). Usage: exported_symbols.sh NM LIBRARY
set -eu
nm=$1 lib=$2
all=$("$nm" -D --defined-only "$lib" | awk '$2 ~ /^[TDRBVW]$/ { print $3 }')
count=$(printf '%s\n' "$all" | grep -c '^pq3_' || true)
bad=$(printf '%s\n' "$all" | grep -v '^pq3_' | grep -v '^$' || true)
if [ -n "$bad" ]; then
  echo "symbols exported without the pq3_ prefix:"
  printf '%s\n' "$bad"
  echo "exported_symbols: 0 passed, 1 failed"
  exit 1
fi
if [ "$count" -lt 5 ]; then
  echo "only $count pq3_ symbols exported: the public API is missing"
  echo "exported_symbols: 0 passed, 1 failed"
  exit 1
fi
echo "exported_symbols: $count pq3_ symbols, none other"
echo "exported_symbols: 1 passed, 0 failed"
