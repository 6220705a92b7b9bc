#!/usr/bin/env bash
# CMAB cost-efficient adaptive k-sync (docs/schemes.md, "CMAB"; issue 6):
# n = 20 workers whose response times are exponential with distinct means
# spread over 10x (2 ms .. 20 ms, geometric), virtual clock, Fashion-MNIST.
# Compares, at the same number of steps:
#   full-sync    every worker gets work, wait for all 20 (uncoded)
#   fastest-k    every worker gets work, wait for the fastest 5
#   adaptive-k   every worker gets work, wait for the fastest k_t (k schedule)
#   cmab         only k_t workers get work, chosen by the KL-LCB bandit
#   (+ cmab-ucb, and both adaptive policies with the `auto` schedule)
# and reports error (1 - test accuracy) against virtual wall time, against
# computations (tasks given) and against downlink (model copies sent; one per
# task, so the last two axes coincide in this engine), plus the bandit's
# cumulative regret against an oracle that knows the means (fixed k = 5).
#
# usage: bench/cmab_experiment.sh [BUILD_DIR] [OUT_DIR]
# env:   EPOCHS (20), MODEL (logreg), LR (0.01; momentum 0.9), DATA (Fashion-MNIST IDX dir),
#        SEED (1), THREADS (2)
set -euo pipefail
build="${1:-build}"
out="${2:-bench/results/cmab}"
epochs="${EPOCHS:-20}"
model="${MODEL:-logreg}"
lr="${LR:-0.01}"
data="${DATA:-/usr/share/datasets/fashion-mnist}"
seed="${SEED:-1}"
threads="${THREADS:-2}"
n=20; k0=5; batch=640; unit=0.05   # 32 samples per worker task: 1.6 ms of modeled compute
eval_every=31                        # 3 test evaluations per epoch (93 steps)
steps_per_epoch=$((60000 / n / (batch / n)))
# the shared k schedule: k0 = 5, +5 every quarter of the run
q=$((epochs * steps_per_epoch / 4))
sched="steps:5@0,10@$q,15@$((2 * q)),20@$((3 * q))"
means=$(python3 -c "print(','.join('%.4g' % (2.0 * 10 ** (i / 19)) for i in range($n)))")
straggle="exp-means:$means"

mkdir -p "$out"
common=(--dataset idx --data "$data" --model "$model" --lr "$lr" --device cpu --threads "$threads" --workers $n --batch $batch
        --clock virtual --unit-cost-ms $unit --straggle "$straggle" --epochs "$epochs" --eval-every $eval_every
        --seed "$seed" --progress off)
runs=()
run() {
  local name=$1; shift
  echo "== $name: $*"
  "$build/codedtrain" train "${common[@]}" "$@" --log "$out/$name.jsonl" > "$out/$name.txt"
  tail -1 "$out/$name.txt"
  runs+=("$name")
}
run full-sync       --policy all
run fastest-k       --policy fastest-k --k $k0
run adaptive-k      --policy adaptive-k --k-schedule "$sched"
run cmab            --policy cmab --k-schedule "$sched"
run cmab-ucb        --policy cmab-ucb --k-schedule "$sched"
run adaptive-k-auto --policy adaptive-k --k-schedule "auto:$k0,5"
run cmab-auto       --policy cmab --k-schedule "auto:$k0,5"
run cmab-k5         --policy cmab --k $k0
run cmab-ucb-k5     --policy cmab-ucb --k $k0

# JSON Lines -> one CSV per run (error against time, tasks, downlink), regret CSVs, summary table
python3 - "$out" "${runs[@]}" <<'EOF'
import json, sys, os
out, runs = sys.argv[1], sys.argv[2:]
curves = {}
for name in runs:
    steps, points = [], []
    with open(os.path.join(out, name + ".jsonl")) as f:
        recs = [json.loads(line) for line in f if line.strip()]
    tasks = down = 0
    cum = {}                        # step index -> cumulative (tasks, downlink) after it
    regret = []
    for r in recs:
        if r["type"] == "step":
            tasks += r["assigned"]
            down += r.get("downlink", r["assigned"])
            cum[r["step"] + 1] = (tasks, down)
            if "regret" in r:
                regret.append((r["step"] + 1, r["regret"], r.get("k", 0)))
        elif r["type"] in ("eval", "epoch") and r.get("test_acc", -1) >= 0:
            s = r.get("step", r.get("steps"))
            t, d = cum.get(s, (tasks, down))
            points.append((s, r["time_s"], t, d, 1.0 - r["test_acc"]))
    points.sort()
    with open(os.path.join(out, name + ".csv"), "w") as f:
        f.write("step,time_s,tasks,downlink,error\n")
        for p in points:
            f.write("%d,%.6f,%d,%d,%.5f\n" % p)
    if regret:
        with open(os.path.join(out, name + "_regret.csv"), "w") as f:
            f.write("step,regret_s,k\n")
            for s, g, k in regret:
                f.write("%d,%.6f,%d\n" % (s, g, k))
    curves[name] = (points, regret)

