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
  [ "${SUMMARY_ONLY:-0}" = 1 ] && break  # re-summarise existing logs only
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
def load(f):
    return [json.loads(l) for l in open(f)]
print("Budget B = the bits the 1-bit GC + error feedback run uploaded in total (per model).")
print()
print("| run | final test acc | bits uploaded | virtual time (s) | test acc at budget B |")
print("|---|---|---|---|---|")
for tag in ("logreg", "mlp"):
    ref = os.path.join(out, f"{tag}-gc1bit-ef.jsonl")
    budget = load(ref)[-1]["bits_up"] if os.path.exists(ref) else 0
    for f in sorted(glob.glob(os.path.join(out, f"{tag}-*.jsonl"))):
        recs = load(f)
        evals = [r for r in recs if r["type"] in ("eval", "epoch")]
        final = recs[-1] if recs and recs[-1]["type"] == "final" else None
        name = os.path.basename(f)[:-6]
        within = [r for r in evals if r.get("bits_up", 0) <= budget * 1.0001]
        at_b = f"{within[-1]['test_acc']:.4f}" if within else "no evaluation yet"
        with open(os.path.join(out, name + ".dat"), "w") as d:
            for r in evals:
                d.write(f"{r['bits_up']:.6g} {r['test_acc']:.6f}\n")
        if final:
            print(f"| {name} | {final['test_acc']:.4f} | {final['bits_up']:.3g} | {final['time_s']:.2f} | {at_b} |")
        else:
            last = evals[-1] if evals else None
            print(f"| {name} | diverged (last eval {last['test_acc']:.4f} at {last['bits_up']:.3g} bits) | - | - | {at_b} |"
                  if last else f"| {name} | diverged | - | - | - |")
PY
if command -v gnuplot >/dev/null; then
  for tag in logreg mlp; do
    plot=""
    for f in "$out/$tag"-*.dat; do
      n=$(basename "$f" .dat); plot="$plot${plot:+, }'$f' using 1:2 with linespoints title '${n#$tag-}'"
    done
    gnuplot -e "load '$(dirname "$0")/plot_styles.gp'; set terminal pngcairo size 900,560; set output '$out/$tag-acc-vs-bits.png'; set logscale x; set key bottom right; set grid; set xlabel 'cumulative bits uploaded'; set ylabel 'test accuracy'; set title '$tag: test accuracy against bits uploaded (n=10, virtual clock)'; plot $plot"
  done
fi
