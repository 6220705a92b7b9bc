#!/usr/bin/env python3
"""Compares golden outputs (tests/golden.sh): every file of GOLDEN_DIR must exist in
CURRENT_DIR with the same records, every field of a golden record equal bit for bit
(the same JSON text of the number) in the current one, except:
  - wall-clock measurements (WALL_CLOCK_KEYS below): they differ from run to run;
  - fields the current output has and the golden one does not: added after recording;
  - in a .jsonl log, records of a "type" no golden record of that log has (e.g. the
    configuration record logs begin with): added after recording.
A field the golden record has and the current one lacks is a difference.
With --rel-tol X (X > 0) two numbers also count as equal when they differ by at most X
relative to the larger magnitude (plus 1e-9: rounding noise of the residuals and
errors, which are relative quantities of order one): for a machine whose BLAS kernel differs from the one
the goldens were recorded with (tests/golden.sh).
usage: golden_compare.py [--rel-tol X] GOLDEN_DIR CURRENT_DIR"""
import json
import os
import sys

# Measured on the wall clock even on the virtual clock: the decode time per call in
# `codes --json` (cold and cached, and the label's probe decode) and the UEP trainer's wall_s per record. Nothing else
# in these outputs is (tests/golden.sh record runs everything twice and refuses to record
# when anything else differs between the two).
WALL_CLOCK_KEYS = {"decode_cold_us", "decode_cached_us", "wall_s", "probe_decode_s", "probe_decode_s_over"}


def parse(path):
    """A .jsonl file is a list of records; a .json file one value. Numbers stay text."""
    keep = lambda s: ("num", s)
    with open(path) as f:
        if path.endswith(".jsonl"):
            return [json.loads(l, parse_float=keep, parse_int=keep) for l in f if l.strip()]
        return json.load(f, parse_float=keep, parse_int=keep)


def diff(gold, cur, where, out):
    if isinstance(gold, dict):
        if not isinstance(cur, dict):
            out.append("%s: an object became %s" % (where, type(cur).__name__))
            return
        for k, v in gold.items():
            if k in WALL_CLOCK_KEYS:
                continue
            if k not in cur:
                out.append("%s.%s: missing (golden %s)" % (where, k, show(v)))
            else:
                diff(v, cur[k], "%s.%s" % (where, k), out)
    elif isinstance(gold, list):
        if not isinstance(cur, list) or len(cur) != len(gold):
            out.append("%s: %d items, now %s" % (where, len(gold), len(cur) if isinstance(cur, list) else show(cur)))
            return
        for i, (g, c) in enumerate(zip(gold, cur)):
            diff(g, c, "%s[%d]" % (where, i), out)
    elif gold != cur and not close(gold, cur):
        out.append("%s: golden %s, now %s" % (where, show(gold), show(cur)))


REL_TOL = 0.0


def close(gold, cur):
    """Numbers within REL_TOL of each other (relative to the larger magnitude)."""
    if REL_TOL <= 0 or not (isinstance(gold, tuple) and isinstance(cur, tuple)):
        return False
    try:
        a, b = float(gold[1]), float(cur[1])
    except ValueError:
        return False
    # below 1e-9 a number is rounding noise of an O(1) quantity (residuals, NMSE)
    return abs(a - b) <= REL_TOL * max(abs(a), abs(b)) + 1e-9


def show(v):
    if isinstance(v, tuple):
        return v[1]
    s = json.dumps(v, default=lambda t: t[1])
    return s if len(s) < 60 else s[:57] + "..."


def main():
    global REL_TOL
    args = sys.argv[1:]
    if len(args) == 4 and args[0] == "--rel-tol":
        REL_TOL = float(args[1])
        args = args[2:]
    if len(args) != 2:
        print(__doc__)
        return 2
    gdir, cdir = args
    names = sorted(os.listdir(gdir))
    if not names:
        print("FAIL: no golden outputs in %s" % gdir)
        return 1
    bad = 0
    for name in names:
        cpath = os.path.join(cdir, name)
        if not os.path.exists(cpath):
            print("FAIL: %s: not produced by this build" % name)
            bad += 1
            continue
        out = []
        gold, cur = parse(os.path.join(gdir, name)), parse(cpath)
        if name.endswith(".jsonl"):
            types = {r.get("type") for r in gold if isinstance(r, dict)}
            cur = [r for r in cur if not isinstance(r, dict) or r.get("type") in types]
        diff(gold, cur, name, out)
        if out:
            bad += 1
            print("FAIL: %s: %d differences, first ones:" % (name, len(out)))
            for line in out[:8]:
                print("   ", line)
        else:
            print("ok: %s" % name)
    extra = sorted(set(os.listdir(cdir)) - set(names))
    if extra:
        print("note: outputs without a golden file (record them): %s" % ", ".join(extra))
    print("%d of %d golden outputs differ" % (bad, len(names)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
