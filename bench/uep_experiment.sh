#!/usr/bin/env bash
# UEP-coded approximate matrix multiplication in the paper's numerical setting
# (Tegin et al., JSAC 2022): Gamma = (0.40, 0.35, 0.25), k = (3, 3, 3),
# variances (10, 1, 0.1), N = 3..30 workers, exponential latency lambda = 1.
# Three runs:
#   rxc_T1   rows x columns, deadline T = 1 (a packet arrives with p = 0.632)
#   rxc_all  rows x columns, deadline T = 30 (p = 1 - 1e-13: N = packets received,
#            the analogue of the paper's decoding-probability figure)
#   cxr_T1   columns x rows, deadline T = 1
# For each: OUT/uep_matmul_<run>.json (codedtrain uep --json), a .dat table and
# OUT/uep_matmul_<run>.png (decoding probability per class and normalized MSE
# against N for UEP-NOW, UEP-EW, EEP, uncoded; lines analytic, points simulated).
# Prints a markdown table per run.
#
# usage: bench/uep_experiment.sh [BUILD_DIR] [OUT_DIR] [TRIALS]
set -euo pipefail
export OPENBLAS_NUM_THREADS=1 # small GEMMs: threads only add overhead
build="${1:-build}"
out="${2:-bench/results}"
trials="${3:-2000}"
bin="$build/codedtrain"
mkdir -p "$out"
common=(--gamma 0.40,0.35,0.25 --k 3,3,3 --variances 10,1,0.1 --workers-range 3:30:1 --lambda 1
        --trials "$trials" --seed 1 --device host --json)

run() { # name, extra args...
  local name="$1"; shift
  echo "+ $bin uep ${common[*]} $*" >&2
  "$bin" uep "${common[@]}" "$@" > "$out/uep_matmul_$name.json.tmp"
  mv "$out/uep_matmul_$name.json.tmp" "$out/uep_matmul_$name.json"
  # one row per N: for each scheme, P(class 0..2) analytic and simulated, nmse analytic and simulated
  python3 - "$out/uep_matmul_$name.json" "$out/uep_matmul_$name.dat" <<'EOF'
import json, sys
rows = json.load(open(sys.argv[1]))
schemes = ["uep-now", "uep-ew", "eep", "uncoded"]
by = {}
for r in rows:
    by.setdefault(r["workers"], {}).setdefault(r["scheme"], {})[r["class"]] = r
with open(sys.argv[2], "w") as f:
    f.write("# N then per scheme (%s): pa0 ps0 pa1 ps1 pa2 ps2 nmse_an nmse_sim\n" % ", ".join(schemes))
    for n in sorted(by):
        vals = [str(n)]
        for s in schemes:
            c = by[n][s]
            for l in range(3):
                vals += ["%.6g" % c[l]["p_decode_analytic"], "%.6g" % c[l]["p_decode_sim"]]
            vals += ["%.6g" % c[0]["nmse_analytic"], "%.6g" % max(c[0]["nmse"], 1e-12)]
        f.write(" ".join(vals) + "\n")
EOF
  local dat="$out/uep_matmul_$name.dat" png="$out/uep_matmul_$name.png"
  # column of scheme s (0..3), field f (0..7): 2 + 8 s + f
  gnuplot <<EOF
load '$(dirname "$0")/plot_styles.gp'
set terminal pngcairo size 1400,900 font ',10' noenhanced
set output '$png'
set multiplot layout 2,2 title 'UEP matmul ($name): Gamma=(0.40,0.35,0.25), k=(3,3,3), lambda=1 (lines analytic, points simulated)'
set grid; set key bottom right; set xlabel 'workers N'; set xrange [3:30]
set yrange [0:1.02]
do for [l=0:2] {
  set title sprintf('P(class %d decoded)', l); set ylabel 'probability'
  plot for [s=0:3] '$dat' using 1:(column(2+8*s+2*l)) with lines lw 2 lt s+2 title word('UEP-NOW UEP-EW EEP uncoded', s+1), \
       for [s=0:3] '$dat' using 1:(column(3+8*s+2*l)) with points ps 0.7 lt s+2 notitle
}
set title 'normalized MSE ||C - C_hat||_F^2 / ||C||_F^2'; set ylabel 'NMSE'; set logscale y; set yrange [1e-6:1.5]
set format y '%.0e'; set key top right
plot for [s=0:3] '$dat' using 1:(column(8+8*s)) with lines lw 2 lt s+2 title word('UEP-NOW UEP-EW EEP uncoded', s+1), \
     for [s=0:3] '$dat' using 1:(column(9+8*s)) with points ps 0.7 lt s+2 notitle
unset multiplot
EOF
  python3 - "$out/uep_matmul_$name.json" "$name" <<'EOF'
import json, sys
rows = json.load(open(sys.argv[1]))
schemes = ["uep-now", "uep-ew", "eep", "uncoded"]
by = {}
for r in rows:
    by.setdefault(r["workers"], {}).setdefault(r["scheme"], {})[r["class"]] = r
print(f"\n### {sys.argv[2]} (p_arrive = {rows[0]['p_arrive']:.4f})\n")
print("| N | scheme | P(c0) an / sim | P(c1) an / sim | P(c2) an / sim | NMSE an | NMSE sim (± se) |")
print("|---|---|---|---|---|---|---|")
for n in sorted(by):
    if n not in (3, 5, 8, 10, 12, 15, 20, 25, 30): continue
    for s in schemes:
        c = by[n][s]
        ps = " | ".join(f"{c[l]['p_decode_analytic']:.3f} / {c[l]['p_decode_sim']:.3f}" for l in range(3))
        print(f"| {n} | {s} | {ps} | {c[0]['nmse_analytic']:.3g} | {c[0]['nmse']:.3g} ± {c[0]['nmse_se']:.1g} |")
EOF
}

run rxc_T1 --paradigm rxc --rows 60 --inner 60 --cols 60 --deadline 1
run rxc_all --paradigm rxc --rows 60 --inner 60 --cols 60 --deadline 30
run cxr_T1 --paradigm cxr --rows 60 --inner 90 --cols 60 --deadline 1
