#!/usr/bin/env bash
# Golden outputs: what the program computes, pinned bit for bit. A set of short
# virtual-clock runs (every code, policy, compression, async ldgm, UEP scheme, straggler
# model, checkpoint/resume) writes JSON Lines logs, and `codes --json` / `uep --json`
# print tables; `record` stores them in tests/golden/, `compare` checks the current
# build against the stored ones with tests/golden_compare.py (wall-clock fields and
# fields added after recording are not compared; see docs/design.md, "Golden outputs").
#
#   tests/golden.sh record  BUILD/codedtrain   # after an intentional behaviour change
#   tests/golden.sh compare BUILD/codedtrain   # ctest `golden`
#
# BLAS results depend on the kernel OpenBLAS picks for the CPU. The goldens were
# recorded with the Haswell kernel, which every AVX2 machine (Intel or AMD) runs, so
# where nothing chose a kernel the comparison pins that one and is bit for bit. Where
# the environment already sets OPENBLAS_CORETYPE (some machines need a particular
# kernel to compute correctly) it is left alone, and a kernel other than Haswell, or a
# CPU without AVX2, compares numbers to a relative 1e-4 instead of bit for bit; the
# structure (arrivals, steps, decisions, every non-float field) stays exact.
set -u
mode="${1:?usage: golden.sh record|compare CODEDTRAIN}"; bin="${2:?usage: golden.sh record|compare CODEDTRAIN}"
here=$(cd "$(dirname "$0")" && pwd)
gold="$here/golden"
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
rel_tol=0
if [ -z "${OPENBLAS_CORETYPE:-}" ] && grep -qw avx2 /proc/cpuinfo 2>/dev/null && grep -qw fma /proc/cpuinfo; then
    export OPENBLAS_CORETYPE=Haswell
elif [ "${OPENBLAS_CORETYPE:-}" != Haswell ]; then
    rel_tol=1e-4
    echo "note: OpenBLAS kernel ${OPENBLAS_CORETYPE:-default, no AVX2} is not the recorded one (Haswell):" \
         "numbers compared to a relative $rel_tol, everything else exactly"
fi
tmp="${CT_TEST_TMPDIR:-/tmp}/golden.$$"
mkdir -p "$tmp" && trap 'rm -rf "$tmp"' EXIT
fails=0

# small, fast, deterministic: synthetic data, one BLAS thread, CPU, virtual clock
D=(--device cpu --threads 1 --dataset synthetic:400,12,4 --model mlp:12-8-4 --batch 50 --epochs 2
   --clock virtual --progress off)
S=(--straggle shifted-exp:5,1)

# train NAME ARGS...: one run, its log is the golden output
train() {
    local name="$1"; shift
    if ! "$bin" train "${D[@]}" "$@" --log "$out/$name.jsonl" >"$tmp/$name.out" 2>&1; then
        echo "FAIL: $name: train $* exited nonzero:"; cat "$tmp/$name.out"; fails=$((fails+1))
    fi
}
# table NAME SUBCOMMAND ARGS...: stdout of a --json table is the golden output
table() {
    local name="$1"; shift
    if ! "$bin" "$@" --json >"$out/$name.json" 2>"$tmp/$name.err"; then
        echo "FAIL: $name: $* exited nonzero:"; cat "$tmp/$name.err"; fails=$((fails+1))
    fi
}

