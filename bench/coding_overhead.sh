#!/usr/bin/env bash
# Coding overhead with no stragglers (real clock, CPU): the step time of cyclic
# s=1 over d x the uncoded step time, same n workers, one BLAS thread each.
# d = s + 1 = 2: a cyclic worker computes twice the samples of an uncoded one, so
# a ratio of 1.00 means encoding, decoding and the extra message cost nothing.
#
# usage: bench/coding_overhead.sh [BUILD_DIR] [WORKERS] [STEPS]
set -euo pipefail
build="${1:-build}"
n="${2:-2}"
steps="${3:-300}"
bin="$build/codedtrain"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
field() { python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readlines()[-1])[sys.argv[2]])' "$1" "$2"; }
echo "| model | batch | n | path | uncoded step (ms) | cyclic s=1 step (ms) | d | ratio cyclic/(d x uncoded) |"
echo "|---|---|---|---|---|---|---|---|"
for model in 784-256-10 784-512-512-10; do
  for path in fast general; do
    extra=""; [ "$path" = general ] && extra="--general-path"
    for rep in 1 2; do
      "$bin" train --device cpu --model "mlp:$model" --batch 256 --workers "$n" --code uncoded --epochs 1 \
        --max-steps "$steps" --progress off --log "$tmp/u.jsonl" $extra >/dev/null
      "$bin" train --device cpu --model "mlp:$model" --batch 256 --workers "$n" --code cyclic --stragglers 1 \
        --epochs 1 --max-steps "$steps" --progress off --log "$tmp/c.jsonl" $extra >/dev/null
      u=$(field "$tmp/u.jsonl" mean_step_s); c=$(field "$tmp/c.jsonl" mean_step_s)
      python3 -c 'import sys; u,c=float(sys.argv[1]),float(sys.argv[2]); print(f"| {sys.argv[3]} | 256 | {sys.argv[4]} | {sys.argv[5]} | {u*1e3:.2f} | {c*1e3:.2f} | 2 | {c/(2*u):.3f} |")' \
        "$u" "$c" "$model" "$n" "$path (run $rep)"
    done
  done
done
