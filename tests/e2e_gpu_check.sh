#!/usr/bin/env bash
# The one-command GPU check and its bundle, exercised without a GPU on every
# run: bench/gpu_check.sh (reusing this build) passes its build and CPU stages
# and says SKIPPED for every GPU stage; bench/gpu_bundle.sh --list names what it
# would fetch and fetches nothing.
set -u
bin="$1"
build="$(cd "$(dirname "$bin")" && pwd)"
src="${CT_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}"
tmp="${CT_TEST_TMPDIR:-/tmp}/e2e_gpu_check.$$"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails+1)); }
cd "$src" || exit 1

OUT="$tmp/out" CT_GPU=0 CT_BUILD="$build" CT_BUILD_REUSE=1 CT_BUNDLE="$tmp/no-bundle" \
    timeout 300 bench/gpu_check.sh >"$tmp/log" 2>&1
rc=$?
cat "$tmp/log"
[ "$rc" = 0 ] || fail "gpu_check.sh exited $rc"
sum="$tmp/out/summary.md"
[ -f "$sum" ] || fail "no summary.md"
for s in machine build cpu; do
    grep -q "^| $s | ok | 0 |" "$sum" || fail "stage $s did not pass"
done
for s in cuda_tests probes sanitizer kernels throughput tta; do
    grep -q "^| $s | SKIPPED: no usable GPU |" "$sum" || fail "GPU stage $s does not say SKIPPED"
done
grep -q "^| deps | SKIPPED: no carried packages" "$sum" || fail "deps without a bundle does not say SKIPPED"
for f in logs.tar.gz results.tar.gz; do [ -s "$tmp/out/$f" ] || fail "no $f in OUT"; done
tar tzf "$tmp/out/logs.tar.gz" | grep -q "logs/cpu.log" || fail "the cpu stage's log is not in logs.tar.gz"

bench/gpu_bundle.sh --list "$tmp/bundle" >"$tmp/list" 2>&1
rc=$?
cat "$tmp/list"
[ "$rc" = 0 ] || fail "gpu_bundle.sh --list exited $rc"
for p in libopenblas0-pthread liblapacke-dev zlib1g-dev libgfortran5 train-images-idx3-ubyte.gz; do
    grep -q "$p" "$tmp/list" || fail "the list does not name $p"
done
[ ! -e "$tmp/bundle" ] || fail "--list created the bundle folder"
echo "$fails failed"
[ "$fails" = 0 ]