# run_all DIR: every case, outputs into DIR
run_all() {
out="$1"; mkdir -p "$out"
# ---- every code (4-6 workers), on the default policy ----
train code_uncoded      --workers 4 --code uncoded "${S[@]}"
train code_ignore       --workers 4 --code ignore --stragglers 1 "${S[@]}"
train code_frep         --workers 4 --code frep --stragglers 1 "${S[@]}"
train code_cyclic       --workers 4 --code cyclic --stragglers 1 "${S[@]}"
train code_cyclic_mds   --workers 5 --code cyclic-mds --stragglers 2 "${S[@]}"
train code_expander     --workers 6 --code expander --stragglers 2 --load 3 "${S[@]}"
train code_bgc          --workers 6 --code bgc --stragglers 2 --load 3 "${S[@]}"
train code_sgc          --workers 4 --code sgc --stragglers 1 "${S[@]}"
train code_erasurehead  --workers 4 --code erasurehead --stragglers 1 "${S[@]}"
train code_alpha_subset --workers 5 --code alpha-subset --stragglers 2 --alpha 0.8 "${S[@]}"
train code_alpha_cyclic --workers 5 --code alpha-cyclic --stragglers 2 --alpha 0.8 --messages 2 "${S[@]}"
train code_ldgm         --workers 6 --code ldgm --stragglers 2 "${S[@]}"
train general_path      --workers 4 --code cyclic --stragglers 1 --general-path "${S[@]}"
# ---- policies ----
train policy_fastest_k  --workers 5 --code cyclic --stragglers 2 --policy fastest-k --k 3 "${S[@]}"
train policy_adaptive_k --workers 5 --code uncoded --policy adaptive-k --k 3 --k-schedule auto "${S[@]}"
train policy_cmab       --workers 5 --code uncoded --policy cmab --k 3 --straggle exp-means:1,2,3,4,8
train policy_cmab_ucb   --workers 5 --code uncoded --policy cmab-ucb --k 3 --k-schedule steps:3@0,4@8 \
                        --straggle exp-means:1,2,3,4,8
train deadline          --workers 4 --code bgc --stragglers 2 --load 2 --deadline-ms 7.5 --cancel-late off "${S[@]}"
# ---- straggler models ----
train straggle_slow     --workers 4 --code cyclic --stragglers 1 --straggle slow:1@4
train straggle_drop     --workers 4 --code cyclic --stragglers 1 --straggle drop:2
train straggle_pareto   --workers 4 --code frep --stragglers 1 --straggle pareto:2,1
train straggle_bimodal  --workers 4 --code cyclic --stragglers 1 --straggle bimodal:0.3,20+shifted-exp:1,1
# ---- compression ----
train compress_sign       --workers 4 --code cyclic --stragglers 1 --compress sign "${S[@]}"
train compress_sign_ef    --workers 4 --code cyclic --stragglers 1 --compress sign-ef "${S[@]}"
train compress_sign_plain --workers 4 --code cyclic --stragglers 1 --compress sign-plain "${S[@]}"
# ---- async ldgm ----
train async_ldgm_zero   --workers 6 --code ldgm --stragglers 2 --async --deadline-ms 8 --lossy zero "${S[@]}"
train async_ldgm_lsq    --workers 6 --code ldgm --stragglers 2 --async --deadline-ms 8 --lossy lsq \
                        --max-staleness 2 "${S[@]}"
# ---- optimiser, evaluation, single worker ----
train single_worker     --lr-schedule cosine --momentum 0.5 --weight-decay 0.001
train eval_every_target --workers 4 --code frep --stragglers 1 --eval-every 3 --target-acc 0.6 "${S[@]}"
# ---- checkpoint / resume: 2 epochs saved at step 5, resumed to 3 epochs ----
train ckpt_first        --workers 4 --code cyclic --stragglers 1 --max-steps 5 \
                        --checkpoint "$tmp/ck.safetensors" "${S[@]}"
train ckpt_resumed      --workers 4 --code cyclic --stragglers 1 --epochs 3 --resume "$tmp/ck.safetensors" "${S[@]}"
# ---- UEP-coded backprop: every scheme on the host path, the pool on the virtual clock ----
U=(--model mlp:12-9-4 --uep-workers 6 --uep-deadline 1)
for sc in now ew eep uncoded exact; do train "uep_$sc" "${U[@]}" --uep "$sc"; done
train uep_cxr           "${U[@]}" --dataset synthetic:400,12,9 --model mlp:12-9-9 --uep ew --uep-paradigm cxr
train uep_pool_cpu      "${U[@]}" --uep now --uep-device cpu
# ---- tables ----
table codes_cyclic      codes --scheme cyclic --workers 6 --stragglers 2
table codes_expander    codes --scheme expander --workers 8 --stragglers 2 --load 3 --decoder optimal
table codes_alpha       codes --scheme alpha-cyclic --workers 6 --stragglers 2 --alpha 0.8 --messages 2
table codes_ldgm        codes --scheme ldgm --workers 8 --stragglers 2
table codes_bound       codes --bound --workers 10 --stragglers 3 --alpha 0.9
table uep_rxc           uep --workers-range 5:15:5 --trials 200
table uep_cxr_cpu       uep --paradigm cxr --workers-range 6 --trials 100 --device cpu
}

case "$mode" in
record)
    [ "$rel_tol" = 0 ] || { echo "not recorded: record with the Haswell kernel (unset OPENBLAS_CORETYPE on an AVX2 machine)"; exit 1; }
    # twice: anything but the known wall-clock fields that differs is not deterministic
    run_all "$tmp/again"
    run_all "$tmp/out"
    [ "$fails" -eq 0 ] || { echo "not recorded: $fails runs failed"; exit 1; }
    python3 "$here/golden_compare.py" "$tmp/again" "$out" >"$tmp/twice" ||
        { grep -v '^ok:' "$tmp/twice"; echo "not recorded: two runs of this build differ"; exit 1; }
    rm -rf "$gold" && mkdir -p "$gold" && cp "$out"/* "$gold"/
    echo "recorded $(ls "$gold" | wc -l) golden outputs in $gold"
    ;;
compare)
    run_all "$tmp/out"
    python3 "$here/golden_compare.py" --rel-tol "$rel_tol" "$gold" "$out" || fails=$((fails+1))
    [ "$fails" -eq 0 ]
    ;;
*) echo "usage: golden.sh record|compare CODEDTRAIN"; exit 2;;
esac
