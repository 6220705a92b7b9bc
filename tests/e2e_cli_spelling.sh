#!/usr/bin/env bash
# One flag for one thing in every subcommand: `codes --code` (as in train) and
# `uep --workers` are the spellings --help shows; the old `codes --scheme` and
# `uep --workers-range` still work and give the same output; errors name the flag given.
set -u
bin="$1"
tmp="${CT_TEST_TMPDIR:-/tmp}/e2e_cli_spelling.$$"
mkdir -p "$tmp" && trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails+1)); }
# same_json A B: equal apart from the wall-clock decode timings
same_json() {
    python3 - "$1" "$2" <<'PY'
import json, sys
drop = {"decode_cold_us", "decode_cached_us", "wall_s"}
def clean(v):
    if isinstance(v, dict): return {k: clean(x) for k, x in v.items() if k not in drop}
    if isinstance(v, list): return [clean(x) for x in v]
    return v
a, b = (clean(json.load(open(p))) for p in sys.argv[1:3])
sys.exit(0 if a == b else 1)
PY
}

"$bin" codes --help >"$tmp/h1" 2>&1
grep -q -- "--code NAME" "$tmp/h1" || fail "codes --help does not show --code"
"$bin" uep --help >"$tmp/h2" 2>&1
grep -q -- "--workers N|A:B" "$tmp/h2" || fail "uep --help does not show --workers"

"$bin" codes --code expander --workers 8 --stragglers 2 --json >"$tmp/new.json" || fail "codes --code exited $?"
"$bin" codes --scheme expander --workers 8 --stragglers 2 --json >"$tmp/old.json" || fail "codes --scheme exited $?"
grep -q '"expander"' "$tmp/new.json" || fail "codes --code expander did not build the expander code"
same_json "$tmp/new.json" "$tmp/old.json" || fail "codes --code and --scheme differ"

"$bin" uep --workers 4:8:4 --trials 50 --json >"$tmp/unew.json" || fail "uep --workers exited $?"
"$bin" uep --workers-range 4:8:4 --trials 50 --json >"$tmp/uold.json" || fail "uep --workers-range exited $?"
same_json "$tmp/unew.json" "$tmp/uold.json" || fail "uep --workers and --workers-range differ"
python3 -c "import json,sys; assert sorted({r['workers'] for r in json.load(open(sys.argv[1]))}) == [4, 8]" "$tmp/unew.json" \
    || fail "uep --workers 4:8:4 did not run N = 4, 8"

"$bin" codes --code nosuch >/dev/null 2>"$tmp/e1"; rc=$?
[ "$rc" = 2 ] && grep -q -- "--code 'nosuch'" "$tmp/e1" || fail "codes --code nosuch: exit $rc, $(cat "$tmp/e1")"
"$bin" uep --workers 9:3 >/dev/null 2>"$tmp/e2"; rc=$?
[ "$rc" = 2 ] && grep -q -- "--workers '9:3'" "$tmp/e2" || fail "uep --workers 9:3: exit $rc, $(cat "$tmp/e2")"
[ "$fails" = 0 ] && echo "ok: codes --code / --scheme, uep --workers / --workers-range"
[ "$fails" = 0 ]
