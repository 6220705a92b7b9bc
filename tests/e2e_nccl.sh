#!/usr/bin/env bash
# NCCL transport. Skips (77) when the binary was built without NCCL.
# Anywhere NCCL is built: --device cpu is refused (exit 2), and with fewer than
# 2 GPUs --transport nccl is refused with "needs at least 2 GPUs (found N)", exit 2
# (then the equality part below cannot run, and says so).
# With 2 or more GPUs: master on GPU 0, 4 workers on the others, cyclic s=1, worker
# 2 slowed 3x, virtual clock: every per-step loss, every arrival set and the final
# accuracy equal local mode's on the same GPUs, full precision and 1-bit (sign-ef).
set -u
bin="$1"
tmp="${CT_TEST_TMPDIR:-/tmp}"
small=(train --dataset synthetic:200,8,2 --model logreg --epochs 1 --progress off --transport nccl)

out=$(timeout 120 "$bin" "${small[@]}" 2>&1)
rc=$?
if echo "$out" | grep -q "NCCL support was not built"; then echo "SKIP: built without NCCL"; exit 77; fi
fails=0

out=$(timeout 120 "$bin" "${small[@]}" --device cpu 2>&1)
rc=$?
echo "--device cpu: exit $rc: $out"
[ "$rc" = 2 ] || { echo "FAIL: --transport nccl --device cpu should exit 2"; fails=$((fails+1)); }

out=$(timeout 120 "$bin" "${small[@]}" --device cuda 2>&1)
rc=$?
if echo "$out" | grep -q "needs at least 2 GPUs (found [01])"; then
    echo "fewer than 2 GPUs: exit $rc: $out"
    [ "$rc" = 2 ] || { echo "FAIL: expected exit 2, got $rc"; fails=$((fails+1)); }
    echo "NOT RUN: local-vs-nccl equality needs 2 or more GPUs"
    [ "$fails" = 0 ] && echo "PASS (refusal checks only)"
    exit $(( fails > 0 ))
fi
echo "$out" | grep -q "needs at least 2 GPUs" && { echo "FAIL: refused with 2+ GPUs: $out"; exit 1; }

args=(train --device cuda --dataset synthetic:4000,20,5 --model mlp:20-16-5 --workers 4 --code cyclic --stragglers 1
      --straggle slow:2@3 --clock virtual --epochs 2 --seed 7 --progress off)
for compress in none sign-ef; do
    timeout 300 "$bin" "${args[@]}" --compress $compress --log "$tmp/nccl_eq_local.jsonl" \
        || { echo "FAIL: local run ($compress)"; fails=$((fails+1)); continue; }
    timeout 300 "$bin" "${args[@]}" --compress $compress --transport nccl --log "$tmp/nccl_eq_nccl.jsonl"
    rc=$?
    [ "$rc" = 0 ] || { echo "FAIL: nccl run ($compress) exited $rc"; fails=$((fails+1)); continue; }
    python3 - "$tmp/nccl_eq_local.jsonl" "$tmp/nccl_eq_nccl.jsonl" "$compress" <<'PY' || fails=$((fails+1))
import json, sys
def load(p):
    rs = [json.loads(l) for l in open(p)]
    return [r for r in rs if r["type"] == "step"], [r for r in rs if r["type"] == "final"][0]
(sa, fa), (sb, fb) = load(sys.argv[1]), load(sys.argv[2])
assert len(sa) == len(sb) > 0, (len(sa), len(sb))
bad = [(a["step"], a["loss"], b["loss"]) for a, b in zip(sa, sb) if a["loss"] != b["loss"] or a["arrived"] != b["arrived"]]
assert not bad, "steps differ (step, local, nccl): %s" % bad[:5]
assert fa["test_acc"] == fb["test_acc"], (fa["test_acc"], fb["test_acc"])
assert any(2 not in a["arrived"] for a in sa), "the slowed worker was never dodged"
print("compress %s: %d steps, losses and arrivals equal; test_acc %.4f in both" % (sys.argv[3], len(sa), fa["test_acc"]))
PY
done
[ "$fails" = 0 ] && echo PASS
exit $(( fails > 0 ))
