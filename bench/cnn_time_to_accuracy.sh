#!/usr/bin/env bash
# Time to 88% test accuracy for LeNet-5 on Fashion-MNIST on the virtual clock:
# n = 16 workers, batch 256 (16 samples per partition), every code side by side
# (codedtrain compare), as bench/time_to_accuracy.sh does for MLP 784-256-10.
# The unit cost per sample is the MLP table's 0.05 ms scaled by the models'
# compute ratio (LeNet-5 416,520 multiply-adds per sample forward vs 203,264
# for 784-256-10: 2.05x), i.e. 0.1 ms; the delays are the MLP table's in ms
# (shifted-exponential, shift 0): heavy = mean 8 ms, equal = mean 0.8 ms.
# Writes each scenario's table, CSV, plot and logs under OUT/<scenario>/.
#
# usage: bench/cnn_time_to_accuracy.sh [BUILD_DIR] [OUT_DIR] [SCENARIOS] [CODES]
set -euo pipefail
build="${1:-build}"
out="${2:-bench/results/cnn_time_to_accuracy}"
scenarios="${3:-heavy equal}"
codes="${4:-uncoded,ignore,frep,erasurehead,cyclic,bgc,cyclic-mds,expander,sgc}"
n=16; batch=256; unit=0.1
mkdir -p "$out"
for scenario in $scenarios; do
  mean=0.8; [ "$scenario" = heavy ] && mean=8
  echo "### scenario $scenario: shifted-exp:0,$mean, unit cost $unit ms per sample"
  "$build/codedtrain" compare --codes "$codes" --model lenet5 --lr 0.05 --lr-schedule cosine \
    --device cpu --workers $n --stragglers 3 --load 4 --batch $batch --clock virtual --unit-cost-ms $unit \
    --straggle "shifted-exp:0,$mean" --target-acc 0.88 --eval-every 50 --epochs 6 --out "$out/$scenario" \
    --progress off
done
