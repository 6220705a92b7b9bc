#!/usr/bin/env bash
# A small CNN trains from the CLI under every code path: uncoded, an exact code
# with stragglers (cyclic), 1-bit compression with error feedback, asynchronous
# LDGM, a CMAB policy and an approximate code (BGC); each run must exit 0 and
# reach a test accuracy far above chance (0.25) on seeded synthetic data seen
# as 1x6x6 images. A virtual-clock run repeated gives the same log bit for bit,
# a CNN checkpoint resumes, and the CIFAR net trains on CIFAR-10 binary files
# (generated here; augmented).
set -u
bin="$1"
tmp="${CT_TEST_TMPDIR:-/tmp}/e2e_cnn.$$"
mkdir -p "$tmp" && trap 'rm -rf "$tmp"' EXIT
fails=0
common=(--device cpu --dataset synthetic:3000,36,4 --model cnn:1x6x6:c4k3p1-r-m2-f16-r-4 --clock virtual
        --epochs 3 --progress off --seed 2 --threads 1)
run() { # name, extra flags...
    local name="$1"; shift
    if ! "$bin" train "${common[@]}" --log "$tmp/$name.jsonl" "$@" > "$tmp/$name.out" 2>&1; then
        echo "FAIL: $name exited non-zero: $(tail -2 "$tmp/$name.out")"; fails=$((fails+1)); return
    fi
    python3 - "$tmp/$name.jsonl" "$name" <<'PY' || fails=$((fails+1))
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
final = [r for r in recs if r.get("type") == "final"]
steps = [r for r in recs if r.get("type") == "step" and r.get("loss") is not None]
ok = bool(final) and final[0]["test_acc"] >= 0.8 and steps and steps[-1]["loss"] < steps[0]["loss"]
print("%-8s test_acc %.4f, step loss %.4f -> %.4f: %s" % (sys.argv[2], final[0]["test_acc"] if final else -1,
      steps[0]["loss"] if steps else -1, steps[-1]["loss"] if steps else -1, "ok" if ok else "FAIL"))
sys.exit(0 if ok else 1)
PY
}
run uncoded
run cyclic --workers 6 --code cyclic --stragglers 2 --straggle shifted-exp:0,1
run sign-ef --workers 6 --code frep --stragglers 1 --compress sign-ef --lr 0.01
run ldgm --workers 10 --code ldgm --stragglers 2 --async --max-staleness 2 --deadline-ms 2 --straggle shifted-exp:0,1
run cmab --workers 8 --policy cmab --k 5 --straggle shifted-exp:0,1
run bgc --workers 8 --code bgc --stragglers 2 --straggle shifted-exp:0,1

# the virtual clock fixes the log
"$bin" train "${common[@]}" --workers 6 --code cyclic --stragglers 2 --straggle shifted-exp:0,1 \
    --log "$tmp/again.jsonl" > /dev/null 2>&1
if ! cmp -s "$tmp/cyclic.jsonl" "$tmp/again.jsonl"; then echo "FAIL: repeated virtual-clock CNN run differs"; fails=$((fails+1)); fi

# a CNN checkpoint resumes (tensor names and shapes are checked by e2e_checkpoint_safetensors)
if ! "$bin" train "${common[@]}" --epochs 1 --checkpoint "$tmp/c.st" > /dev/null 2>&1 ||
   ! "$bin" train "${common[@]}" --epochs 2 --resume "$tmp/c.st" > "$tmp/resume.out" 2>&1; then
    echo "FAIL: CNN checkpoint/resume: $(tail -2 "$tmp/resume.out" 2>/dev/null)"; fails=$((fails+1))
fi
# the CIFAR net from the CLI on CIFAR-10 binary files (3x32x32 from the loader):
# a small generated set whose classes differ in their mean colour
mkdir -p "$tmp/cifar"
python3 - "$tmp/cifar" <<'PY'
import os, random, sys
random.seed(3)
def batch(path, n):
    with open(path, "wb") as f:
        for i in range(n):
            label = i % 4
            base = [40 + 50 * label, 200 - 40 * label, 120]
            rec = bytearray([label])
            for ch in range(3):
                rec += bytes(max(0, min(255, base[ch] + random.randint(-60, 60))) for _ in range(1024))
            f.write(rec)
for b in range(1, 6):
    batch(os.path.join(sys.argv[1], "data_batch_%d.bin" % b), 64)
batch(os.path.join(sys.argv[1], "test_batch.bin"), 64)
PY
if "$bin" train --device cpu --dataset cifar10 --data "$tmp/cifar" --model cifarnet --epochs 2 --batch 32 --lr 0.02 \
       --augment crop:2+flip --progress off --threads 1 --log "$tmp/cifar.jsonl" > "$tmp/cifar.out" 2>&1; then
    python3 - "$tmp/cifar.jsonl" <<'PY' || fails=$((fails+1))
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
final = [r for r in recs if r.get("type") == "final"][0]
ok = final["test_acc"] >= 0.5  # 4 classes present: chance is 0.25
print("cifarnet on generated CIFAR-10 files: test_acc %.3f: %s" % (final["test_acc"], "ok" if ok else "FAIL"))
sys.exit(0 if ok else 1)
PY
else
    echo "FAIL: cifarnet train: $(tail -2 "$tmp/cifar.out")"; fails=$((fails+1))
fi
echo "$fails failed"
[ "$fails" = 0 ]
