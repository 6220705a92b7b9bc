#!/usr/bin/env python3
"""Table and plot of bench/large_n_sweep.sh: time to 85% per code, ratio to uncoded."""
import json
import os
import subprocess
import sys

out = sys.argv[1]
rows = []
for model in ("shifted-exp", "pareto"):
    for n in (16, 64, 256):
        path = os.path.join(out, "%s_n%d.json" % (model, n))
        try:
            runs = {r["code"]: r for r in json.load(open(path))}
        except (OSError, ValueError):
            continue  # not run (yet)
        base = runs.get("uncoded", {}).get("time_to_target_s")
        for code, r in runs.items():
            t = r.get("time_to_target_s")
            rows.append((model, n, code, t, t / base if t is not None and base else None, r["mean_step_s"],
                         r.get("bound_step_s"), r.get("efficiency"), r["data_dropped"]))
with open(os.path.join(out, "sweep.csv"), "w") as f:
    f.write("model,n,code,time_to_85_s,ratio_to_uncoded,mean_step_s,bound_step_s,efficiency,data_dropped\n")
    for r in rows:
        f.write(",".join("" if v is None else str(v) for v in r) + "\n")
fmt = lambda v, p="%.3f": "-" if v is None else p % v
print("| model | n | code | time to 85% (s) | ratio to uncoded | mean step (ms) | bound (ms) | efficiency | data dropped |")
print("|---|---|---|---|---|---|---|---|---|")
for m, n, c, t, ratio, step, bound, eff, dropped in rows:
    print("| %s | %d | %s | %s | %s | %.3f | %s | %s | %.3f |" % (m, n, c, fmt(t, "%.2f"), fmt(ratio, "%.2f"), 1e3 * step,
          fmt(bound and 1e3 * bound), fmt(eff), dropped))
codes = sorted({r[2] for r in rows})
script = ["set terminal pngcairo size 1100,480", "set output '%s/sweep.png'" % out, "set multiplot layout 1,2",
          "set logscale x 2", "set xlabel 'workers n'", "set ylabel 'time to 85% / uncoded'", "set grid",
          "set key top right font ',9'", "set yrange [0:1.1]", "set xrange [12:340]"]
for model in ("shifted-exp", "pareto"):
    blocks = []
    for c in codes:  # one inline data block per code, so each line connects its own points
        pts = [(r[1], r[4]) for r in rows if r[0] == model and r[2] == c and r[4] is not None]
        name = "$%s_%s" % (model.replace("-", "_"), c.replace("-", "_"))
        script.append("%s << EOD\n%s\nEOD" % (name, "\n".join("%d %g" % p for p in pts)))
        blocks.append("%s using 1:2 with linespoints title '%s'" % (name, c))
    script.append("set title '%s delays, mean 10x a slice' noenhanced" % model)
    script.append("plot " + ", ".join(blocks))
script.append("unset multiplot")
subprocess.run(["gnuplot"], input="\n".join(script) + "\n", text=True, check=False)
