#!/usr/bin/env bash
# `cmake --install` into a temporary prefix, then examples/train_cyclic.c built against
# the installed package only (no source tree on any path): with find_package (the shared
# and the static imported target) and with pkg-config. Each build runs, and its losses
# must be finite and decrease from round to round while the step count grows.
set -u
bin="$1"
build=$(cd "$(dirname "$bin")" && pwd)
src="${CT_SOURCE_DIR:?CT_SOURCE_DIR not set}"
tmp="${CT_TEST_TMPDIR:-/tmp}/e2e_install.$$"
mkdir -p "$tmp" && trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails+1)); }
prefix="$tmp/prefix"
# a sanitizer build's library needs its consumers built the same way
san=""
[ "${CT_SANITIZE:-OFF}" = ON ] && san="-fsanitize=address,undefined"

if ! cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1; then
    cat "$tmp/install.log"; echo "FAIL: cmake --install"; exit 1
fi
for f in bin/codedtrain include/codedtrain/train.h lib/libcodedtrain.a lib/libcodedtrain.so \
         lib/cmake/codedtrain/codedtrainConfig.cmake lib/pkgconfig/codedtrain.pc; do
    [ -e "$prefix/$f" ] || fail "not installed: $f"
done
soname=$(readelf -d "$prefix/lib/libcodedtrain.so" 2>/dev/null | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
[ -n "$soname" ] && [ -e "$prefix/lib/$soname" ] || fail "libcodedtrain.so has no SONAME or $soname is not installed"

# check NAME BINARY: run it in a fresh directory, three rounds, and check its output
check() {
    local name="$1" exe="$2" run="$tmp/run_$1"
    mkdir -p "$run"
    if ! (cd "$run" && "$exe" "$run/ck.safetensors" 3) >"$run/out" 2>&1; then
        cat "$run/out"; fail "$name: the example exited nonzero"; return
    fi
    if ! python3 - "$run/out" >"$run/py" 2>&1 <<'PY'
import math, sys
rows = [l.split() for l in open(sys.argv[1]) if l.startswith("epoch ")]
assert len(rows) == 3, "expected 3 rounds, got %d" % len(rows)
loss = [float(r[3]) for r in rows]
steps = [int(r[7]) for r in rows]
assert all(math.isfinite(x) and x > 0 for x in loss), "loss not finite and positive: %s" % loss
assert loss[0] > loss[1] > loss[2], "loss does not decrease: %s" % loss
assert steps[0] > 0 and steps[1] == 2 * steps[0] and steps[2] == 3 * steps[0], "steps %s" % steps
print("losses", loss, "steps", steps)
PY
    then cat "$run/out"; fail "$name: $(tail -1 "$run/py")"; return; fi
    echo "ok: $name: $(cat "$run/py")"
}

# find_package, shared and static: a project of our own around the installed example
mkdir -p "$tmp/fp"
cp "$src/examples/train_cyclic.c" "$tmp/fp/"
cat >"$tmp/fp/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.24)
project(ct_install_probe LANGUAGES C)
find_package(codedtrain 0.1 REQUIRED)
add_executable(ex_shared train_cyclic.c)
target_link_libraries(ex_shared PRIVATE codedtrain::codedtrain)
add_executable(ex_static train_cyclic.c)
target_link_libraries(ex_static PRIVATE codedtrain::codedtrain_static)
CM
if cmake -S "$tmp/fp" -B "$tmp/fp/build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_C_FLAGS="$san" -DCMAKE_EXE_LINKER_FLAGS="$san" >"$tmp/fp.log" 2>&1 && cmake --build "$tmp/fp/build" >>"$tmp/fp.log" 2>&1; then
    check find_package_shared "$tmp/fp/build/ex_shared"
    ldd "$tmp/fp/build/ex_shared" | grep -q "$prefix/lib/libcodedtrain.so" || fail "ex_shared does not load the installed library"
    check find_package_static "$tmp/fp/build/ex_static"
    ldd "$tmp/fp/build/ex_static" | grep -q libcodedtrain && fail "ex_static loads libcodedtrain.so"
else
    cat "$tmp/fp.log"; fail "find_package build"
fi

# the examples/ project itself, as a user would build it
if cmake -S "$src/examples" -B "$tmp/ex" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_FLAGS="$san" \
        -DCMAKE_EXE_LINKER_FLAGS="$san" >"$tmp/ex.log" 2>&1 &&
        cmake --build "$tmp/ex" >>"$tmp/ex.log" 2>&1; then
    check examples_project "$tmp/ex/train_cyclic"
else
    cat "$tmp/ex.log"; fail "examples/CMakeLists.txt build"
fi

# pkg-config
if command -v pkg-config >/dev/null 2>&1; then
    flags=$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs codedtrain) || fail "pkg-config codedtrain"
    case "$flags" in *"$src/include"*|*"$src/src"*) fail "pkg-config flags point into the source tree: $flags";; esac
    if cc $san -Wall -Wextra -Werror -o "$tmp/ex_pc" "$src/examples/train_cyclic.c" $flags -Wl,-rpath,"$prefix/lib" \
            2>"$tmp/pc.log"; then
        check pkg_config "$tmp/ex_pc"
    else
        cat "$tmp/pc.log"; fail "pkg-config build"
    fi
else
    fail "pkg-config not found (Debian package pkgconf)"
fi
[ "$fails" -eq 0 ]
