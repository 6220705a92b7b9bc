#!/usr/bin/env bash
# MPI transport, 5 ranks (master + 4 workers), cyclic s=1, worker 2 slowed 3x,
# virtual clock: every per-step loss and the final accuracy equal local mode's.
set -u
source "$(dirname "$0")/mpi_common.sh"
args=(train --device cpu --dataset synthetic:4000,20,5 --model mlp:20-16-5 --workers 4 --code cyclic --stragglers 1
      --straggle slow:2@3 --clock virtual --epochs 2 --seed 7 --progress off)
# the local run computes the workers' own messages, as the ranks do (not the
# virtual clock's one weighted pass, equal only to float rounding)
timeout 120 "$bin" "${args[@]}" --per-worker-messages --log "$tmp/mpi_eq_local.jsonl" || { echo "FAIL: local run"; exit 1; }
run_ranks 5 "$tmp/e2e_mpi_equal.rc" "$bin" "${args[@]}" --transport mpi --log "$tmp/mpi_eq_mpi.jsonl"
rc=$(cat "$tmp/e2e_mpi_equal.rc")
[ "$rc" = 0 ] || { echo "FAIL: mpi run exited $rc"; exit 1; }
python3 - "$tmp/mpi_eq_local.jsonl" "$tmp/mpi_eq_mpi.jsonl" <<'PY'
import json, sys
def load(p):
    rs = [json.loads(l) for l in open(p)]
    return [r for r in rs if r["type"] == "step"], [r for r in rs if r["type"] == "final"][0]
(sa, fa), (sb, fb) = load(sys.argv[1]), load(sys.argv[2])
assert len(sa) == len(sb) == 62, (len(sa), len(sb))
bad = [(a["step"], a["loss"], b["loss"]) for a, b in zip(sa, sb) if a["loss"] != b["loss"] or a["arrived"] != b["arrived"]]
assert not bad, "steps differ (step, local, mpi): %s" % bad[:5]
assert fa["test_acc"] == fb["test_acc"], (fa["test_acc"], fb["test_acc"])
assert any(2 not in a["arrived"] for a in sa), "the slowed worker was never dodged"
print("62 steps: losses and arrivals equal; test_acc %.4f in both" % fa["test_acc"])
PY
