#!/bin/sh
# The include rules of docs/ARCHITECTURE.md ("Include rules"), checked on
# the sources: no arrow runs upward.
#   - src/crypto includes nothing of src/mlkem or src/protocol; src/mlkem
#     nothing of src/protocol; src/protocol nothing of src/mlkem.
#   - Inside src/protocol every module has a rank (below); a file may include
#     the internal header (protocol/X.h) and the public header (pq3/X.h) of
#     its own module and of modules of lower rank only.
#   - A public header includes only public headers of lower rank.
#   - identity.h, prekey.h and message.h build without session or peer
#     state (what a server needs).
# Usage: include_rules.sh SOURCE_DIR CC
set -eu
src=$1 cc=${2:-cc}
pass=0 fail=0
bad() { echo "FAIL $*"; fail=$((fail + 1)); }

# Ranks. Public: pq3/<name>.h; internal: protocol/<name>.h.
rank() {
  case $1 in
    common|crypto|mlkem|padme|codec|kdf|merkle|map|vrf|note) echo 0 ;;
    identity|sign|kt) echo 1 ;;
    prekey|account|keystore) echo 2 ;;
    message|wire) echo 3 ;;
    skipped) echo 4 ;;
    session|start|state) echo 5 ;;
    peer) echo 6 ;;
    device|client) echo 10 ;;
    *) echo 99 ;;
  esac
}

# 1. Layers.
for f in "$src"/src/crypto/*.[ch]; do
  if grep -Eq '#include "(mlkem|protocol)/' "$f"; then bad "$f includes an upper layer"; else pass=$((pass + 1)); fi
done
for f in "$src"/src/mlkem/*.[ch]; do
  if grep -Eq '#include "protocol/' "$f"; then bad "$f includes src/protocol"; else pass=$((pass + 1)); fi
done
for f in "$src"/src/protocol/*.[ch]; do
  if grep -Eq '#include "mlkem/' "$f"; then bad "$f includes ML-KEM internals"; else pass=$((pass + 1)); fi
done

# The device layer sits on the public headers only (docs/ARCHITECTURE.md).
for f in "$src"/src/device/*.[ch]; do
  [ -e "$f" ] || continue
  if grep -Eq '#include "(crypto|mlkem|protocol)/' "$f"; then bad "$f includes a library internal"; else pass=$((pass + 1)); fi
done

# The client of pq3d's protocol: public headers only as well.
for f in "$src"/src/client/*.[ch]; do
  [ -e "$f" ] || continue
  if grep -Eq '#include "(crypto|mlkem|protocol|device)/' "$f"; then bad "$f includes a library internal"; else pass=$((pass + 1)); fi
done
# src/wire is part of the pure library: it may use the codec, nothing above.
for f in "$src"/src/wire/*.[ch]; do
  [ -e "$f" ] || continue
  if grep -Eq '#include "(device|client)/|#include "pq3/(device|client|keystore|session|peer)\.h"' "$f"; then bad "$f includes an upper layer"; else pass=$((pass + 1)); fi
done
# src/transparency (the log and the map) is pure too: the codec and the
# crypto wrappers, nothing of the protocol's state or above.
for f in "$src"/src/transparency/*.[ch]; do
  [ -e "$f" ] || continue
  if grep -E '#include "protocol/' "$f" | grep -vq '"protocol/codec\.h"'; then
    bad "$f includes more of the protocol than its codec"
  elif grep -Eq '#include "(mlkem|device|client|wire)/|#include "pq3/(device|client|keystore|session|peer|skipped|wire)\.h"' "$f"; then
    bad "$f includes an upper layer"
  else
    pass=$((pass + 1))
  fi
done
# pq3d never uses the device layer or the client (docs/ARCHITECTURE.md).
for f in "$src"/server/*.[ch]; do
  [ -e "$f" ] || continue
  if grep -Eq '#include "(crypto|mlkem|protocol|device|client)/|#include "pq3/(device|client|keystore)\.h"' "$f"; then bad "$f includes the device layer, the client or an internal"; else pass=$((pass + 1)); fi
done

# 2. Ranks inside src/protocol.
for f in "$src"/src/protocol/*.[ch]; do
  mod=$(basename "$f" | sed 's/\.[ch]$//')
  r=$(rank "$mod")
  if [ "$r" = 99 ]; then bad "$f: module $mod has no rank (add it to this script and ARCHITECTURE.md)"; continue; fi
  for inc in $(sed -n 's/^#include "\(pq3\|protocol\)\/\([a-z0-9_]*\)\.h".*/\2/p' "$f"); do
    ir=$(rank "$inc")
    if [ "$ir" -gt "$r" ]; then bad "$f (rank $r) includes $inc.h (rank $ir)"; else pass=$((pass + 1)); fi
  done
done

# 3. Public headers.
for f in "$src"/include/pq3/*.h; do
  mod=$(basename "$f" .h)
  r=$(rank "$mod")
  if [ "$r" = 99 ]; then bad "$f: public header without a rank"; continue; fi
  for inc in $(sed -n 's/^#include "pq3\/\([a-z0-9_]*\)\.h".*/\1/p' "$f"); do
    ir=$(rank "$inc")
    if [ "$ir" -ge "$r" ] && [ "$inc" != "$mod" ] && [ "$r" -gt 0 ]; then
      bad "$f (rank $r) includes pq3/$inc.h (rank $ir)"
    else
      pass=$((pass + 1))
    fi
  done
  if grep -Eq '#include "(crypto|mlkem|protocol)/' "$f"; then bad "$f includes an internal header"; else pass=$((pass + 1)); fi
done

# 4. A server's view: the wire without the state.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/server.c" <<'C'
#include "pq3/identity.h"
#include "pq3/prekey.h"
#include "pq3/message.h"
#if defined(PQ3_SESSION_H) || defined(PQ3_PEER_H) || defined(PQ3_SKIPPED_H)
#error "the wire headers pull in session state"
#endif
int main(void) { pq3_message_info i; (void)i; return PQ3_MSG_START == 1 ? 0 : 1; }
C
if "$cc" -std=c11 -Wall -Werror -I"$src/include" -c "$tmp/server.c" -o "$tmp/server.o" 2>"$tmp/err"; then
  pass=$((pass + 1))
else
  cat "$tmp/err"; bad "identity.h + prekey.h + message.h need session state"
fi

echo "include_rules: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
