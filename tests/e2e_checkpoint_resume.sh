#!/usr/bin/env bash
# Checkpoint and resume (virtual clock): a run interrupted mid-epoch and resumed
# from its checkpoint ends with the same checkpoint file, byte for byte, and the
# same step log as an uninterrupted run (plain SGD messages and 1-bit messages
# with error feedback). A truncated or corrupted checkpoint, or one from another
# seed, is refused with exit 2 and a one-line message.
set -u
bin="$1"
tmp="${CT_TEST_TMPDIR:-/tmp}/e2e_ckpt_resume.$$"
if ! "$bin" train --help 2>/dev/null | grep -q -- '--resume'; then
    echo "SKIP: codedtrain train has no --checkpoint/--resume yet"
    exit 77
fi
mkdir -p "$tmp" && trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails+1)); }
flags=(--device cpu --threads 1 --dataset synthetic:3000,20,4 --model mlp:16 --epochs 3 --batch 64 --workers 4
       --code cyclic --stragglers 1 --straggle shifted-exp:1,3 --clock virtual --seed 7 --progress off)
steps() { grep '"type":"step"' "$@"; }

for variant in plain sign-ef; do
    extra=()
    [ "$variant" = sign-ef ] && extra=(--compress sign-ef)
    d="$tmp/$variant"
    mkdir -p "$d"
    "$bin" train "${flags[@]}" "${extra[@]}" --checkpoint "$d/full.st" --log "$d/full.jsonl" || fail "$variant: full run exited $?"
    # stop at step 70 (mid-epoch 2 of 46-step epochs), saving every 9 steps and at the end
    "$bin" train "${flags[@]}" "${extra[@]}" --max-steps 70 --checkpoint-every 9 --checkpoint "$d/part.st" \
        --log "$d/part.jsonl" || fail "$variant: interrupted run exited $?"
    "$bin" train "${flags[@]}" "${extra[@]}" --resume "$d/part.st" --checkpoint "$d/resumed.st" \
        --log "$d/resumed.jsonl" || fail "$variant: resumed run exited $?"
    cmp -s "$d/full.st" "$d/resumed.st" || fail "$variant: resumed run's final checkpoint differs from the uninterrupted one"
    steps "$d/full.jsonl" > "$d/a"
    { steps "$d/part.jsonl"; steps "$d/resumed.jsonl"; } > "$d/b"
    cmp -s "$d/a" "$d/b" || fail "$variant: step logs differ after resume"
    [ "$(wc -l < "$d/a")" -gt 100 ] || fail "$variant: too few step records"
done

# refusals: exit 2, one line on stderr, nothing trained
full="$tmp/plain/full.st"
size=$(stat -c %s "$full")
refuse() { # what file extra-flags...
    local what="$1" file="$2"
    shift 2
    "$bin" train "${flags[@]}" "$@" --resume "$file" > "$tmp/out" 2> "$tmp/err"
    local rc=$?
    [ "$rc" = 2 ] || fail "$what: exit $rc, expected 2"
    [ "$(wc -l < "$tmp/err")" = 1 ] || { fail "$what: expected one line on stderr"; cat "$tmp/err"; }
    grep -q "epoch" "$tmp/out" && fail "$what: it trained anyway"
}
head -c $((size / 2)) "$full" > "$tmp/trunc.st"
refuse "truncated checkpoint" "$tmp/trunc.st"
cp "$full" "$tmp/flip.st"
printf '\x55' | dd of="$tmp/flip.st" bs=1 seek=$((size - 10)) conv=notrunc status=none
refuse "corrupted checkpoint" "$tmp/flip.st"
grep -q "checksum" "$tmp/err" || fail "corrupted checkpoint: the message does not mention the checksum"
refuse "another seed" "$full" --seed 8
refuse "missing checkpoint" "$tmp/nope.st"
echo "$fails failed"
[ "$fails" = 0 ]
