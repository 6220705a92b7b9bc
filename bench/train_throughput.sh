#!/usr/bin/env bash
# Training throughput of the uncoded single-worker step: codedtrain vs PyTorch,
# same model, batch and machine, in one invocation.
#
# usage: bench/train_throughput.sh [BUILD_DIR] [MAX_THREADS]
# Prints a markdown table (samples/s). For each thread budget T (1 .. MAX_THREADS)
# codedtrain runs with T threads; PyTorch is tried in every combination of
# intra-op threads and OpenBLAS threads within T and its best is reported (with
# the combination), since on a small machine torch's default (intra-op threads =
# cores) can be several times slower than 1 intra-op thread over a threaded BLAS.
# CUDA rows appear when a GPU is usable.
set -euo pipefail
build="${1:-build}"
max_threads="${2:-$(nproc)}"
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

# model (codedtrain string) | peer string | batch | steps
models=("mlp:784-256-10|784-256-10|256|400"
        "mlp:784-512-512-10|784-512-512-10|256|200"
        "lenet5|cnn:1x28x28:c6k5p2-r-m2-c16k5-r-m2-f120-r-f84-r-10|128|60")

echo "| model | batch | device | threads | codedtrain samples/s | PyTorch best samples/s (intra-op x OpenBLAS threads) | PyTorch 1 intra-op, T OpenBLAS | PyTorch T intra-op (default) | ratio to best |"
echo "|---|---|---|---|---|---|---|---|---|"
for entry in "${models[@]}"; do
  IFS='|' read -r model peer_model batch steps <<< "$entry"
  for dev in $devices; do
    for ((t = 1; t <= max_threads; t++)); do
      OPENBLAS_NUM_THREADS="$t" "$bin" train "${data[@]}" --device "$dev" --threads "$t" --model "$model" --batch "$batch" --epochs 1 \
        --max-steps "$steps" --progress off --log "$tmp/ct.jsonl" >/dev/null
      ours=$(python3 -c 'import json,sys; print(round(json.loads(open(sys.argv[1]).readlines()[-1])["samples_per_s"]))' "$tmp/ct.jsonl")
      best=0; best_cfg="-"; one_t="-"; default_t="-"
      for ((intra = 1; intra <= t; intra++)); do
        for ((blas = 1; blas <= t; blas++)); do
          peer_json=$(OMP_NUM_THREADS="$blas" OPENBLAS_NUM_THREADS="$blas" MKL_NUM_THREADS="$blas" \
            $py "$here/peers/torch_mlp.py" --model "$peer_model" --batch "$batch" --steps "$steps" --warmup 5 \
            --threads "$intra" --device "$dev")
          sps=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(round(d["samples_per_s"]) if "samples_per_s" in d else 0)' "$peer_json")
          [ "$intra" = 1 ] && [ "$blas" = "$t" ] && one_t="$sps"
          [ "$intra" = "$t" ] && [ "$blas" = "$t" ] && default_t="$sps"
          if [ "$sps" -gt "$best" ]; then best="$sps"; best_cfg="${intra}x${blas}"; fi
        done
      done
      ratio=$(python3 -c 'import sys
try: print(f"{float(sys.argv[1])/float(sys.argv[2]):.2f}")
except (ValueError, ZeroDivisionError): print("-")' "$ours" "$best")
      echo "| $model | $batch | $dev | $t | $ours | $best ($best_cfg) | $one_t | $default_t | $ratio |"
    done
  done
done
