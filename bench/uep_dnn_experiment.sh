#!/usr/bin/env bash
# UEP-coded backprop on a DNN (issue 7; Tegin et al., JSAC 2022, the authors'
# MNIST setting on Fashion-MNIST): MLP 784-100-200-10, batch 64, lr 0.01, SGD
# without momentum. The forward pass is exact; every layer's dW = dZ^T X and
# dX = dZ W is a UEP-coded product over N = 15 workers (rxc blocks, 9 per
# product, Gamma = (0.40, 0.35, 0.25), k = (3, 3, 3)), one packet per worker
# and product after an Exp(lambda = 1) latency, deadline T per product, on the
# virtual clock. Schemes UEP-NOW, UEP-EW, EEP, uncoded for T in {0.5, 1, 2, inf},
# and exact (the 9 blocks on 9 workers, the master waits for all).
#
# Outputs under OUT: uep_dnn/<run>.jsonl (the train logs), uep_dnn/<run>.dat
# (step, virtual time, test accuracy), uep_dnn.png (accuracy against virtual
# time per deadline, and against steps), uep_dnn_table.md (the table).
#
# usage: bench/uep_dnn_experiment.sh [BUILD_DIR] [OUT_DIR] [EPOCHS] [JOBS]
#        (SKIP_RUNS=1: only redo the table and plot from the logs already there)
set -euo pipefail
export OPENBLAS_NUM_THREADS=1 # small GEMMs, and two runs share the 2 cores
build="${1:-build}"
out="${2:-bench/results}"
epochs="${3:-3}"
jobs="${4:-2}"
bin="$build/codedtrain"
dir="$out/uep_dnn"
mkdir -p "$dir"
common="--model mlp:784-100-200-10 --batch 64 --lr 0.01 --momentum 0 --epochs $epochs --seed 1 \
--device cpu --threads 1 --eval-every 100 --progress off --uep-workers 15 --uep-lambda 1 \
--uep-gamma 0.40,0.35,0.25 --uep-k 3,3,3 --uep-paradigm rxc"

# one line per run: name, scheme, deadline
{
  echo "exact exact inf"
  for T in 0.5 1 2 inf; do
    for s in now ew eep uncoded; do echo "${s}_T$T $s $T"; done
  done
} > "$dir/runs.txt"

start=$(date +%s)
export bin dir common
[ -n "${SKIP_RUNS:-}" ] || xargs -P "$jobs" -L 1 bash -c '
  name="$0" scheme="$1" T="$2"
  echo "+ $bin train $common --uep $scheme --uep-deadline $T --log $dir/$name.jsonl" >&2
  $bin train $common --uep "$scheme" --uep-deadline "$T" --log "$dir/$name.jsonl.tmp" >/dev/null
  mv "$dir/$name.jsonl.tmp" "$dir/$name.jsonl"
' < "$dir/runs.txt"
echo "wall time: $(( $(date +%s) - start )) s for $(wc -l < "$dir/runs.txt") runs, $jobs at a time" >&2

python3 - "$dir" "$out/uep_dnn_table.md" <<'EOF'
import json, sys, os
d, table = sys.argv[1], sys.argv[2]
runs = [l.split() for l in open(os.path.join(d, "runs.txt"))]
res = {}
for name, scheme, T in runs:
    recs = [json.loads(l) for l in open(os.path.join(d, name + ".jsonl"))]
    pts = [(0, 0.0, None)]
    for r in recs:
        if r["type"] == "eval": pts.append((r["step"], r["time_s"], r["test_acc"]))
        if r["type"] == "epoch": pts.append((r["steps"], r["time_s"], r["test_acc"]))
    pts.sort()
    with open(os.path.join(d, name + ".dat"), "w") as f:
        f.write("# step virtual_time_s test_acc\n")
        for s, t, a in pts[1:]: f.write(f"{s} {t:.6g} {a:.4f}\n")
    fin = [r for r in recs if r["type"] == "final"][0]
    res[name] = (scheme, T, pts, fin)

