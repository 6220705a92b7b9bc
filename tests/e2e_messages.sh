#!/usr/bin/env bash
# Each failure expect what happened (issue 17): a worker returning NaN is named and
# its steps skipped; divergence expect so with the step and a hint; dead workers
# are not waited for; a run that applied no update does not exit 0; resumes
# compare the saved configuration; refused combinations are bad input (exit 2);
# a checkpoint with a NaN weight is refused on load.
source "$(dirname "$0")/robust_common.sh"
run=(train --device cpu --threads 1 --dataset synthetic:2000,16,4 --model mlp:32 --epochs 1 --progress off --seed 5)

# NaN worker, alone: its first steps are skipped (logged as such), then it is named dead
expect 1 "no live worker left: worker 0 returned non-finite results 3 times in a row and was marked dead" -- \
    "${run[@]}" --straggle nan:0 --max-steps 10 --log nan0.jsonl
[ "$(grep -c '"skipped":true' nan0.jsonl)" = 3 ] || fail "nan:0: expected 3 skipped steps in the log"; grep -q '"faulty":1' nan0.jsonl || fail "nan:0: faulty not logged"
# NaN worker among 4 under uncoded: named as marked dead, not "never answered: none ... 60 s cap"
expect 1 "code uncoded could not decode.*marked dead after repeated non-finite results.*: 1$|: 1 \(" -- \
    "${run[@]}" --workers 4 --straggle nan:1 --max-steps 10
grep -q "60 s safety cap" err && fail "nan:1 still blames the 60 s cap"
# NaN worker under a code that tolerates it: decoded around, exit 0
expect 0 "" -- "${run[@]}" --workers 5 --code cyclic-mds --stragglers 1 --straggle nan:3 --clock virtual
# divergence on real data (Fashion-MNIST from the Debian package)
if [ -d /usr/share/datasets/fashion-mnist ]; then
    expect 1 "training diverged at step [0-9]+.*try a smaller --lr \(now 1000\)" -- \
        train --device cpu --threads 1 --lr 1000 --epochs 1 --progress off --max-steps 60
fi
expect 1 "training diverged at (epoch 1 )?step [0-9]+.*try a smaller --lr" -- "${run[@]}" --lr 1000

# dead workers are not waited for: ignore with 2 of 4 dropped finishes its steps (real clock)
expect 0 "" -- "${run[@]}" --workers 4 --code ignore --stragglers 1 --straggle drop:1,2 --max-steps 2
# every worker dropped: no update applied is a failure, not train_loss 0.0000
expect 1 "no update was applied: all 2 steps were skipped" -- \
    "${run[@]}" --workers 4 --code ignore --stragglers 1 --straggle drop:0,1,2,3 --max-steps 2 --clock virtual --progress lines
grep -q "loss 0.0000" out && fail "a run with no step applied printed loss 0.0000"

# resume: past --epochs refused; changed flags named, the breaking ones refused
"$bin" "${run[@]}" --workers 4 --code cyclic --stragglers 1 --clock virtual --checkpoint r.st >/dev/null 2>err || { fail "checkpoint run"; cat err; }
expect 2 "already finished 1 epoch.*--epochs 1: nothing to train" -- "${run[@]}" --workers 4 --code cyclic --stragglers 1 --clock virtual --resume r.st
expect 2 "--batch 128 -> 64, --workers 4 -> 5" -- "${run[@]}" --epochs 2 --workers 5 --batch 64 --code cyclic --stragglers 1 --clock virtual --resume r.st
expect 2 "--code cyclic -> frep" -- "${run[@]}" --epochs 2 --workers 4 --code frep --stragglers 1 --clock virtual --resume r.st
expect 2 "--clock virtual -> real" -- "${run[@]}" --epochs 2 --workers 4 --code cyclic --stragglers 1 --resume r.st
expect 0 "warning: --resume r.st: changed since the checkpoint: --lr 0.05 -> 0.1, --straggle none -> slow:1@2" -- \
    "${run[@]}" --epochs 2 --workers 4 --code cyclic --stragglers 1 --clock virtual --lr 0.1 --straggle slow:1@2 --resume r.st

# refused combinations and values: exit 2 before any work
expect 2 "--uep with --checkpoint" -- train --device cpu --dataset synthetic:200,8,3 --model mlp:8 --uep ew --checkpoint u.st
[ -e u.st ] && fail "--uep --checkpoint wrote a checkpoint"
expect 2 "--alpha 0: must be in \(0, 1\]" -- "${run[@]}" --workers 4 --code alpha-cyclic --alpha 0
expect 2 "--alpha 0: must be in \(0, 1\]" -- "${run[@]}" --workers 4 --code alpha-subset --alpha 0

# a checkpoint with a NaN weight and a valid checksum is refused by train --resume and eval
"$bin" "${run[@]}" --checkpoint n.st >/dev/null 2>err || { fail "checkpoint run"; cat err; }
python3 - n.st <<'PY'
import struct, sys, zlib
p = sys.argv[1]; b = bytearray(open(p, "rb").read())
n = struct.unpack("<Q", b[:8])[0]
at = 8 + b[8:8 + n].index(b"crc32:") + 6
b[at:at + 8] = b"00000000"
b[8 + n:8 + n + 4] = struct.pack("<f", float("nan"))  # the first weight
b[at:at + 8] = b"%08x" % (zlib.crc32(bytes(b)) & 0xffffffff)
open(p, "wb").write(b)
PY
expect 2 "checkpoint n.st: parameter 0 is nan" -- "${run[@]}" --epochs 2 --resume n.st
expect 2 "checkpoint n.st: parameter 0 is nan" -- eval --checkpoint n.st

finish
