#!/usr/bin/env bash
# Bad input: each case exits 2 with one message naming the input and the problem,
# never crashes, and leaves no log file behind.
set -u
bin="$1"
tmp="${CT_TEST_TMPDIR:-/tmp}/e2e_bad_input.$$"
mkdir -p "$tmp" && trap 'rm -rf "$tmp"' EXIT
fails=0

# expect_fail STATUS PATTERN -- ARGS...: exit STATUS, stderr matches PATTERN, no log written
expect_fail() {
    local want="$1" pattern="$2"; shift 3
    rm -f "$tmp/log.jsonl"
    "$bin" "$@" --log "$tmp/log.jsonl" >"$tmp/out" 2>"$tmp/err"
    local got=$?
    if [ "$got" != "$want" ]; then echo "FAIL: '$*' exited $got, expected $want"; cat "$tmp/err"; fails=$((fails+1)); return; fi
    if ! grep -qE -- "$pattern" "$tmp/err"; then echo "FAIL: '$*' stderr lacks /$pattern/:"; cat "$tmp/err"; fails=$((fails+1)); return; fi
    if [ "$(wc -l <"$tmp/err")" -gt 2 ]; then echo "FAIL: '$*' printed more than one error:"; cat "$tmp/err"; fails=$((fails+1)); fi
    if [ -e "$tmp/log.jsonl" ]; then echo "FAIL: '$*' left a log file behind"; fails=$((fails+1)); fi
    echo "ok: $* -> $(head -1 "$tmp/err")"
}

expect_fail 2 "unknown option '--bogus'" -- train --bogus
expect_fail 2 "--epochs 'x'" -- train --epochs x
expect_fail 2 "--epochs 0" -- train --epochs 0
expect_fail 2 "--lr 'abc'" -- train --lr abc
expect_fail 2 "--device 'tpu'" -- train --device tpu
expect_fail 2 "--model 'mlp:784-0-10'" -- train --device cpu --model mlp:784-0-10 --dataset synthetic:200,784,10
expect_fail 2 "--model 'resnet'" -- train --device cpu --model resnet --dataset synthetic:200,8,3
expect_fail 2 "784" -- train --device cpu --model mlp:784-64-10 --dataset synthetic:200,8,10
expect_fail 2 "no-such-dir" -- train --device cpu --data "$tmp/no-such-dir"
expect_fail 2 "synthetic" -- train --device cpu --dataset synthetic:10,x

# a directory with a truncated image file and a wrong-magic label file
mkdir -p "$tmp/bad"
python3 - "$tmp/bad" <<'PY'
import struct, sys, os
d = sys.argv[1]
def w(name, data): open(os.path.join(d, name), "wb").write(data)
# train images: header says 100 images of 28x28, holds 10
w("train-images-idx3-ubyte", struct.pack(">IIII", 0x803, 100, 28, 28) + bytes(7840))
w("train-labels-idx1-ubyte", struct.pack(">II", 0x801, 100) + bytes(100))
w("t10k-images-idx3-ubyte", struct.pack(">IIII", 0x803, 10, 28, 28) + bytes(7840))
w("t10k-labels-idx1-ubyte", struct.pack(">II", 0x999, 10) + bytes(10))
PY
expect_fail 2 "train-images-idx3-ubyte.*truncat" -- train --device cpu --data "$tmp/bad"
python3 - "$tmp/bad" <<'PY'
import struct, sys, os
d = sys.argv[1]
open(os.path.join(d, "train-images-idx3-ubyte"), "wb").write(struct.pack(">IIII", 0x803, 100, 28, 28) + bytes(78400))
PY
expect_fail 2 "t10k-labels-idx1-ubyte" -- train --device cpu --data "$tmp/bad"
python3 - "$tmp/bad" <<'PY'
import struct, sys, os
d = sys.argv[1]
# labels fixed; train label count disagrees with the image count
open(os.path.join(d, "t10k-labels-idx1-ubyte"), "wb").write(struct.pack(">II", 0x801, 10) + bytes(10))
open(os.path.join(d, "train-labels-idx1-ubyte"), "wb").write(struct.pack(">II", 0x801, 90) + bytes(90))
PY
expect_fail 2 "train-labels-idx1-ubyte|count|mismatch" -- train --device cpu --data "$tmp/bad"

# help and version succeed
"$bin" --version >/dev/null || { echo "FAIL: --version"; fails=$((fails+1)); }
"$bin" train --help | grep -q "examples:" || { echo "FAIL: train --help has no examples"; fails=$((fails+1)); }
"$bin" nosuchcommand 2>/dev/null; [ $? = 2 ] || { echo "FAIL: unknown command must exit 2"; fails=$((fails+1)); }

echo "$fails failed"
[ "$fails" = 0 ]
