#!/usr/bin/env bash
# The GPU path's hang hazards, caught without a GPU: training on --device
# cpu-streams (the CPU ops under CUDA's stream semantics: asynchronous streams,
# device-wide waits on allocation, free, teardown and first kernel use) with
# dead workers that spin until cancelled. A hang is a failure (timeout), not a
# wait. Also: the same virtual-clock run is bit-identical on cpu and cpu-streams.
# CT_E2E_DEVICE=cuda runs the same scenarios on a GPU (bench/gpu_check.sh does).
set -u
bin="$1"
dev="${CT_E2E_DEVICE:-cpu-streams}"
tmp="${CT_TEST_TMPDIR:-/tmp}/e2e_cpu_streams.$$"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
fails=0
common=(--device "$dev" --dataset synthetic:4000,16,4 --model mlp:16-8-4 --epochs 1 --progress off)

# name, expected exit code, then the train arguments
check() {
    local name="$1" want="$2"
    shift 2
    local t0=$(date +%s)
    timeout 60 "$bin" train "${common[@]}" "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    echo "$name: exit $rc after $(( $(date +%s) - t0 ))s $(tail -c 300 "$tmp/err")"
    if [ "$rc" = 124 ]; then
        echo "FAIL: $name hung (killed after 60 s)"
        fails=$((fails+1))
    elif [ "$rc" != "$want" ]; then
        echo "FAIL: $name: expected exit $want, got $rc"
        fails=$((fails+1))
    fi
}

# a dead worker nobody cancels: teardown must cancel every throttle before freeing anything
check "dead worker, --cancel-late off" 0 --workers 4 --code cyclic --stragglers 1 --straggle drop:2 --cancel-late off
# a dead worker with cancellation: the uncoded run reports it and exits 1
check "dead worker, uncoded" 1 --workers 4 --code uncoded --straggle drop:2 --deadline-ms 300
grep -q "never answered: 2" "$tmp/err" || { echo "FAIL: the message does not name worker 2"; fails=$((fails+1)); }
# asynchronous peeling keeps late (here: dead) workers running across steps
check "async ldgm, dead worker" 0 --workers 8 --code ldgm --async --deadline-ms 20 --straggle drop:2
# least squares at the deadline: its buffers exist before any throttle spins
check "async ldgm --lossy lsq, two dead" 0 --workers 8 --stragglers 2 --code ldgm --async --deadline-ms 20 \
    --lossy lsq --straggle drop:0,2
# finite delays, nobody cancelled: late workers finish on their own
check "shifted-exp delays, --cancel-late off" 0 --workers 4 --code cyclic --stragglers 1 \
    --straggle shifted-exp:1,3 --cancel-late off
# 1-bit messages and the general path through asynchronous streams
check "sign-ef, general path, dead worker" 0 --workers 6 --code frep --stragglers 1 --general-path \
    --compress sign-ef --straggle drop:1
# UEP-coded backprop on a pool of stream workers, real throttles and cancellation
check "train --uep on cpu-streams workers" 0 --workers 1 --uep ew --uep-workers 6 --uep-device "$dev" \
    --clock real --uep-deadline 1 --uep-time-scale-ms 1

# the virtual clock: the same run, bit for bit, on both CPU backends
[ "$dev" = cpu-streams ] || { echo "$fails failed"; [ "$fails" = 0 ]; exit; }
v=(--dataset synthetic:4000,16,4 --model mlp:16-8-4 --epochs 1 --progress off --clock virtual --seed 3
   --workers 8 --code cyclic --stragglers 2 --straggle shifted-exp:1,2)
timeout 60 "$bin" train --device cpu "${v[@]}" --log "$tmp/cpu.jsonl" || { echo "FAIL: virtual run on cpu"; fails=$((fails+1)); }
timeout 60 "$bin" train --device cpu-streams "${v[@]}" --log "$tmp/cs.jsonl" || { echo "FAIL: virtual run on cpu-streams"; fails=$((fails+1)); }
# the configuration record names the device used; every other record must match
for f in cpu cs; do grep -v '"type":"config"' "$tmp/$f.jsonl" | sed 's/"device":"[^"]*"//' >"$tmp/$f.cmp"; done
if [ -s "$tmp/cpu.cmp" ] && cmp -s "$tmp/cpu.cmp" "$tmp/cs.cmp"; then
    echo "virtual clock: cpu and cpu-streams logs identical ($(wc -l <"$tmp/cpu.cmp") records besides the configuration)"
else
    echo "FAIL: virtual-clock logs differ between cpu and cpu-streams"
    diff "$tmp/cpu.cmp" "$tmp/cs.cmp" | head -5
    fails=$((fails+1))
fi
echo "$fails failed"
[ "$fails" = 0 ]
