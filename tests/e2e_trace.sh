#!/usr/bin/env bash
# --trace and --plot-timeline: the trace is valid trace-event JSON, each worker's
# spans never overlap, and every step's arrivals in the trace equal those of the
# step records in the log; on the virtual clock (a dead worker and frep, so late,
# dead and unused results all occur) and on the real clock (cancelled workers).
set -u
bin="$1"
tmp="${CT_TEST_TMPDIR:-/tmp}/e2e_trace.$$"
mkdir -p "$tmp" && trap 'rm -rf "$tmp"' EXIT
common=(--device cpu --dataset synthetic:3000,20,5 --model mlp:20-16-5 --batch 60 --epochs 1 --progress off)
"$bin" train "${common[@]}" --workers 6 --code frep --stragglers 1 --clock virtual \
    --straggle shifted-exp:0,3+drop:4 --log "$tmp/v.jsonl" --trace "$tmp/v.json" --plot-timeline "$tmp/v.png" \
    || { echo "FAIL: virtual run exited $?"; exit 1; }
"$bin" train "${common[@]}" --workers 4 --code cyclic --stragglers 1 --clock real --max-steps 15 \
    --straggle slow:2@3+shifted-exp:0,2 --log "$tmp/r.jsonl" --trace "$tmp/r.json" \
    || { echo "FAIL: real run exited $?"; exit 1; }
python3 - "$tmp" <<'PY'
import json, os, shutil, sys
tmp = sys.argv[1]
fails = []
def check(name, want_outcomes):
    trace = json.load(open(os.path.join(tmp, name + ".json")))   # valid JSON, or this raises
    ev = trace["traceEvents"]
    steps = [json.loads(l) for l in open(os.path.join(tmp, name + ".jsonl")) if '"type":"step"' in l]
    if not steps: fails.append(f"{name}: no step records")
    spans = {}
    arrivals = {}
    outcomes = set()
    for e in ev:
        for k in ("name", "ph", "pid", "tid"):
            if k not in e: fails.append(f"{name}: event without {k}: {e}")
        if e["ph"] == "M": continue
        if not isinstance(e.get("ts"), (int, float)): fails.append(f"{name}: event without ts: {e}")
        a = e.get("args", {})
        if "step" not in a or "code" not in a: fails.append(f"{name}: event without step/code args: {e}")
        if e["ph"] == "X":
            spans.setdefault(e["tid"], []).append((e["ts"], e["ts"] + e["dur"], e["name"], a["step"]))
        elif e["ph"] == "i":
            outcomes.add(a["outcome"])
            if a["outcome"] in ("used", "unused"):
                arrivals.setdefault(a["step"], []).append((a["order"], a["worker"]))
    for tid, lst in spans.items():
        lst.sort()
        for x, y in zip(lst, lst[1:]):
            if y[0] < x[1] - 1e-9 * max(1.0, abs(x[1])):  # rounding of the printed microseconds only
                fails.append(f"{name}: track {tid}: {x} overlaps {y}")
                break
    master = [s for s in spans.get(0, [])]
    if len([s for s in master if s[2] == "wait"]) != len(steps): fails.append(f"{name}: {len(master)} master waits for {len(steps)} steps")
    for r in steps:
        got = [w for _, w in sorted(arrivals.get(r["step"], []))]
        if got != r["arrived"]: fails.append(f"{name}: step {r['step']}: trace arrivals {got}, log {r['arrived']}")
    for o in want_outcomes:
        if o not in outcomes: fails.append(f"{name}: no '{o}' event (saw {sorted(outcomes)})")
    print(f"{name}: {len(ev)} events, {len(steps)} steps, outcomes {sorted(outcomes)}")
check("v", ["used", "unused", "late", "dead"])
check("r", ["used"])
if shutil.which("gnuplot") and not os.path.getsize(os.path.join(tmp, "v.png")) > 2000: fails.append("no timeline PNG")
for f in fails[:20]: print("FAIL:", f)
sys.exit(1 if fails else 0)
PY
