#!/usr/bin/env bash
# The whole GPU check in one command, for a bare GPU machine that has the CUDA
# toolkit, cmake and gcc but no package registry (docs/gpu.md). From the
# repository root:
#
#   bench/gpu_check.sh
#
# Stages, in order, each logged with its exit code and seconds:
#   machine     GPU, driver, CUDA, compilers (always)
#   deps        unpack the carried .deb files (bench/gpu_bundle.sh) into a private
#               prefix with dpkg -x (never into /): CT_BUILD/deps-prefix
#   build       configure and build for sm_90 (CT_BUILD_REUSE=1: use CT_BUILD as is)
#   cpu         the CPU-side hang and sync checks (cpu-streams backend)
#   cuda_tests  every CUDA test, one at a time, each under a timeout
#   probes      the dead-worker / cancel-off / async / lsq / UEP scenarios on CUDA,
#               each under a timeout (a hang is a failure)
#   sanitizer   compute-sanitizer memcheck (leak check), racecheck (kernels with
#               shared memory), synccheck, initcheck
#   kernels     bench/bench_kernels --quick
#   throughput  codedtrain vs PyTorch samples/s (bench/train_throughput.sh)
#   tta         real-throttle coded vs uncoded time to accuracy, n = 8 streams
# Without a GPU (or with CT_GPU=0) the GPU stages say SKIPPED. A budget guard
# (CT_BUDGET_S, default 540 s) trims stage timeouts and skips what no longer
# fits. Writes into $OUT (default bench/results/gpu_check): summary.md, the
# tables (kernels.md, throughput.md, tta.txt), logs.tar.gz, results.tar.gz.
# Exit 0 when every stage that ran passed.
#
# env: OUT, CT_BUNDLE (default .carry), CT_BUILD (default build-gpu),
#      CT_BUILD_REUSE (1: do not configure or build), CT_BUDGET_S, CT_GPU (0: no GPU stages)
set -uo pipefail
if [ ! -f CMakeLists.txt ] || [ ! -f bench/gpu_check.sh ]; then
    echo "gpu_check.sh: run it from the repository root" >&2
    exit 2
fi
root="$(pwd)"
out="${OUT:-bench/results/gpu_check}"
bundle="${CT_BUNDLE:-.carry}"
build="${CT_BUILD:-build-gpu}"
budget="${CT_BUDGET_S:-540}"
reserve=15 # seconds kept for packing the results
mkdir -p "$out" "$build" || { echo "gpu_check.sh: cannot create $out or $build" >&2; exit 2; }
out="$(cd "$out" && pwd)"
build="$(cd "$build" && pwd)" # absolute: the binaries' rpath names the prefix inside it
work="$(mktemp -d "${TMPDIR:-/tmp}/ct-gpu-check.XXXXXX")"
logs="$work/logs"
res="$work/results"
mkdir -p "$logs" "$res"
t_start=$(date +%s)
rows=()
failed=0

have_gpu=0
if [ "${CT_GPU:-auto}" != 0 ] && command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
    have_gpu=1
fi
nvcc_bin="$(command -v nvcc || ls /usr/local/cuda/bin/nvcc 2>/dev/null || true)"
[ -n "$nvcc_bin" ] && export CUDACXX="$nvcc_bin" PATH="$(dirname "$nvcc_bin"):$PATH"

elapsed() { echo $(( $(date +%s) - t_start )); }

