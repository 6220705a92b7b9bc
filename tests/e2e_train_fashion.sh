#!/usr/bin/env bash
# End to end: `codedtrain train` on Fashion-MNIST, 2 epochs, CPU backend, reaches
# test accuracy >= 0.84, and its JSON Lines log has the documented records.
set -u
bin="$1"
data=/usr/share/datasets/fashion-mnist
[ -d "$data" ] || { echo "SKIP: $data not installed (make deps installs dataset-fashion-mnist)"; exit 77; }
tmp="${CT_TEST_TMPDIR:-/tmp}/e2e_train_fashion.$$"
mkdir -p "$tmp" && trap 'rm -rf "$tmp"' EXIT
"$bin" train --device cpu --epochs 2 --log "$tmp/run.jsonl" --progress lines --target-acc 0.99 || { echo "FAIL: train exited $?"; exit 1; }
python3 - "$tmp/run.jsonl" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
epochs = [r for r in recs if r["type"] == "epoch"]
final = recs[-1]
fails = []
if len(epochs) != 2: fails.append(f"expected 2 epoch records, got {len(epochs)}")
for r in epochs:
    for k in ("epoch", "time_s", "train_loss", "test_acc"):
        if k not in r: fails.append(f"epoch record lacks {k}: {r}")
if final.get("type") != "final": fails.append(f"last record is not final: {final}")
for k in ("time_s", "test_acc", "steps", "samples_per_s", "device", "time_to_target_s"):
    if k not in final: fails.append(f"final record lacks {k}")
if final.get("time_to_target_s", 0) is not None: fails.append("target 0.99 cannot be reached in 2 epochs, time_to_target_s must be null")
acc = final.get("test_acc", 0)
if not acc >= 0.84: fails.append(f"test accuracy {acc} < 0.84")
if epochs and not epochs[-1]["train_loss"] < epochs[0]["train_loss"] * 1.05: fails.append("training loss did not go down")
print("final test accuracy", acc)
for f in fails: print("FAIL:", f)
sys.exit(1 if fails else 0)
PY