def acc_at(pts, budget):  # accuracy of the last evaluation by the budget
    a = None
    for s, t, acc in pts:
        if t <= budget and acc is not None: a = acc
    return a

budgets = (1000, 3000, 8000)
fmt = lambda a: "-" if a is None else f"{a:.4f}"
with open(table, "w") as f:
    f.write("| run | scheme | T | final acc | last 5 evals | virtual time (s) | time/step | energy recovered | "
            "grad rel err | grad cos | class decoded (0/1/2) | class energy share (0/1/2) | "
            + " | ".join(f"acc @ {b} s" for b in budgets) + " | wall (s) |\n")
    f.write("|---" * (13 + len(budgets)) + "|\n")
    for name, scheme, T in runs:
        sc, T, pts, fin = res[name]
        cd = "/".join(f"{x:.3f}" for x in fin["class_decoded"])
        cs = "/".join(f"{x:.3f}" for x in fin["class_energy_share"]) if scheme != "exact" else "-"
        last5 = [a for _, _, a in pts[1:]][-5:]  # evaluations fluctuate by ~0.01: smooth the end
        f.write(f"| {name} | {fin['uep_scheme']} | {T} | {fin['test_acc']:.4f} | {sum(last5) / len(last5):.4f} | "
                f"{fin['time_s']:.0f} | "
                f"{fin['mean_step_s']:.3f} | {fin['energy_recovered']:.4f} | {fin['grad_rel_err']:.4f} | "
                f"{fin['grad_cos']:.4f} | {cd} | {cs} | "
                + " | ".join(fmt(acc_at(pts, b)) for b in budgets) + f" | {fin['wall_s']:.1f} |\n")
print(open(table).read())
EOF

gnuplot <<EOF
load '$(dirname "$0")/plot_styles.gp'
set terminal pngcairo size 1500,950 font ',10' noenhanced
set output '$out/uep_dnn.png'
set multiplot layout 2,3 title 'UEP-coded backprop: MLP 784-100-200-10, Fashion-MNIST, batch 64, lr 0.01, N=15, Gamma=(0.40,0.35,0.25), k=(3,3,3), lambda=1, $epochs epochs'
set grid; set key bottom right; set ylabel 'test accuracy'; set yrange [0.55:0.88]
set xlabel 'virtual training time (s)'; set logscale x; set xrange [100:50000]
names = 'now ew eep uncoded'
titles = 'UEP-NOW UEP-EW EEP uncoded'
do for [T in '0.5 1 2 inf'] {
  set title 'deadline T = '.T
  plot for [s=1:4] '$dir/'.word(names, s).'_T'.T.'.dat' using 2:3 with linespoints lw 2 ps 0.6 lt s+1 title word(titles, s), \
       '$dir/exact.dat' using 2:3 with linespoints lw 2 ps 0.6 lt 11 title 'exact (wait for all 9)'
}
set title 'UEP-EW, every deadline'
plot for [i=1:4] '$dir/ew_T'.word('0.5 1 2 inf', i).'.dat' using 2:3 with linespoints lw 2 ps 0.6 lt i+1 title 'T = '.word('0.5 1 2 inf', i), \
     '$dir/exact.dat' using 2:3 with linespoints lw 2 ps 0.6 lt 11 title 'exact'
unset logscale x; set autoscale x; set xlabel 'steps'
set title 'T = 1: accuracy against steps (the precision side alone)'
plot for [s=1:4] '$dir/'.word(names, s).'_T1.dat' using 1:3 with linespoints lw 2 ps 0.6 lt s+1 title word(titles, s), \
     '$dir/exact.dat' using 1:3 with linespoints lw 2 ps 0.6 lt 11 title 'exact'
unset multiplot
EOF
echo "wrote $out/uep_dnn.png and $out/uep_dnn_table.md" >&2
