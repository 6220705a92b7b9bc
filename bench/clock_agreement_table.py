#!/usr/bin/env python3
"""Side-by-side table of bench/clock_agreement.sh's runs: mean step on each clock,
the ideal master's expected step, efficiencies, and the virtual-real gap."""
import json
import os
import sys

out = sys.argv[1]
print("| n | model | code | virtual mean (ms) | real mean (ms) | bound (ms) | virtual eff. | real eff. | "
      "virtual eff. (own draws) | real eff. (own draws) | virtual vs real |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for n in (8, 16):
    for model in ("shifted-exp", "pareto", "bimodal"):
        base = os.path.join(out, "n%d_%s_" % (n, model))
        try:
            v = {r["code"]: r for r in json.load(open(base + "virtual.json"))}
            r = {x["code"]: x for x in json.load(open(base + "real.json"))}
        except (OSError, ValueError):
            continue
        for code in v:
            a, b = v[code], r.get(code)
            if not b:
                continue
            gap = (a["mean_step_s"] - b["mean_step_s"]) / b["mean_step_s"]
            f = lambda x: "%.3f" % x if x is not None else "-"
            print("| %d | %s | %s | %.3f | %.3f | %s | %s | %s | %s | %s | %+.1f%% |" % (
                n, model, code, 1e3 * a["mean_step_s"], 1e3 * b["mean_step_s"],
                f(1e3 * a["bound_step_s"]) if a.get("bound_step_s") else "-",
                f(a.get("efficiency")), f(b.get("efficiency")),
                f(a.get("efficiency_same_draws")), f(b.get("efficiency_same_draws")), 100 * gap))
