#!/usr/bin/env bash
# Training throughput of the uncoded single-worker step: codedtrain vs PyTorch,
# same model, batch, thread count and machine, in one invocation.
#
# usage: bench/train_throughput.sh [BUILD_DIR] [THREADS] [STEPS]
# Prints a markdown table (samples/s). CUDA rows appear when a GPU is usable.
set -euo pipefail
build="${1:-build}"
threads="${2:-$(nproc)}"
steps="${3:-400}"
bin="$build/codedtrain"
here="$(cd "$(dirname "$0")" && pwd)"
# Debian's python3-torch lives in the system python; prefer it when plain python3 lacks torch
py=python3
python3 -c "import torch" 2>/dev/null || { [ -x /usr/bin/python3 ] && /usr/bin/python3 -c "import torch" 2>/dev/null && py=/usr/bin/python3; } || true
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# Fashion-MNIST from elsewhere (a carried copy, bench/gpu_check.sh): CT_DATA_DIR
data=(); [ -n "${CT_DATA_DIR:-}" ] && data=(--data "$CT_DATA_DIR")

devices="cpu"
if "$bin" train --device cuda --dataset synthetic:512,8,2 --model logreg --epochs 1 --progress off >/dev/null 2>&1; then devices="cpu cuda"; fi

echo "| model | batch | device | threads | codedtrain samples/s | PyTorch samples/s | ratio |"
echo "|---|---|---|---|---|---|---|"
for model in 784-256-10 784-512-512-10; do
  for dev in $devices; do
    OPENBLAS_NUM_THREADS="$threads" "$bin" train "${data[@]}" --device "$dev" --threads "$threads" --model "mlp:$model" --batch 256 --epochs 1 \
      --max-steps "$steps" --progress off --log "$tmp/ct.jsonl" >/dev/null
    ours=$(python3 -c 'import json,sys; print(round(json.loads(open(sys.argv[1]).readlines()[-1])["samples_per_s"]))' "$tmp/ct.jsonl")
    # same thread count for every pool the peer has (intra-op, OpenMP, OpenBLAS)
    peer_json=$(OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads" \
      $py "$here/peers/torch_mlp.py" --model "$model" --batch 256 --steps "$steps" --threads "$threads" --device "$dev")
    peer=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(round(d["samples_per_s"]) if "samples_per_s" in d else "skipped: "+d["skipped"])' "$peer_json")
    ratio=$(python3 -c 'import sys
try: print(f"{float(sys.argv[1])/float(sys.argv[2]):.2f}")
except ValueError: print("-")' "$ours" "$peer")
    echo "| $model | 256 | $dev | $threads | $ours | $peer | $ratio |"
  done
done
