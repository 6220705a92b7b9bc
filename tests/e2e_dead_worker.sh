#!/usr/bin/env bash
# An uncoded run with a dead worker must not hang: it reports the dead worker and
# exits 1 after the deadline (real clock), and likewise at once on the virtual clock.
set -u
bin="$1"
fails=0
start=$(date +%s)
timeout 120 "$bin" train --device cpu --dataset synthetic:2000,16,4 --model mlp:16-8-4 --workers 4 \
    --code uncoded --straggle drop:2 --deadline-ms 1500 --epochs 1 --progress off 2>"${CT_TEST_TMPDIR:-/tmp}/dead.err"
rc=$?
err=$(cat "${CT_TEST_TMPDIR:-/tmp}/dead.err")
echo "real clock: exit $rc after $(( $(date +%s) - start ))s: $err"
[ "$rc" = 1 ] || { echo "FAIL: expected exit 1, got $rc"; fails=$((fails+1)); }
echo "$err" | grep -q "never answered: 2" || { echo "FAIL: message does not name worker 2"; fails=$((fails+1)); }

timeout 120 "$bin" train --device cpu --dataset synthetic:2000,16,4 --model mlp:16-8-4 --workers 4 \
    --code uncoded --straggle drop:1 --clock virtual --epochs 1 --progress off 2>"${CT_TEST_TMPDIR:-/tmp}/dead.err"
rc=$?
err=$(cat "${CT_TEST_TMPDIR:-/tmp}/dead.err")
echo "virtual clock: exit $rc: $err"
[ "$rc" = 1 ] || { echo "FAIL: expected exit 1, got $rc"; fails=$((fails+1)); }
echo "$err" | grep -q "never answered: 1" || { echo "FAIL: message does not name worker 1"; fails=$((fails+1)); }

# a single worker runs on the master's own thread: dead, it must fail, not hang
timeout 60 "$bin" train --device cpu --dataset synthetic:2000,16,4 --model mlp:16-8-4 --workers 1 \
    --straggle drop:0 --epochs 1 --progress off 2>"${CT_TEST_TMPDIR:-/tmp}/dead.err"
rc=$?
echo "single worker: exit $rc: $(cat "${CT_TEST_TMPDIR:-/tmp}/dead.err")"
[ "$rc" = 1 ] || { echo "FAIL: a dead single worker: expected exit 1, got $rc"; fails=$((fails+1)); }

# the same dead worker is harmless to a code that tolerates it
timeout 120 "$bin" train --device cpu --dataset synthetic:2000,16,4 --model mlp:16-8-4 --workers 4 \
    --code cyclic --stragglers 1 --straggle drop:2 --deadline-ms 1500 --epochs 1 --progress off
rc=$?
[ "$rc" = 0 ] || { echo "FAIL: cyclic s=1 with one dead worker exited $rc"; fails=$((fails+1)); }
echo "$fails failed"
[ "$fails" = 0 ]
