#!/usr/bin/env bash
# Do the two clocks agree with each other and with theory? The same runs on the
# real clock (CPU worker threads, delays as sleeps cut short by a cancel) and on
# the virtual clock calibrated with --unit-cost-ms auto, n = 8 (s = 1) and n = 16
# (s = 3), three straggler models, every code; each run reports its mean step, the
# ideal master's expected step (bound_step_s) and its efficiency (bound / mean;
# efficiency_same_draws: the ideal master on the run's own draws / mean).
# Small model (MLP 64-32-10 on synthetic data, batch 128): a task computes in
# ~0.1 ms, so n threads on 2 cores measure the delay model (delays of several ms,
# >= 100x the master's 20 us polling interval), not core contention.
# Real-clock timings: run at normal priority under the bench lock.
#
# SCALE multiplies every delay (default 1): at n = 16 the 16 threads' computes
# share 2 cores (~1 ms of wall per step), which larger delays make relatively small.
#
# NS lists the n to run (default "8 16"). Each run takes the bench lock; to hold it
# once for the whole series run `flock /tmp/ct-bench.lock env CT_BENCH_LOCKED=1 ...`.
#
# usage: [SCALE=K] [STEPS=N] [NS="8 16"] bench/clock_agreement.sh [BUILD_DIR] [OUT_DIR]
set -euo pipefail
build="${1:-build}"
out="${2:-bench/results/clock_agreement}"
scale="${SCALE:-1}"
steps="${STEPS:-400}"
lock=(flock /tmp/ct-bench.lock)
[ "${CT_BENCH_LOCKED:-0}" = 1 ] && lock=()
mkdir -p "$out"
codes=uncoded,ignore,frep,cyclic,cyclic-mds,expander,bgc,sgc,erasurehead
x() { python3 -c "print($1 * $scale)"; }
models=("shifted-exp:$(x 2),$(x 8)" "pareto:2,$(x 4)" "bimodal:0.2,$(x 24)+shifted-exp:$(x 1),$(x 2)")
names=(shifted-exp pareto bimodal)
for n in ${NS:-8 16}; do
  s=$(( n == 8 ? 1 : 3 ))
  for i in 0 1 2; do
    for clock in virtual real; do
      dir="$out/n${n}_${names[$i]}_${clock}"
      echo "### n=$n s=$s straggle=${models[$i]} clock=$clock"
      "${lock[@]}" "$build/codedtrain" compare --codes "$codes" --device cpu \
        --dataset synthetic:60000,64,10 --model mlp:64-32-10 --batch 128 --workers $n --stragglers $s \
        --load $((s + 1)) --straggle "${models[$i]}" --clock $clock --unit-cost-ms auto --max-steps $steps \
        --epochs 1 --seed 1 --out "$dir" --json > "$dir.json"
    done
  done
done
python3 "$(dirname "$0")/clock_agreement_table.py" "$out"
