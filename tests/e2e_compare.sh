#!/usr/bin/env bash
# `codedtrain compare`: a JSON table with one object per code, a CSV, and a PNG
# when gnuplot is installed.
set -u
bin="$1"
tmp="${CT_TEST_TMPDIR:-/tmp}/e2e_compare.$$"
mkdir -p "$tmp" && trap 'rm -rf "$tmp"' EXIT
"$bin" compare --codes uncoded,ignore,cyclic --device cpu --dataset synthetic:3000,20,5 --model mlp:20-16-5 \
    --workers 6 --stragglers 2 --straggle shifted-exp:0.5,2 --clock virtual --epochs 2 --target-acc 0.5 \
    --out "$tmp/out" --json >"$tmp/table.json" || { echo "FAIL: compare exited $?"; exit 1; }
python3 - "$tmp/table.json" "$tmp/out" <<'PY'
import json, os, shutil, sys
rows = json.load(open(sys.argv[1]))
out = sys.argv[2]
fails = []
if [r["code"] for r in rows] != ["uncoded", "ignore", "cyclic"]: fails.append(f"codes: {[r['code'] for r in rows]}")
for r in rows:
    for k in ("code", "time_to_target_s", "final_test_acc", "mean_step_s"):
        if k not in r: fails.append(f"{r.get('code')}: lacks {k}")
    if not 0 <= r.get("final_test_acc", -1) <= 1: fails.append(f"{r['code']}: accuracy {r.get('final_test_acc')}")
# uncoded waits for every worker: its mean step can only be longer than ignore's
u, i = rows[0], rows[1]
if not u["mean_step_s"] >= i["mean_step_s"]: fails.append(f"uncoded step {u['mean_step_s']} < ignore step {i['mean_step_s']}")
lines = open(os.path.join(out, "compare.csv")).read().splitlines()
if lines[0] != "code,epoch,time_s,test_acc,train_loss" or len(lines) < 4: fails.append(f"csv: {lines[:3]}")
if shutil.which("gnuplot") and not os.path.getsize(os.path.join(out, "compare.png")) > 1000: fails.append("no PNG plot")
if shutil.which("gnuplot"):
    for r in rows:
        tl = os.path.join(out, r["code"] + ".timeline.png")
        if not (os.path.exists(tl) and os.path.getsize(tl) > 1000): fails.append(f"no timeline for {r['code']}")
# time to target relative to uncoded's, where both reached it
if u["time_to_target_s"] is not None and abs(u.get("ratio_to_uncoded", 0) - 1) > 1e-12: fails.append(f"uncoded ratio {u.get('ratio_to_uncoded')}")
for r in rows:
    if r["time_to_target_s"] is not None and u["time_to_target_s"]:
        want = r["time_to_target_s"] / u["time_to_target_s"]
        if abs(r.get("ratio_to_uncoded", -1) - want) > 1e-9 * want: fails.append(f"{r['code']}: ratio {r.get('ratio_to_uncoded')} != {want}")
for f in fails: print("FAIL:", f)
print(json.dumps(rows, indent=1))
sys.exit(1 if fails else 0)
PY