# stage NAME CAP_S COMMAND_STRING: runs the command (bash -c) under a timeout of
# min(CAP_S, what the budget has left), logs to logs/NAME.log
stage() {
    local name="$1" cap="$2" cmd="$3"
    local left=$(( budget - $(elapsed) - reserve ))
    if [ "$left" -lt 10 ]; then
        skip "$name" "budget: $(elapsed) s of $budget used"
        return
    fi
    local lim=$(( cap < left ? cap : left ))
    local t0=$(date +%s)
    timeout --kill-after=5 "$lim" bash -c "$cmd" >"$logs/$name.log" 2>&1
    local rc=$?
    local dt=$(( $(date +%s) - t0 ))
    local status=ok
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
        status="TIMEOUT (${lim} s)"
        failed=1
    elif [ "$rc" != 0 ]; then
        status=FAILED
        failed=1
    fi
    rows+=("| $name | $status | $rc | $dt |")
    printf '%-11s %-16s exit %-4s %4s s\n' "$name" "$status" "$rc" "$dt"
    [ "$status" = ok ] || tail -n 5 "$logs/$name.log" | sed 's/^/    /'
}
skip() {
    rows+=("| $1 | SKIPPED: $2 | - | 0 |")
    printf '%-11s SKIPPED: %s\n' "$1" "$2"
}

# ---- machine ----
stage machine 30 '
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"; uname -a
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 || echo "nvidia-smi: none"
    "${CUDACXX:-nvcc}" --version 2>&1 | tail -2 || echo "nvcc: none"
    cmake --version | head -1; gcc --version | head -1; nproc
    python3 -c "import torch; print(\"torch\", torch.__version__, \"cuda\", torch.version.cuda)" 2>&1 || true
    true'

