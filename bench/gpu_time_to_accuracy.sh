#!/usr/bin/env bash
# Time to 85% test accuracy on a GPU with REAL throttling: n = 8 workers as CUDA
# streams, shifted-exponential delays injected by the throttle kernel on each
# worker's stream, every code side by side (issue 4 goal: best code <= 0.6x
# uncoded). Needs a GPU; prints why and exits 0 without one. Writes the table,
# CSV, plot and logs under OUT, plus the GPU, driver and CUDA version.
#
# usage: bench/gpu_time_to_accuracy.sh [BUILD_DIR] [OUT_DIR] [MEAN_DELAY_MS]
set -euo pipefail
build="${1:-build}"
out="${2:-bench/results/gpu_time_to_accuracy}"
mean="${3:-2}"
bin="$build/codedtrain"
if ! "$bin" train --device cuda --dataset synthetic:512,8,2 --model logreg --epochs 1 --progress off >/dev/null 2>&1; then
  echo "no usable CUDA GPU: nothing measured"; exit 0
fi
mkdir -p "$out"
# Fashion-MNIST from elsewhere (a carried copy, bench/gpu_check.sh): CT_DATA_DIR
data=(); [ -n "${CT_DATA_DIR:-}" ] && data=(--data "$CT_DATA_DIR")
{
  echo "GPU: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null || echo unknown)"
  echo "CUDA: $(nvcc --version 2>/dev/null | tail -1 || echo unknown)"
  echo "date: $(date -u +%Y-%m-%d)"
  echo "command: $0 $*"
} > "$out/machine.txt"
"$bin" compare "${data[@]}" --codes uncoded,ignore,frep,cyclic,cyclic-mds,expander,erasurehead \
  --device cuda --workers 8 --stragglers 1 --batch 256 --clock real \
  --straggle "shifted-exp:0,$mean" --target-acc 0.85 --eval-every 20 --epochs 8 --out "$out" | tee "$out/table.txt"
cat "$out/machine.txt"
