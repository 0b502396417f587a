#!/bin/sh
# Installs the build into a temporary prefix and uses it as an outside user
# would:
#  1. every public header of include/pq3/ is installed and compiles on its
#     own (C11, -Wpedantic -Werror; also as C++ when a C++ compiler is
#     present), so each one includes what it needs and nothing internal;
#  2. pkg-config: a program built with `pkg-config --cflags --libs openpq3`
#     against the shared library runs;
#  3. CMake: a separate project finds the package with find_package(OpenPQ3)
#     (CMAKE_PREFIX_PATH = the prefix), refuses it for the next minor
#     version, and links one program with OpenPQ3::openpq3 (shared) and one
#     with OpenPQ3::openpq3_static (static, OpenSSL found by the package);
#     both run.
# Usage: install_check.sh BUILD_DIR SOURCE_DIR [CMAKE [C_COMPILER]]
set -eu
build=$1 src=$2 cmake=${3:-cmake} cc=${4:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
passed=0
fail() { echo "install_check: FAIL: $*"; exit 1; }

"$cmake" --install "$build" --prefix "$prefix" >/dev/null
pcdir=$(ls -d "$prefix"/lib*/pkgconfig | head -n 1)
libdir=$(dirname "$pcdir")
version=$(sed -n 's/^Version: //p' "$pcdir/openpq3.pc")
[ -n "$version" ] || fail "no Version in openpq3.pc"

# ---- 1. every public header, alone ----------------------------------------
cxx=$(command -v c++ || true)
n=0
for h in "$src"/include/pq3/*.h; do
  name=$(basename "$h")
  [ -f "$prefix/include/pq3/$name" ] || fail "header $name is not installed"
  unit="$tmp/header_${name%.h}.c"
  printf '#include <pq3/%s>\ntypedef int install_check_unit;\n' "$name" > "$unit"
  "$cc" -std=c11 -Wall -Wextra -Wpedantic -Werror -I"$prefix/include" -c -o "$tmp/h.o" \
    "$unit" || fail "pq3/$name does not compile on its own (C)"
  if [ -n "$cxx" ]; then
    "$cxx" -x c++ -std=c++11 -Wall -Wextra -Werror -I"$prefix/include" -c -o "$tmp/h.o" \
      "$unit" || fail "pq3/$name does not compile on its own (C++)"
  fi
  n=$((n + 1))
done
[ "$n" -gt 0 ] || fail "no public headers found in $src/include/pq3"
passed=$((passed + n))

# ---- the program both builds use ------------------------------------------
cat > "$tmp/use.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <pq3/common.h>
#include <pq3/crypto.h>
#include <pq3/padme.h>
int main(void)
{
    /* FIPS 180-4 example: SHA-384("abc") */
    static const char want[] = "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded163"
                               "1a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7";
    uint8_t h[PQ3_SHA384_BYTES], priv[PQ3_ECDSA_PRIV_BYTES], pub[PQ3_ECDSA_PUB_BYTES];
    uint8_t sig[PQ3_ECDSA_SIG_BYTES];
    pq3_ecdsa_pub vk;
    char hex[2 * PQ3_SHA384_BYTES + 1];

    if (strcmp(pq3_strerror(PQ3_ERR_DECODE), "malformed or non-canonical encoding") != 0)
        return 1;
    if (pq3_padme_length(100) != 104)
        return 2;
    if (pq3_sha384(h, (const uint8_t *)"abc", 3) != PQ3_OK)
        return 3;
    for (int i = 0; i < PQ3_SHA384_BYTES; i++)
        snprintf(hex + 2 * i, 3, "%02x", h[i]);
    if (strcmp(hex, want) != 0)
        return 4;
    if (pq3_ecdsa_keypair(priv, pub, NULL) != PQ3_OK ||
        pq3_ecdsa_sign(sig, priv, (const uint8_t *)"abc", 3) != PQ3_OK ||
        pq3_ecdsa_import(&vk, pub) != PQ3_OK ||
        pq3_ecdsa_verify(&vk, sig, (const uint8_t *)"abc", 3) != PQ3_OK ||
        pq3_ecdsa_verify(&vk, sig, (const uint8_t *)"abd", 3) != PQ3_ERR_VERIFY)
        return 5;
    pq3_wipe(priv, sizeof priv);
    return 0;
}
C

