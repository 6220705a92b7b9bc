#!/usr/bin/env bash
# `codedtrain codes`: the --json table of an exact code decodes every set of
# <= s stragglers, approximate codes degrade sensibly with more stragglers,
# --bound agrees with the LP bound, and bad input exits 2 naming the problem.
set -u
bin="$1"
tmp="${CT_TEST_TMPDIR:-/tmp}/e2e_codes_cli.$$"
mkdir -p "$tmp" && trap 'rm -rf "$tmp"' EXIT
fails=0

fail() { echo "FAIL: $*"; fails=$((fails+1)); }

# check_json NAME PYTHON_CHECK -- ARGS...: run `codes ARGS`, exit 0, and the
# python snippet (JSON in `d`) raises no assertion
check_json() {
    local name="$1" check="$2"; shift 3
    if ! "$bin" codes "$@" >"$tmp/out.json" 2>"$tmp/err"; then
        fail "$name: 'codes $*' exited $?"; cat "$tmp/err"; return
    fi
    if ! python3 - "$tmp/out.json" "$check" >"$tmp/py" 2>&1 <<'PY'
import json, math, sys
d = json.load(open(sys.argv[1]))
exec(sys.argv[2])
PY
    then fail "$name: $(tail -3 "$tmp/py")"; return; fi
    echo "ok: $name"
}

# 1. cyclic, n = 8, s = 2: every set of <= 2 stragglers decodes exactly
check_json "cyclic n=8 s=2 table" '
for key in ("scheme","n","k","s","load","messages","worst_condition","decode_cold_us","decode_cached_us","rows"):
    assert key in d, "missing key " + key
assert d["scheme"] == "cyclic" and d["n"] == 8 and d["s"] == 2 and d["load"] == 3 and d["messages"] == 1, d
rows = d["rows"]
assert [r["stragglers"] for r in rows] == list(range(8)), [r["stragglers"] for r in rows]
for r in rows:
    assert r["exhaustive"] and r["sets"] == math.comb(8, r["stragglers"]), r
    if r["stragglers"] <= 2:
        assert r["worst_residual"] < 1e-4 and r["mean_residual"] < 1e-4, r
        assert r["worst_recovered"] == 1.0 and r["mean_recovered"] == 1.0, r
assert rows[3]["worst_residual"] > 1e-3, "3 stragglers cannot decode exactly: " + str(rows[3])
assert d["decode_cached_us"] > 0 and d["decode_cold_us"] >= d["decode_cached_us"], d
' -- --scheme cyclic --workers 8 --stragglers 2 --json

# 2. approximate codes: residual grows and recovery shrinks with stragglers
monotone='
rows = d["rows"]
assert len(rows) == d["n"], len(rows)
# the table decodes from what the stop rule keeps: these schemes stop at n - s
# arrivals, so a row K < s decodes from n - s workers, one of the sets row s
# decodes exhaustively
for r in rows[:d["s"]]:
    assert r["worst_residual"] <= rows[d["s"]]["worst_residual"] + 1e-9, (r, rows[d["s"]])
    assert r["worst_residual"] > 0, r
for a, b in zip(rows[d["s"]:], rows[d["s"] + 1:]):
    assert b["mean_residual"] >= a["mean_residual"] - 1e-9, (a, b)
    assert b["worst_residual"] >= a["worst_residual"] - 1e-9, (a, b)
    assert b["mean_recovered"] <= a["mean_recovered"] + 1e-9, (a, b)
assert rows[-1]["worst_residual"] > rows[1]["worst_residual"], rows
for r in rows:
    assert 0.0 <= r["worst_recovered"] <= r["mean_recovered"] <= 1.0, r
    assert r["worst_residual"] >= r["mean_residual"] - 1e-12, r
    if r["residual_bound"] is not None:
        # residuals are those of the float32 coefficients: allow their rounding
        assert r["worst_residual"] <= r["residual_bound"] + 1e-6, ("over the promised bound", r)
