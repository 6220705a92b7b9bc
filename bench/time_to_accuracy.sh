#!/usr/bin/env bash
# Time to 85% test accuracy on the virtual clock: n = 16 workers, MLP 784-256-10 on
# Fashion-MNIST, batch 256 (16 samples per partition), every code side by side
# (codedtrain compare). Two delay scenarios, shifted-exponential with shift 0:
#   equal: mean delay = the compute time of one partition slice (the issue's setting)
#   heavy: mean delay = 10 x that
# Writes each scenario's table, CSV, plot and logs under OUT/<scenario>/.
#
# usage: bench/time_to_accuracy.sh [BUILD_DIR] [OUT_DIR]
set -euo pipefail
build="${1:-build}"
out="${2:-bench/results/time_to_accuracy}"
n=16; batch=256; unit=0.05
per_part=$((batch / n))
slice_ms=$(python3 -c "print($unit * $per_part)")   # compute time of one partition slice
mkdir -p "$out"
for scenario in equal heavy; do
  mean=$slice_ms; [ "$scenario" = heavy ] && mean=$(python3 -c "print(10 * $slice_ms)")
  echo "### scenario $scenario: shifted-exp:0,$mean (slice compute $slice_ms ms)"
  "$build/codedtrain" compare --codes uncoded,ignore,frep,cyclic,cyclic-mds,expander,bgc,sgc,erasurehead \
    --device cpu --workers $n --stragglers 3 --load 4 --batch $batch --clock virtual --unit-cost-ms $unit \
    --straggle "shifted-exp:0,$mean" --target-acc 0.85 --eval-every 20 --epochs 6 --out "$out/$scenario" \
    --progress off
done
