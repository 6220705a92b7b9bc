#!/usr/bin/env bash
# kill -9 during checkpoint writing never leaves an unreadable checkpoint: a
# training run saving after every step (a 1.9M-parameter model, 15 MB files) is
# killed at random moments, ten times, each time resuming from what the last one
# left; after every kill the checkpoint loads (`train --resume` accepts it) and
# leftover temporary files are never taken for it.
set -u
bin="$1"
tmp="${CT_TEST_TMPDIR:-/tmp}/e2e_ckpt_kill.$$"
if ! "$bin" train --help 2>/dev/null | grep -q -- '--checkpoint-every'; then
    echo "SKIP: codedtrain train has no --checkpoint-every yet"
    exit 77
fi
mkdir -p "$tmp" && trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails+1)); }
ck="$tmp/run.st"
flags=(--device cpu --threads 1 --dataset synthetic:4000,784,10 --model mlp:784-1024-1024-10 --epochs 50 --batch 32
       --seed 11 --progress off)
RANDOM=20240611
kills=0
for round in $(seq 1 10); do
    resume=()
    [ -f "$ck" ] && resume=(--resume "$ck")
    "$bin" train "${flags[@]}" "${resume[@]}" --checkpoint "$ck" --checkpoint-every 1 > /dev/null 2> "$tmp/err" &
    pid=$!
    # wait for the first checkpoint of this round, then a random 0-400 ms more
    before=$(stat -c %Y.%s "$ck" 2>/dev/null || echo none)
    for _ in $(seq 1 600); do
        now=$(stat -c %Y.%s "$ck" 2>/dev/null || echo none)
        [ "$now" != "$before" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    sleep "0.$(printf '%03d' $((RANDOM % 400)))"
    kill -9 "$pid" 2>/dev/null && kills=$((kills+1))
    wait "$pid" 2>/dev/null
    [ -f "$ck" ] || { fail "round $round: no checkpoint at all"; cat "$tmp/err"; continue; }
    # the checkpoint loads: a resume that stops at once (its step count is already >= 1)
    "$bin" train "${flags[@]}" --resume "$ck" --max-steps 1 --epochs 1 > /dev/null 2> "$tmp/err2" \
        || { fail "round $round: the checkpoint left by kill -9 does not load"; cat "$tmp/err2"; }
    leftovers=$(ls "$tmp" | grep -c '\.tmp\.' || true)
    [ "$leftovers" -gt 0 ] && echo "round $round: killed mid-write ($leftovers temporary file(s) left, ignored)"
    rm -f "$tmp"/run.st.tmp.*
done
[ "$kills" -ge 8 ] || fail "only $kills of 10 runs were still running when killed"
echo "$kills kills; $fails failed"
[ "$fails" = 0 ]