'
check_json "ignore n=8 s=2 monotone" "$monotone" -- --scheme ignore --workers 8 --stragglers 2 --json
check_json "expander n=8 s=2 monotone, within its bound" "$monotone" -- --scheme expander --workers 8 --stragglers 2 --json
check_json "expander n=12 s=3 optimal decoder monotone" "$monotone" -- \
    --scheme expander --workers 12 --stragglers 3 --load 4 --decoder optimal --json

# 3. Monte Carlo beyond n = 16: rows with few sets stay exhaustive, others sample --trials
check_json "cyclic-mds n=20 Monte Carlo" '
rows = d["rows"]
assert [r["stragglers"] for r in rows] == [0, 1, 2, 3], rows
assert rows[1]["exhaustive"] and rows[1]["sets"] == 20, rows[1]
assert not rows[2]["exhaustive"] and rows[2]["sets"] == 50, rows[2]
for r in rows[:3]:
    assert r["worst_residual"] < 1e-3 and r["worst_recovered"] == 1.0, r
' -- --scheme cyclic-mds --workers 20 --stragglers 2 --trials 50 --max-stragglers 3 --json

# 4. --bound: the LP optimum (every vertex: one r alone, or a pair with the loss tight)
check_json "bound n=10 s=3 alpha=0.9" '
from math import comb
n, s, alpha = 10, 3, 0.9
lost = [comb(s, r) / comb(n, r) for r in range(n + 1)]
best = min([r for r in range(1, n + 1) if lost[r] <= 1 - alpha + 1e-12] +
           [r1 + (r2 - r1) * (lost[r1] - (1 - alpha)) / (lost[r1] - lost[r2])
            for r1 in range(1, n + 1) for r2 in range(r1 + 1, n + 1)
            if lost[r2] <= 1 - alpha <= lost[r1] and lost[r1] > lost[r2]])
assert abs(d["lower_bound"] - best) < 1e-9, (d["lower_bound"], best)
names = [x["scheme"] for x in d["schemes"]]
assert names.count("alpha-subset") == 1 and names.count("alpha-cyclic") == 2, names
for x in d["schemes"]:
    assert x["min_load"] is None or x["min_load"] >= d["lower_bound"] - 1e-9, x
subset = [x for x in d["schemes"] if x["scheme"] == "alpha-subset"][0]
assert abs(subset["min_load"] - d["lower_bound"]) < 1e-9, ("rational weights: the subset design meets the bound", subset)
' -- --bound --workers 10 --stragglers 3 --alpha 0.9 --json
check_json "bound n=8 s=2 alpha=0.75" '
assert d["lower_bound"] > 0
for x in d["schemes"]:
    assert x["min_load"] is None or x["min_load"] >= d["lower_bound"] - 1e-9, x
' -- --bound --workers 8 --stragglers 2 --alpha 0.75 --json

# 5. bad input: exit 2, one line on stderr that names the problem
expect_fail() {
    local pattern="$1"; shift 2
    "$bin" codes "$@" >"$tmp/out" 2>"$tmp/err"
    local got=$?
    if [ "$got" != 2 ]; then fail "'codes $*' exited $got, expected 2"; cat "$tmp/err"; return; fi
    if ! grep -qE -- "$pattern" "$tmp/err"; then fail "'codes $*' stderr lacks /$pattern/:"; cat "$tmp/err"; return; fi
    if [ "$(wc -l <"$tmp/err")" -gt 1 ]; then fail "'codes $*' printed more than one line:"; cat "$tmp/err"; return; fi
    echo "ok: codes $* -> $(head -1 "$tmp/err")"
}
expect_fail "stragglers.*8.*workers|s < n" -- --scheme cyclic --workers 8 --stragglers 8
expect_fail "stragglers.*8.*workers|s < n" -- --bound --workers 8 --stragglers 9 --alpha 0.5
expect_fail "frep.*\(s\+1\)=3.*divide n=8" -- --scheme frep --workers 8 --stragglers 2
expect_fail "--alpha 1.5.*\(0, 1\]" -- --bound --workers 8 --stragglers 2 --alpha 1.5
expect_fail "--alpha 1.5.*\(0, 1\]" -- --scheme alpha-cyclic --workers 8 --stragglers 2 --alpha 1.5
expect_fail "--scheme 'nosuch'.*unknown" -- --scheme nosuch
expect_fail "unknown option '--bogus'" -- --workers 8 --bogus
expect_fail "--load 9.*d <= n" -- --scheme expander --workers 8 --stragglers 2 --load 9
expect_fail "--bound needs --alpha" -- --bound --workers 8 --stragglers 2
expect_fail "--workers 'x'" -- --workers x
expect_fail "--decoder 'best'" -- --decoder best
expect_fail "--trials: missing value" -- --trials

