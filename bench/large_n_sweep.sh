#!/usr/bin/env bash
# Large-n sweep on the virtual clock: time to 85% test accuracy of every code and
# its ratio to uncoded, n = 16, 64, 256, heavy delays (mean delay = 10 x one
# partition slice's compute), shifted-exponential and Pareto (alpha 1.5).
# MLP 784-256-10 on Fashion-MNIST, batch 256 at every n (256/n samples per
# partition), lr 0.05, momentum 0.9, seed 1, 0.05 ms per sample; s = sqrt(n) - 1
# stragglers (so frep's groups of s+1 divide n) and d = s + 1 for every code
# that takes them. The virtual clock computes each step as one weighted pass
# (gradient_path in the logs), so n = 256 costs about what one worker does.
# Writes OUT/<model>_n<N>/ (compare logs, CSV, plot) and OUT/sweep.csv, OUT/sweep.png.
#
# usage: bench/large_n_sweep.sh [BUILD_DIR] [OUT_DIR]
set -euo pipefail
build="${1:-build}"
out="${2:-bench/results/large_n_sweep}"
mkdir -p "$out"
batch=256; unit=0.05
codes=uncoded,ignore,frep,cyclic,cyclic-mds,sgc,bgc,erasurehead
for n in 16 64 256; do
  s=$(python3 -c "import math; print(int(math.isqrt($n)) - 1)")
  slice_ms=$(python3 -c "print($unit * $batch / $n)")
  mean=$(python3 -c "print(10 * $slice_ms)")
  for model in shifted-exp pareto; do
    if [ $model = shifted-exp ]; then spec="shifted-exp:0,$mean"
    else spec="pareto:1.5,$(python3 -c "print($mean / 3)")"; fi   # Pareto mean = scale * alpha / (alpha - 1)
    dir="$out/${model}_n$n"
    echo "### n=$n s=$s straggle=$spec (slice compute $slice_ms ms)"
    /usr/bin/time -f "%e s wall" "$build/codedtrain" compare --codes "$codes" --device cpu --workers $n \
      --stragglers $s --load $((s + 1)) --batch $batch --clock virtual --unit-cost-ms $unit --straggle "$spec" \
      --target-acc 0.85 --eval-every 20 --epochs 8 --seed 1 --out "$dir" --json > "$dir.json"
  done
done
python3 "$(dirname "$0")/large_n_sweep_table.py" "$out"
