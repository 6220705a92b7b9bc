#!/usr/bin/env bash
# Time to 85% test accuracy on the virtual clock: n = 16 workers, shifted-
# exponential delays whose mean equals the per-partition compute time, every
# code side by side (codedtrain compare). Writes the table, CSV and plot to OUT.
#
# usage: bench/time_to_accuracy.sh [BUILD_DIR] [OUT_DIR]
set -euo pipefail
build="${1:-build}"
out="${2:-bench/results/time_to_accuracy}"
n=16; batch=256; unit=0.05
per_part=$((batch / n))
mean=$(python3 -c "print($unit * $per_part)")   # ms: the compute time of one partition slice
"$build/codedtrain" compare --codes uncoded,ignore,frep,cyclic,cyclic-mds,expander,bgc,sgc,erasurehead \
  --device cpu --workers $n --stragglers 3 --load 4 --batch $batch --clock virtual --unit-cost-ms $unit \
  --straggle "shifted-exp:0,$mean" --target-acc 0.85 --eval-every 20 --epochs 6 --out "$out"
