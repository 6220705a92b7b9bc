#!/usr/bin/env bash
# MPI transport: the master (rank 0) is SIGKILLed mid-run. The worker ranks on its
# node notice within a few heartbeats and exit non-zero naming it (they used to
# wait 900 s of silence); mpirun then ends. A bad flag under mpirun is reported
# once (by rank 0), not once per rank.
set -u
source "$(dirname "$0")/mpi_common.sh"
work="$tmp/e2e_mpi_master_dead.$$"
mkdir -p "$work" && trap 'rm -rf "$work"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails+1)); }

# every rank's exit status lands in $work/rc.RANK, its stderr in $work/err.RANK
timeout 100 "${MPIRUN[@]}" -np 3 bash -c \
    'd=$1; shift; r=${OMPI_COMM_WORLD_RANK:-0}; "$@" 2>"$d/err.$r"; echo $? >"$d/rc.$r"' \
    _ "$work" "$bin" train --transport mpi --device cpu --threads 1 --dataset synthetic:4000,20,5 --model mlp:20-16-5 \
    --workers 2 --code uncoded --straggle shifted-exp:25,1 --epochs 100 --progress off --log "$work/log.jsonl" \
    >"$work/out" 2>&1 &
job=$!
# kill only once steps are being logged: a rank killed inside MPI_Init hangs the
# others in Open MPI's own start-up, which no code of ours can see
for _ in $(seq 1 600); do [ -s "$work/log.jsonl" ] && break; sleep 0.1; done
start=$(date +%s.%N)
victim=$(kill_rank_after 0 0.2)
wait $job
mrc=$?
took=$(echo "$(date +%s.%N) - $start" | bc)
echo "mpirun exit $mrc, $took s after the kill (killed rank 0 = pid ${victim:-none})"
[ -n "$victim" ] || fail "rank 0 was not found to kill"
[ "$mrc" = 124 ] && fail "mpirun still ran 100 s later: the worker ranks did not notice the dead master"
for r in 1 2; do
    rc=$(cat "$work/rc.$r" 2>/dev/null || echo none)
    echo "rank $r: exit $rc: $(cat "$work/err.$r" 2>/dev/null)"
    if [ "$rc" = none ] || [ "$rc" = 0 ]; then fail "rank $r exit $rc, expected non-zero"; fi
    grep -q "the master (rank 0, pid [0-9]*) has died" "$work/err.$r" || fail "rank $r does not say the master died"
done

# a bad flag: one message, from rank 0
timeout 60 "${MPIRUN[@]}" -np 3 "$bin" train --transport mpi --workers 2 --device cpu --epochs 0 >"$work/out" 2>"$work/err"
n=$(grep -c -- "--epochs 0" "$work/err")
[ "$n" = 1 ] || { fail "a bad flag under mpirun -np 3 printed $n messages, expected 1"; cat "$work/err"; }

echo "$fails failed"
[ "$fails" = 0 ]
