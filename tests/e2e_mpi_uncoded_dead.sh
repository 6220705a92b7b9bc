#!/usr/bin/env bash
# MPI transport, real clock: an uncoded run whose worker rank 2 is SIGKILLed fails
# cleanly (exit 1, naming the worker) after the deadline instead of hanging.
set -u
source "$(dirname "$0")/mpi_common.sh"
err="$tmp/mpi_uncoded.err"
rm -f "$tmp/mpi_uncoded.jsonl"
start=$(date +%s)
run_ranks 5 "$tmp/e2e_mpi_uncoded_dead.rc" "$bin" train --transport mpi --device cpu --dataset synthetic:4000,20,5 --model mlp:20-16-5 \
    --workers 4 --code uncoded --straggle shifted-exp:25,1 --deadline-ms 1500 --epochs 20 --progress off \
    --log "$tmp/mpi_uncoded.jsonl" 2>"$err" &
job=$!
# kill once steps are logged: a rank killed inside MPI_Init hangs Open MPI's start-up
for _ in $(seq 1 600); do [ -s "$tmp/mpi_uncoded.jsonl" ] && break; sleep 0.1; done
victim=$(kill_rank_after 2 0.5)
wait $job
rc=$(cat "$tmp/e2e_mpi_uncoded_dead.rc")
el=$(( $(date +%s) - start ))
echo "exit $rc after ${el}s (killed rank 2 = pid ${victim:-none})"
cat "$err"
fails=0
[ -n "$victim" ] || { echo "FAIL: no rank was killed"; fails=$((fails+1)); }
[ "$rc" = 1 ] || { echo "FAIL: expected exit 1, got $rc"; fails=$((fails+1)); }
grep -q "never answered: 1" "$err" || { echo "FAIL: message does not name worker 1 (rank 2)"; fails=$((fails+1)); }
[ "$el" -lt 60 ] || { echo "FAIL: took ${el}s"; fails=$((fails+1)); }
[ "$fails" = 0 ]