# ---- deps: carried packages into a private prefix ----
cmake_args=()
# inside the build folder: the binaries' rpath points here, so it stays with them
prefix="${CT_PREFIX:-$build/deps-prefix}"
if ls "$bundle"/debs/*.deb >/dev/null 2>&1; then
    stage deps 60 "set -e; rm -rf '$prefix'; mkdir -p '$prefix'; for d in '$bundle'/debs/*.deb; do dpkg -x \"\$d\" '$prefix'; done
        # absolute links (libz.so -> /lib/...) would leave the prefix: point them inside it
        find '$prefix' -type l | while read -r l; do t=\$(readlink \"\$l\"); case \$t in /*) ln -sfn '$prefix'\"\$t\" \"\$l\";; esac; done
        ls '$prefix'/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so '$prefix'/usr/include/lapacke.h '$prefix'/usr/include/zlib.h"
    libdirs="$prefix/usr/lib/x86_64-linux-gnu/openblas-pthread:$prefix/usr/lib/x86_64-linux-gnu:$prefix/lib/x86_64-linux-gnu"
    export LD_LIBRARY_PATH="$libdirs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    cmake_args=(-DOPENBLAS_LIB="$prefix/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so"
                -DCBLAS_INCLUDE="$prefix/usr/include/x86_64-linux-gnu/openblas-pthread"
                -DLAPACKE_LIB="$prefix/usr/lib/x86_64-linux-gnu/liblapacke.so"
                -DLAPACKE_INCLUDE="$prefix/usr/include"
                -DZLIB_INCLUDE_DIR="$prefix/usr/include" -DZLIB_LIBRARY="$prefix/usr/lib/x86_64-linux-gnu/libz.so"
                # RPATH, not RUNPATH: it also finds the libraries' own needs (libblas.so.3, libgfortran)
                "-DCMAKE_EXE_LINKER_FLAGS=-Wl,--disable-new-dtags -Wl,-rpath-link,$libdirs -Wl,-rpath,$libdirs")
else
    skip deps "no carried packages in $bundle/debs (using the system's)"
fi
data_dir=""
[ -f "$bundle/fashion-mnist/train-images-idx3-ubyte.gz" ] && data_dir="$(cd "$bundle/fashion-mnist" && pwd)"
export CT_DATA_DIR="$data_dir"

# ---- build ----
if [ "${CT_BUILD_REUSE:-0}" = 1 ]; then
    stage build 30 "test -x '$build/codedtrain' && echo 'reusing $build (not rebuilt)'"
else
    arch=()
    [ -f "$build/CMakeCache.txt" ] || arch=(-DCMAKE_CUDA_ARCHITECTURES=90)
    printf -v cfg '%q ' cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release "${arch[@]}" "${cmake_args[@]}"
    stage build 360 "set -eo pipefail; $cfg | tee '$work/configure.log'; cmake --build '$build' -j $(nproc)
        if [ $have_gpu = 1 ]; then grep -q 'CUDA backend ON' '$work/configure.log'; fi"
fi
bin="$build/codedtrain"
if [ ! -x "$bin" ]; then
    echo "no $bin: nothing more can run" >&2
    have_gpu=0
    cpu_ok=0
else
    cpu_ok=1
fi

# ---- CPU stages ----
if [ "$cpu_ok" = 1 ]; then
    stage cpu 120 "set -e; '$build/tests/test_backend_cpu_streams'; '$build/tests/test_host_step_syncs'
        CT_TEST_TMPDIR='$work' bash tests/e2e_cpu_streams.sh '$bin'"
else
    skip cpu "no build"
fi

# ---- GPU stages ----
gpu_stage() { # NAME CAP CMD
    if [ "$have_gpu" = 1 ]; then stage "$@"; else skip "$1" "no usable GPU"; fi
}
cuda_tests="test_cuda_ops test_cuda_uep_gemm test_nn_cuda_mlp test_nn_cuda_graph test_host_coded_gradient test_host_uep_backend"
gpu_stage cuda_tests 150 "fails=0; for t in $cuda_tests; do echo \"== \$t\"; timeout 90 '$build/tests/'\$t; rc=\$?
        echo \"== \$t exit \$rc\"; [ \$rc = 0 ] || fails=\$((fails+1)); done; exit \$fails"
gpu_stage probes 150 "CT_E2E_DEVICE=cuda CT_TEST_TMPDIR='$work' bash tests/e2e_cpu_streams.sh '$bin'"
san="compute-sanitizer --error-exitcode 1"
gpu_stage sanitizer 200 "export CT_TEST_UNDER_TOOL=1; fails=0
        run() { echo \"== \$*\"; timeout 60 \"\$@\"; rc=\$?; echo \"== exit \$rc\"; [ \$rc = 0 ] || fails=\$((fails+1)); }
        run $san --tool memcheck --leak-check full '$build/tests/test_nn_cuda_mlp'
        run $san --tool racecheck '$build/tests/test_cuda_uep_gemm'
        run $san --tool synccheck '$build/tests/test_cuda_ops'
        run $san --tool initcheck '$build/tests/test_nn_cuda_graph'
        exit \$fails"
gpu_stage kernels 90 "'$build/bench/bench_kernels' --quick | tee '$res/kernels.md'"
gpu_stage throughput 90 "bench/train_throughput.sh '$build' $(nproc) 300 | tee '$res/throughput.md'"
gpu_stage tta 170 "bench/gpu_time_to_accuracy.sh '$build' '$res/tta' 2"

# ---- summary and results ----
{
    echo "# bench/gpu_check.sh"
    echo
    echo "$(date -u +%Y-%m-%d), $(elapsed) s of a $budget s budget; GPU stages $([ $have_gpu = 1 ] && echo ran || echo 'SKIPPED (no usable GPU)')."
    echo
    echo '```'
    sed -n '1,12p' "$logs/machine.log" 2>/dev/null
    echo '```'
    echo
    echo "| stage | status | exit | seconds |"
    echo "|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
} > "$out/summary.md"
[ -s "$res/kernels.md" ] && cp "$res/kernels.md" "$out/kernels.md"
[ -s "$res/throughput.md" ] && cp "$res/throughput.md" "$out/throughput.md"
[ -s "$res/tta/table.txt" ] && cp "$res/tta/table.txt" "$out/tta.txt"
tar czf "$out/logs.tar.gz" -C "$work" logs
tar czf "$out/results.tar.gz" -C "$work" results
rm -rf "$work"
echo "summary: $out/summary.md ($(elapsed) s)"
cat "$out/summary.md" | tail -n $(( ${#rows[@]} + 2 ))
exit "$failed"
