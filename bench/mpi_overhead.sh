#!/usr/bin/env bash
# Per-step overhead of --transport mpi vs local at n = 4 workers on one machine
# (CPU), messages of ~1e4..1e7 floats (P of mlp:100-H-10), full precision and
# 1-bit (sign-ef). Bytes on the wire come from the master's transport summary;
# time per step is the mean over the run (real clock, no stragglers).
# usage: bench/mpi_overhead.sh [BIN] [OUT.md]
set -u
bin="${1:-build/codedtrain}"
out="${2:-bench/results/mpi_overhead.md}"
tmp=$(mktemp -d)
MPIRUN=(mpirun --oversubscribe --enable-recovery --bind-to none)
[ "$(id -u)" = 0 ] && MPIRUN+=(--allow-run-as-root)
{
echo "# MPI transport overhead vs local (n = 4 workers, cyclic s = 1, CPU)"
echo
echo "- command: \`bench/mpi_overhead.sh $bin\` ($(date -u +%Y-%m-%d))"
echo "- machine: $(lscpu | grep 'Model name' | sed 's/ \+/ /g'), $(nproc) cores; Open MPI $(mpirun --version | head -1 | awk '{print $NF}'), shared memory (vader) between ranks"
echo "- every run: \`--dataset synthetic:2000,100,10 --model mlp:100-H-10 --workers 4 --code cyclic --stragglers 1 --batch 128 --device cpu\`, real clock; mpi: \`mpirun -np 5\` (5 processes on $(nproc) cores)"
echo "- bytes/step: measured by the master (payload + headers); down = parameters + task to every assigned worker, up = coded messages that came back"
echo
echo "| P (floats) | messages | local s/step | mpi s/step | overhead s/step | MB/step down | MB/step up |"
echo "|---:|---|---:|---:|---:|---:|---:|"
} >"$out"
for H in 90 900 9000 90000; do
  P=$((100 * H + H + H * 10 + 10))
  steps=20; [ "$H" -ge 90000 ] && steps=6
  for comp in none sign-ef; do
    args=(train --device cpu --dataset synthetic:2000,100,10 --model "mlp:100-$H-10" --workers 4 --code cyclic
          --stragglers 1 --max-steps "$steps" --epochs 1 --progress lines --compress "$comp")
    "$bin" "${args[@]}" --log "$tmp/l.jsonl" >/dev/null 2>&1 || { echo "local run failed (H=$H $comp)"; continue; }
    "${MPIRUN[@]}" -np 5 "$bin" "${args[@]}" --transport mpi --log "$tmp/m.jsonl" >"$tmp/m.out" 2>&1
    row=$(python3 - "$tmp/l.jsonl" "$tmp/m.jsonl" "$tmp/m.out" "$P" "$comp" <<'PY'
import json, re, sys
def per_step(p):
    st = [json.loads(l) for l in open(p)]
    st = [r for r in st if r["type"] == "step"][1:]  # the first step warms up
    return (st[-1]["time_s"] - st[0]["time_s"]) / (len(st) - 1), len(st) + 1
l, n = per_step(sys.argv[1]); m, _ = per_step(sys.argv[2])
txt = open(sys.argv[3]).read()
g = re.search(r"(\d+) tasks, ([\d.]+) MB to workers, ([\d.]+) MB from workers", txt)
down = float(g.group(2)) / n; up = float(g.group(3)) / n
kind = "32-bit" if sys.argv[5] == "none" else "1-bit (sign-ef)"
print(f"| {int(sys.argv[4]):,} | {kind} | {l:.4f} | {m:.4f} | {m - l:+.4f} | {down:.3f} | {up:.3f} |")
PY
)
    echo "$row" | tee -a "$out"
  done
done
rm -rf "$tmp"