def at(points, col, x):
    """error of the last evaluation with points[col] <= x (None if none)"""
    best = None
    for p in points:
        if p[col] <= x: best = p[4]
    return best

# equal computation: the smallest total of tasks among the main runs
main = [r for r in ("full-sync", "fastest-k", "adaptive-k", "cmab", "cmab-ucb", "adaptive-k-auto", "cmab-auto", "cmab-k5") if r in curves]
budget = min(curves[r][0][-1][2] for r in main)
tbudget = min(curves[r][0][-1][1] for r in main)
target = max(curves[r][0][-1][4] for r in main)  # the worst final error: every run reaches it
def first(points, col):
    for p in points:
        if p[4] <= target: return p[col]
    return float("nan")
lines = ["| run | final error | virtual time (s) | tasks = downlink | error at %d tasks | error at %.2f s | tasks to error %.4f | time to error %.4f (s) | final regret (s) |"
         % (budget, tbudget, target, target),
         "|---|---|---|---|---|---|---|---|---|"]
for r in main + [x for x in runs if x not in main]:
    pts, reg = curves[r]
    last = pts[-1]
    e_budget = at(pts, 2, budget)
    e_time = at(pts, 1, tbudget)
    lines.append("| %s | %.4f | %.2f | %d | %s | %s | %.0f | %.2f | %s |" % (
        r, last[4], last[1], last[2], "%.4f" % e_budget if e_budget is not None else "-",
        "%.4f" % e_time if e_time is not None else "-", first(pts, 2), first(pts, 1),
        "%.3f" % reg[-1][1] if reg else "-"))
with open(os.path.join(out, "summary.md"), "w") as f:
    f.write("\n".join(lines) + "\n")
print("\n".join(lines))
EOF

# plots
plot_runs="full-sync fastest-k adaptive-k cmab adaptive-k-auto cmab-auto"
gp_series() {  # column (x) -> a gnuplot "plot" list over plot_runs
  local col=$1 first=1 s=""
  for r in $plot_runs; do
    [ $first -eq 1 ] || s+=", "
    s+="'$out/$r.csv' using $col:5 with linespoints ps 0.6 title '$r'"
    first=0
  done
  echo "$s"
}
gnuplot <<EOF
load '$(dirname "$0")/plot_styles.gp'
set datafile separator ','
set terminal pngcairo size 1800,520 font ',11'
set output '$out/error.png'
set multiplot layout 1,3 title 'n = $n, exponential response times (means 2..20 ms), $model on Fashion-MNIST, virtual clock'
set key top right
set ylabel 'error (1 - test accuracy)'
set grid
set xlabel 'virtual wall time (s)'
plot $(gp_series 2)
set xlabel 'computations (tasks given)'
plot $(gp_series 3)
set xlabel 'downlink (model copies sent)'
plot $(gp_series 4)
unset multiplot
EOF
gnuplot <<EOF
load '$(dirname "$0")/plot_styles.gp'
set datafile separator ','
set terminal pngcairo size 900,560 font ',11'
set output '$out/regret.png'
set title 'bandit cumulative regret vs an oracle that knows the means (k = 5 fixed; cmab: k schedule)'
set xlabel 'step'
set ylabel 'cumulative regret (s of expected step time)'
set key top left
set grid
plot '$out/cmab-k5_regret.csv' using 1:2 with lines lw 2 title 'cmab (KL-LCB), k = 5', \
     '$out/cmab-ucb-k5_regret.csv' using 1:2 with lines lw 2 title 'cmab-ucb, k = 5', \
     '$out/cmab_regret.csv' using 1:2 with lines lw 2 dt 2 title 'cmab, k schedule'
EOF
echo "wrote $out/summary.md, $out/error.png, $out/regret.png and per-run CSV/JSONL"
