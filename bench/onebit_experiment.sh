#!/usr/bin/env bash
# 1-bit gradient coding (SCHEMES.md "1-bit gradient coding"): training loss and test
# accuracy against cumulative bits uploaded, n = 10 workers, shifted-exponential
# stragglers, virtual clock, Fashion-MNIST; convex (logreg) and non-convex (MLP).
# Variants: 1-bit GC (stochastic sign), 1-bit GC with error feedback, 32-bit GC,
# 32-bit uncoded, 1-bit uncoded ignoring stragglers (signSGD-style, scale mean |y|).
# The code is frep with s = 1 (frep needs (s+1) | n, and n = 10) and, for contrast,
# cyclic with s = 2, whose decoding relies on messages cancelling.
#
# usage: bench/onebit_experiment.sh [BUILD_DIR] [OUT_DIR] [EPOCHS]
set -euo pipefail
build="${1:-build}"
out="${2:-bench/results/onebit}"
epochs="${3:-3}"
bin="$build/codedtrain"
mkdir -p "$out"
common=(--device cpu --workers 10 --clock virtual --straggle shifted-exp:0,1 --epochs "$epochs" --eval-every 50
        --lr 0.01 --momentum 0.9 --progress off)
run() { # name model args...
  local name="$1" model="$2"; shift 2
  "$bin" train "${common[@]}" --model "$model" --log "$out/$name.jsonl" "$@" || echo "$name: exit $?" >&2
}
for model in logreg mlp:784-256-10; do
  tag=${model%%:*}
  run "$tag-gc1bit"      "$model" --code frep --stragglers 1 --compress sign
  run "$tag-gc1bit-ef"   "$model" --code frep --stragglers 1 --compress sign-ef
  run "$tag-gc32"        "$model" --code frep --stragglers 1
  run "$tag-uncoded32"   "$model" --code uncoded
  run "$tag-ignore1bit"  "$model" --code ignore --stragglers 2 --compress sign-plain
  run "$tag-cyclic1bit-ef" "$model" --code cyclic --stragglers 2 --compress sign-ef
  run "$tag-cyclic32"    "$model" --code cyclic --stragglers 2
done
python3 - "$out" <<'PY'
import glob, json, os, sys
out = sys.argv[1]
rows = []
for f in sorted(glob.glob(os.path.join(out, "*.jsonl"))):
    recs = [json.loads(l) for l in open(f)]
    evals = [r for r in recs if r["type"] in ("eval", "epoch")]
    final = recs[-1] if recs and recs[-1]["type"] == "final" else None
    name = os.path.basename(f)[:-6]
    # accuracy reached for a fixed communication budget: the last evaluation within 1e10 bits
    budget = 1e10
    within = [r for r in evals if r.get("bits_up", 0) <= budget]
    acc_at_budget = within[-1]["test_acc"] if within else None
    with open(os.path.join(out, name + ".dat"), "w") as d:
        for r in evals:
            d.write(f"{r['bits_up']:.6g} {r['test_acc']:.6f} {r.get('train_loss', float('nan')):.6f}\n")
    rows.append((name, final["test_acc"] if final else None, final["bits_up"] if final else None,
                 final["time_s"] if final else None, acc_at_budget))
print("| run | final test acc | bits uploaded | virtual time (s) | test acc within 1e10 bits |")
print("|---|---|---|---|---|")
for n, a, b, t, ab in rows:
    fmt = lambda x, f: ("diverged" if x is None else f.format(x))
    print(f"| {n} | {fmt(a, '{:.4f}')} | {fmt(b, '{:.3g}')} | {fmt(t, '{:.2f}')} | {fmt(ab, '{:.4f}')} |")
PY
if command -v gnuplot >/dev/null; then
  for tag in logreg mlp; do
    plot=""
    for f in "$out/$tag"-*.dat; do
      n=$(basename "$f" .dat); plot="$plot${plot:+, }'$f' using 1:2 with linespoints title '${n#$tag-}'"
    done
    gnuplot -e "set terminal pngcairo size 900,560; set output '$out/$tag-acc-vs-bits.png'; set logscale x; set key bottom right; set grid; set xlabel 'cumulative bits uploaded'; set ylabel 'test accuracy'; set title '$tag: test accuracy against bits uploaded (n=10, virtual clock)'; plot $plot"
  done
fi
