#!/usr/bin/env bash
# What a virtual-clock sweep point costs: wall time of a virtual run at n = 256
# (the decoded gradient as one weighted pass) against the same uncoded
# single-worker run (n = 1), same model, data, batch and steps. MLP 784-256-10 on
# Fashion-MNIST, batch 256, 2 epochs (468 steps), default threads; whole-process
# wall time (data loading and the end-of-epoch test evaluations included, the
# same for every run). Each run 3 times, the median kept. Timing: run under the
# bench lock at normal priority.
#
# usage: bench/virtual_cost.sh [BUILD_DIR]
set -euo pipefail
build="${1:-build}"
common=(--device cpu --batch 256 --epochs 2 --seed 1 --progress off --clock virtual --unit-cost-ms 0.05)
wall() { # label, args...: median of 3 wall times
  local label=$1; shift
  local ts=()
  for r in 1 2 3; do  # timed inside the lock: waiting for it is not counted
    flock /tmp/ct-bench.lock /usr/bin/time -f %e -o /tmp/virtual_cost.time \
      "$build/codedtrain" train "${common[@]}" "$@" --log /tmp/virtual_cost.jsonl >/dev/null
    ts+=("$(tail -n 1 /tmp/virtual_cost.time)")
  done
  local med path
  med=$(printf '%s\n' "${ts[@]}" | sort -g | sed -n 2p)
  path=$(grep '"type":"final"' /tmp/virtual_cost.jsonl | python3 -c "import json,sys; print(json.load(sys.stdin).get('gradient_path', '-'))")
  echo "$label|$med|$path"
}
base=$(wall "uncoded n=1" --workers 1 --code uncoded)
echo "$base"
b=$(echo "$base" | cut -d'|' -f2)
for spec in "uncoded --stragglers 0" "ignore --stragglers 15" "frep --stragglers 15" "cyclic --stragglers 15" \
            "sgc --stragglers 15 --load 16" "bgc --stragglers 15 --load 16"; do
  set -- $spec
  line=$(wall "$1 n=256 s=15" --workers 256 --code $spec --straggle shifted-exp:0,0.5)
  t=$(echo "$line" | cut -d'|' -f2)
  echo "$line|$(python3 -c "print('%.2fx' % ($t / $b))")"
done
