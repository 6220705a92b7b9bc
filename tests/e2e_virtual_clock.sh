#!/usr/bin/env bash
# Virtual clock: the same seed gives an identical log, bit for bit; another seed
# gives a different arrival sequence.
set -u
bin="$1"
tmp="${CT_TEST_TMPDIR:-/tmp}/e2e_virtual.$$"
mkdir -p "$tmp" && trap 'rm -rf "$tmp"' EXIT
run() { # seed log
    "$bin" train --device cpu --dataset synthetic:3000,20,5 --model mlp:20-16-5 --workers 6 --code cyclic \
        --stragglers 2 --straggle shifted-exp:0.5,2 --clock virtual --epochs 2 --seed "$1" \
        --log "$2" --progress off || { echo "FAIL: run exited $?"; exit 1; }
}
run 5 "$tmp/a.jsonl"
run 5 "$tmp/b.jsonl"
# seed 6 changes the data and init too; compare only the straggler-driven arrivals
run 6 "$tmp/c.jsonl"
fails=0
cmp -s "$tmp/a.jsonl" "$tmp/b.jsonl" || { echo "FAIL: same seed, different logs"; diff "$tmp/a.jsonl" "$tmp/b.jsonl" | head -5; fails=$((fails+1)); }
arr() { grep '"type":"step"' "$1" | sed 's/.*"arrived":\(\[[^]]*\]\).*/\1/'; }
if [ "$(arr "$tmp/a.jsonl")" = "$(arr "$tmp/c.jsonl")" ]; then echo "FAIL: another seed gave the same arrivals"; fails=$((fails+1)); fi
[ "$(grep -c '"type":"step"' "$tmp/a.jsonl")" -gt 10 ] || { echo "FAIL: too few step records"; fails=$((fails+1)); }
# --unit-cost-ms auto: measured before the run, written to the final record, and
# the virtual clock uses it (the ideal master on the run's own draws matches)
"$bin" train --device cpu --dataset synthetic:3000,20,5 --model mlp:20-16-5 --workers 6 --code cyclic \
    --stragglers 2 --straggle shifted-exp:0.5,2 --clock virtual --epochs 1 --unit-cost-ms auto \
    --log "$tmp/auto.jsonl" --progress off || { echo "FAIL: auto run exited $?"; fails=$((fails+1)); }
python3 - "$tmp/auto.jsonl" <<'PY' || fails=$((fails+1))
import json, sys
f = [json.loads(l) for l in open(sys.argv[1]) if '"type":"final"' in l][0]
assert f.get("unit_cost_auto") is True and 0 < f["unit_cost_ms"] < 10 and f["unit_cost_ms"] != 0.05, f
assert abs(f["efficiency_same_draws"] - 1) < 1e-9, f
print("auto unit cost %.6f ms per sample; efficiency %.4f" % (f["unit_cost_ms"], f["efficiency"]))
PY
"$bin" train --unit-cost-ms fast --clock virtual 2>"$tmp/err"; rc=$?
[ "$rc" = 2 ] && grep -q "unit-cost-ms" "$tmp/err" || { echo "FAIL: --unit-cost-ms fast: exit $rc"; cat "$tmp/err"; fails=$((fails+1)); }
echo "$fails failed"
[ "$fails" = 0 ]
