#!/usr/bin/env bash
# Low-weight codes with asynchronous peeling (SCHEMES.md "Low-weight derivative
# codes"): ldgm --async (zero and least-squares lossy estimates) against cyclic
# (exact, synchronous) and ignore, under Pareto stragglers, virtual clock,
# Fashion-MNIST MLP: time to 85% test accuracy and the fraction of units decoded
# per step.
#
# usage: bench/ldgm_experiment.sh [BUILD_DIR] [OUT_DIR]
set -euo pipefail
build="${1:-build}"
out="${2:-bench/results/ldgm}"
bin="$build/codedtrain"
mkdir -p "$out"
common=(--device cpu --workers 12 --stragglers 3 --clock virtual --straggle pareto:1.5,1 --batch 144
        --target-acc 0.85 --eval-every 20 --epochs 6 --progress off)
"$bin" train "${common[@]}" --code ldgm --async --lossy zero --deadline-ms 5 --log "$out/ldgm-async-zero.jsonl"
"$bin" train "${common[@]}" --code ldgm --async --lossy lsq --deadline-ms 5 --log "$out/ldgm-async-lsq.jsonl"
"$bin" train "${common[@]}" --code cyclic --log "$out/cyclic.jsonl"
"$bin" train "${common[@]}" --code ignore --log "$out/ignore.jsonl"
"$bin" train "${common[@]}" --code uncoded --stragglers 0 --log "$out/uncoded.jsonl"
python3 - "$out" <<'PY'
import glob, json, os, sys
out = sys.argv[1]
print("| run | time to 85% (virtual s) | final test acc | steps | mean step (ms) | mean fraction of units decoded per step |")
print("|---|---|---|---|---|---|")
for f in sorted(glob.glob(os.path.join(out, "*.jsonl"))):
    recs = [json.loads(l) for l in open(f)]
    steps = [r for r in recs if r["type"] == "step"]
    final = recs[-1]
    ttt = final.get("time_to_target_s")
    rec = sum(r["recovered"] for r in steps) / max(1, len(steps))
    print(f"| {os.path.basename(f)[:-6]} | {'not reached' if ttt is None else f'{ttt:.3f}'} | {final['test_acc']:.4f} | "
          f"{final['steps']} | {1e3 * final['mean_step_s']:.2f} | {rec:.3f} |")
PY
# plot: test accuracy against virtual time
if command -v gnuplot >/dev/null; then
  plot=""
  for f in "$out"/*.jsonl; do
    n=$(basename "$f" .jsonl)
    python3 -c 'import json,sys
for l in open(sys.argv[1]):
    r=json.loads(l)
    if r["type"] in ("eval","epoch"): print(r["time_s"], r["test_acc"])' "$f" > "$out/$n.dat"
    plot="$plot${plot:+, }'$out/$n.dat' using 1:2 with linespoints title '$n'"
  done
  gnuplot -e "load '$(dirname "$0")/plot_styles.gp'; set terminal pngcairo size 900,560; set output '$out/acc-vs-time.png'; set key bottom right; set grid; set xlabel 'virtual training time (s)'; set ylabel 'test accuracy'; set yrange [0.7:0.9]; set title 'ldgm async vs cyclic vs ignore, Pareto stragglers (n=12)'; plot $plot"
fi