# ---- 2. pkg-config, shared library ------------------------------------------
export PKG_CONFIG_PATH="$pcdir"
"$cc" -o "$tmp/use_pc" "$tmp/use.c" $(pkg-config --define-prefix --cflags --libs openpq3)
LD_LIBRARY_PATH="$libdir" "$tmp/use_pc" || fail "pkg-config program exited with $?"
passed=$((passed + 1))

# ---- 3. CMake package ---------------------------------------------------------
major=${version%%.*}
rest=${version#*.}
minor=${rest%%.*}
next="$major.$((minor + 1))"
# Before 1.0 a minor version may break the API: an older minor is refused
# too (SameMinorVersion); from 1.0 on the same major suffices.
older=
if [ "$major" -eq 0 ] && [ "$minor" -gt 0 ]; then older="0.$((minor - 1))"; fi
proj=$tmp/cmake-user
mkdir "$proj"
cp "$tmp/use.c" "$proj/use.c"
cat > "$proj/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.20)
project(openpq3_user C)
# The version file: this release does not satisfy a request for the next
# minor version.
find_package(OpenPQ3 $next QUIET)
if(OpenPQ3_FOUND)
  message(FATAL_ERROR "OpenPQ3 \${OpenPQ3_VERSION} accepted for a request of $next")
endif()
if(NOT "$older" STREQUAL "")
  find_package(OpenPQ3 $older QUIET)
  if(OpenPQ3_FOUND)
    message(FATAL_ERROR "OpenPQ3 \${OpenPQ3_VERSION} accepted for a request of $older")
  endif()
endif()
find_package(OpenPQ3 $version REQUIRED)
if(NOT OpenPQ3_VERSION VERSION_EQUAL "$version")
  message(FATAL_ERROR "OpenPQ3_VERSION is \${OpenPQ3_VERSION}, expected $version")
endif()
# The package found is the one just installed.
get_filename_component(found "\${OpenPQ3_DIR}" REALPATH)
get_filename_component(expect "$prefix" REALPATH)
string(FIND "\${found}" "\${expect}/" at)
if(NOT at EQUAL 0)
  message(FATAL_ERROR "found OpenPQ3 in \${found}, not under \${expect}")
endif()
add_executable(use_shared use.c)
target_link_libraries(use_shared PRIVATE OpenPQ3::openpq3)
add_executable(use_static use.c)
target_link_libraries(use_static PRIVATE OpenPQ3::openpq3_static)
EOF
"$cmake" -S "$proj" -B "$proj/build" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_C_COMPILER="$cc" >"$tmp/cmake.log" 2>&1 || { cat "$tmp/cmake.log"; fail "configure"; }
passed=$((passed + 1))
"$cmake" --build "$proj/build" >"$tmp/cmake.log" 2>&1 || { cat "$tmp/cmake.log"; fail "build"; }
# The shared program finds the installed library through its build RPATH.
"$proj/build/use_shared" || fail "use_shared exited with $?"
"$proj/build/use_static" || fail "use_static exited with $?"
passed=$((passed + 2))
# Each links what its target says.
if command -v readelf >/dev/null; then
  readelf -d "$proj/build/use_shared" | grep -q 'NEEDED.*libopenpq3\.so' ||
    fail "use_shared does not load libopenpq3.so"
  if readelf -d "$proj/build/use_static" | grep -q 'NEEDED.*libopenpq3'; then
    fail "use_static loads libopenpq3.so"
  fi
  readelf -d "$proj/build/use_static" | grep -q 'NEEDED.*libcrypto' ||
    fail "use_static is not linked with libcrypto"
  passed=$((passed + 3))
fi
echo "install_check: $passed passed, 0 failed ($n headers, pkg-config, CMake package $version)"
