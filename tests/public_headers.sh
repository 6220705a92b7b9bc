#!/usr/bin/env bash
# The public API is self-contained: every header under include/codedtrain compiles
# alone (as C11 and, when a C++ compiler is there, as C++), with only include/ on the
# include path, so a third party needs nothing from src/.
# usage: public_headers.sh C_COMPILER SOURCE_DIR [CXX_COMPILER]
set -u
cc="$1"; src="$2"; cxx="${3:-}"
[ -n "$cxx" ] || cxx=$(command -v g++ || command -v clang++ || true)
tmp="${CT_TEST_TMPDIR:-/tmp}/public_headers.$$"
mkdir -p "$tmp" && trap 'rm -rf "$tmp"' EXIT
fails=0; count=0
for h in "$src"/include/codedtrain/*.h; do
    name="codedtrain/$(basename "$h")"
    count=$((count+1))
    # twice in a row: the include guard holds
    printf '#include "%s"\n#include "%s"\nint ct_public_header_probe;\n' "$name" "$name" >"$tmp/probe.c"
    if ! "$cc" -std=c11 -Wall -Wextra -Werror -pedantic -fsyntax-only -I "$src/include" "$tmp/probe.c" \
        2>"$tmp/err"; then
        echo "FAIL: $name does not compile alone as C11:"; cat "$tmp/err"; fails=$((fails+1)); continue
    fi
    if [ -n "$cxx" ]; then
        cp "$tmp/probe.c" "$tmp/probe.cpp"
        if ! "$cxx" -std=c++17 -Wall -Werror -fsyntax-only -I "$src/include" "$tmp/probe.cpp" 2>"$tmp/err"; then
            echo "FAIL: $name does not compile alone as C++:"; cat "$tmp/err"; fails=$((fails+1)); continue
        fi
    fi
    echo "ok: $name"
done
[ "$count" -gt 0 ] || { echo "FAIL: no headers under $src/include/codedtrain"; exit 1; }
[ "$fails" -eq 0 ] || exit 1
