# Shared by tests/e2e_mpi_*.sh (not a test itself: the name does not start with e2e_).
# Skips (exit 77) when mpirun is missing or the binary was built without MPI.
# Open MPI allocates at init and never frees (in libmpi and its dlopen'ed
# components), which LeakSanitizer reports at exit in the sanitizer build. Those
# are not ours: keep ASan's memory-error checks, skip its leak report, for the
# MPI ranks only (every other test still checks leaks).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"

bin="$1"
tmp="${CT_TEST_TMPDIR:-/tmp}"
command -v mpirun >/dev/null 2>&1 || { echo "SKIP: mpirun not found (apt-get install openmpi-bin)"; exit 77; }
probe=$(timeout 60 "$bin" train --transport mpi --workers 1 --dataset synthetic:100,4,2 --model logreg --epochs 1 \
        --device cpu --progress off 2>&1)
if echo "$probe" | grep -q "MPI support was not built"; then echo "SKIP: built without MPI"; exit 77; fi
# --enable-recovery: a worker rank killed by a signal must not take the job down
# (Open MPI 4.1's default aborts every rank); root in containers needs the flag.
MPIRUN=(mpirun --oversubscribe --enable-recovery --bind-to none)
[ "$(id -u)" = 0 ] && MPIRUN+=(--allow-run-as-root)
# With --enable-recovery Open MPI 4.1's mpirun exits 0 whatever the ranks return,
# so the master's own exit status is what the tests check (worker ranks are exec'ed,
# so that Open MPI sees a killed worker as killed):
#   run_ranks NP RCFILE ARGS...  runs ARGS on NP ranks; rank 0's exit status lands in RCFILE
run_ranks() {
    local np=$1 rcfile=$2
    shift 2
    rm -f "$rcfile"
    timeout 120 "${MPIRUN[@]}" -np "$np" bash -c \
        'f=$1; shift; [ "${OMPI_COMM_WORLD_RANK:-0}" = 0 ] || exec "$@"; r=0; "$@" || r=$?; echo $r >"$f"; exit $r' \
        _ "$rcfile" "$@"
    local mrc=$?
    [ -s "$rcfile" ] || echo "mpirun exit $mrc, no status from rank 0" >"$rcfile"
}
# pid of the codedtrain process that is MPI rank $1 of a job started by this script
rank_pid() {
    local p exe
    exe=$(readlink -f "$bin")
    for p in $(pgrep -f "$bin train" 2>/dev/null); do
        [ "$(readlink -f "/proc/$p/exe" 2>/dev/null)" = "$exe" ] || continue
        if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$1"; then echo "$p"; return 0; fi
    done
    return 1
}
# wait (up to $2 s) until rank $1 exists, then SIGKILL it; prints its pid
kill_rank_after() {
    local rank=$1 delay=$2 pid="" i
    sleep "$delay"
    for i in $(seq 1 50); do pid=$(rank_pid "$rank") && break; sleep 0.1; done
    [ -n "$pid" ] || { echo "could not find rank $rank" >&2; return 1; }
    kill -9 "$pid" && echo "$pid"
}
