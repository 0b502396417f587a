#!/bin/sh
# Installs the build into a temporary prefix and builds a program against it
# through pkg-config, linking the shared library: the install rules, the .pc
# file and the public headers must work for an outside user.
# Usage: install_check.sh BUILD_DIR
set -eu
build=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
libdir=$(ls -d "$tmp"/prefix/lib*/pkgconfig | head -n 1)
export PKG_CONFIG_PATH="$libdir"
cat > "$tmp/use.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <pq3/common.h>
#include <pq3/padme.h>
int main(void)
{
    if (strcmp(pq3_strerror(PQ3_ERR_DECODE), "success") == 0)
        return 1;
    if (pq3_padme_length(100) != 104)
        return 1;
    puts("install_check: 1 passed, 0 failed");
    return 0;
}
C
cc -o "$tmp/use" "$tmp/use.c" $(pkg-config --define-prefix --cflags --libs openpq3)
LD_LIBRARY_PATH="$(dirname "$libdir")" "$tmp/use"
for h in common.h crypto.h mlkem.h padme.h identity.h prekey.h session.h; do
  [ -f "$tmp/prefix/include/pq3/$h" ] || { echo "missing installed header $h"; exit 1; }
done