# measured labels: the issue's case is exact by design but not at n = 16, s = 5
check_json "cyclic n=16 s=5 seed 1 labelled approximate" '
L = d["label"]
assert d["exact"] is False and L["exact_by_design"] and L["method"] == "exhaustive", L
assert L["sets_tested"] == 6885 and L["failures"] > 0 and L["worst_residual_max"] > L["tolerance"], L
assert len(L["worst_set"]) == 5, L
' -- --scheme cyclic --workers 16 --stragglers 5 --seed 1 --max-stragglers 0 --json
check_json "frep-mds n=17 s=2 labelled exact" '
L = d["label"]
assert d["exact"] is True and L["method"] == "exhaustive" and L["failures"] == 0, L
assert d["load"] == 3 and d["k"] == 17, d
' -- --scheme frep-mds --workers 17 --stragglers 2 --json
check_json "expander labelled approximate by design" '
assert d["exact"] is False and d["label"]["method"] == "none" and d["label"]["sets_tested"] == 0, d["label"]
' -- --scheme expander --workers 8 --stragglers 2 --max-stragglers 0 --json
# --layout: the assignment and encoding at any n
check_json "--layout at n=20" '
w = d["workers"]
assert len(w) == 20 and all(len(x["partitions"]) == 3 and len(x["encoding"]) == 3 for x in w), w[0]
' -- --scheme frep-mds --workers 20 --stragglers 2 --max-stragglers 0 --layout --json
# stop rules: erasurehead stops after --wait-count arrivals even with nobody straggling
check_json "erasurehead --wait-count 2 stops early" '
r0 = d["rows"][0]
assert r0["mean_recovered"] < 1.0 and r0["worst_recovered"] < 1.0, r0
' -- --scheme erasurehead --workers 6 --stragglers 1 --load 2 --wait-count 2 --json
check_json "erasurehead --wait-count 0 means n - s" '
assert d["rows"][0]["worst_recovered"] == 1.0, d["rows"][0]
' -- --scheme erasurehead --workers 6 --stragglers 1 --wait-count 0 --json
# the budget answers at large n (rows and label sized to it, counts printed)
check_json "frep-mds n=1024 s=40 within --budget 2" '
L = d["label"]
assert d["exact"] is True and L["method"] == "sampled" and L["adversarial_sets"] > 0, L
assert len(d["rows"]) >= 1, d["rows"]
' -- --scheme frep-mds --workers 1024 --stragglers 40 --budget 2 --json

# help and text output
"$bin" codes --help >"$tmp/out" || fail "codes --help exited $?"
grep -q "examples:" "$tmp/out" || fail "codes --help has no examples"
"$bin" codes --scheme frep --workers 6 --stragglers 1 >"$tmp/out" || fail "codes frep text exited $?"
for want in "assignment" "encoding matrix" "computation load" "communication load" "worst condition" "decode time"; do
    grep -q "$want" "$tmp/out" || fail "text output lacks '$want'"
done

echo "$fails failed"
[ "$fails" = 0 ]
