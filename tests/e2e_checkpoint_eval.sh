#!/usr/bin/env bash
# `codedtrain eval --checkpoint FILE`: the test accuracy of a saved model equals
# the one the training run reported for the same parameters; --json carries
# test_acc, samples, checkpoint and step; a corrupted or truncated checkpoint
# is refused with exit 2 and one message. Needs Fashion-MNIST (Debian package
# dataset-fashion-mnist) and `train --checkpoint`.
set -u
bin="$1"
data="${CT_FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}"
tmp="${CT_TEST_TMPDIR:-/tmp}/e2e_ckpt_eval.$$"
if ! "$bin" train --help 2>/dev/null | grep -q -- '--checkpoint'; then
    echo "SKIP: codedtrain train has no --checkpoint yet"
    exit 77
fi
[ -d "$data" ] || { echo "SKIP: no Fashion-MNIST at $data"; exit 77; }
mkdir -p "$tmp" && trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails+1)); }

"$bin" train --device cpu --threads 2 --data "$data" --model mlp:784-32-10 --epochs 1 --max-steps 40 --seed 3 \
    --progress lines --checkpoint "$tmp/m.st" > "$tmp/train.out" || fail "train exited $?"
train_acc=$(sed -n 's/^final: test_acc \([0-9.]*\).*/\1/p' "$tmp/train.out")
"$bin" eval --checkpoint "$tmp/m.st" --data "$data" --device cpu > "$tmp/eval.out" || fail "eval exited $?"
eval_acc=$(sed -n 's/^test_acc \([0-9.]*\) .*/\1/p' "$tmp/eval.out")
[ -n "$train_acc" ] && [ "$train_acc" = "$eval_acc" ] || fail "eval says '$eval_acc', training said '$train_acc'"
"$bin" eval --checkpoint "$tmp/m.st" --data "$data" --device cpu --json > "$tmp/eval.json" || fail "eval --json exited $?"
grep -q '"samples":10000' "$tmp/eval.json" && grep -q '"step":40' "$tmp/eval.json" && grep -q '"test_acc":0\.' "$tmp/eval.json" \
    || { fail "eval --json output"; cat "$tmp/eval.json"; }

size=$(stat -c %s "$tmp/m.st")
refuse() { # what file
    "$bin" eval --checkpoint "$2" --data "$data" --device cpu > "$tmp/out" 2> "$tmp/err"
    local rc=$?
    [ "$rc" = 2 ] || fail "$1: exit $rc, expected 2"
    [ "$(wc -l < "$tmp/err")" = 1 ] || { fail "$1: expected one line on stderr"; cat "$tmp/err"; }
    [ -s "$tmp/out" ] && fail "$1: printed a result"
    grep -q "$2" "$tmp/err" || fail "$1: the message does not name the file"
}
for cut in 0 7 100 $((size / 2)) $((size - 1)); do
    head -c "$cut" "$tmp/m.st" > "$tmp/cut.st"
    refuse "truncated to $cut bytes" "$tmp/cut.st"
done
for at in 3 50 $((size / 2)) $((size - 1)); do
    cp "$tmp/m.st" "$tmp/flip.st"
    printf '\x7f' | dd of="$tmp/flip.st" bs=1 seek="$at" conv=notrunc status=none
    refuse "byte $at overwritten" "$tmp/flip.st"
done
refuse "missing file" "$tmp/absent.st"
echo "$fails failed"
[ "$fails" = 0 ]
