#!/usr/bin/env bash
# Bad input caught before any work (issue 17): sizes parsed with overflow checks,
# memory refused before allocating, dataset files that are FIFOs, dangling
# symlinks or loops named as such (and never hang), a header claiming more
# images than memory refused before reading, a train/test mismatch naming the
# files, every compare --codes element checked before the first run.
source "$(dirname "$0")/robust_common.sh"

# refused STATUS PATTERN -- ARGS: as expect, and nothing was trained first
refused() {
    expect "$@" || return 1
    if grep -q "^epoch\|^== " out; then fail "'$*' trained before refusing"; return 1; fi
}

# sizes: no silent wrap-around, no 12 GB synthetic set
refused 2 "N = 99999999999 must be between" -- train --device cpu --dataset synthetic:99999999999,2,2
refused 2 "N = 2147483647 must be between" -- train --device cpu --dataset synthetic:2147483647,1,2
refused 2 "DIM = 0" -- train --device cpu --dataset synthetic:10,0,2
refused 2 "synthetic:N,DIM,CLASSES" -- train --device cpu --dataset synthetic:10,2,2,7
refused 2 "GiB for the data alone" -- train --device cpu --dataset synthetic:900000000,4096,2
# a model that cannot fit: refused before any allocation, naming the model and the memory
refused 2 "mlp:32-50000-50000-4.*GiB.*more than this machine" -- train --device cpu --dataset synthetic:100,32,4 --model mlp:32-50000-50000-4
refused 2 "more than this machine" -- train --device cpu --dataset synthetic:100,32,4 --model mlp:32-8000-8000-4 --workers 200 --code ignore

# dataset files: a FIFO does not hang, symlinks to nothing and loops are named
mkdir d
python3 - d <<'PY'
import struct, sys, os
d = sys.argv[1]
def w(name, data): open(os.path.join(d, name), "wb").write(data)
w("train-images-idx3-ubyte", struct.pack(">IIII", 0x803, 20, 4, 4) + bytes(320))
w("train-labels-idx1-ubyte", struct.pack(">II", 0x801, 20) + bytes(20))
w("t10k-labels-idx1-ubyte", struct.pack(">II", 0x801, 5) + bytes(5))
PY
mkfifo d/t10k-images-idx3-ubyte
refused 2 "t10k-images-idx3-ubyte: not a regular file \(a FIFO\)" -- train --device cpu --data d --model mlp:8
mkfifo trace.fifo
refused 2 "trace.fifo: is a FIFO, not a regular file" -- train --device cpu --dataset synthetic:300,8,3 --model mlp:8 --workers 2 --straggle trace:trace.fifo
rm d/t10k-images-idx3-ubyte
ln -s nowhere d/t10k-images-idx3-ubyte
refused 2 "t10k-images-idx3-ubyte: dangling symlink" -- train --device cpu --data d --model mlp:8
rm d/t10k-images-idx3-ubyte
ln -s loop2 d/t10k-images-idx3-ubyte; ln -s t10k-images-idx3-ubyte d/loop2
refused 2 "t10k-images-idx3-ubyte: symlink loop" -- train --device cpu --data d --model mlp:8
rm d/t10k-images-idx3-ubyte d/loop2
# train and test of different shapes: both files named
python3 - d <<'PY'
import struct, sys, os
open(os.path.join(sys.argv[1], "t10k-images-idx3-ubyte"), "wb").write(struct.pack(">IIII", 0x803, 5, 5, 5) + bytes(125))
PY
refused 2 "train-images-idx3-ubyte.*t10k-images-idx3-ubyte.*16 vs 25" -- train --device cpu --data d --model mlp:8
# a gzip'd header claiming 2^31-1 images: refused from the header, memory never grows
python3 - d <<'PY'
import gzip, struct, sys, os
with gzip.open(os.path.join(sys.argv[1], "t10k-images-idx3-ubyte.gz"), "wb") as f:
    f.write(struct.pack(">IIII", 0x803, 2**31 - 1, 28, 28) + bytes(1 << 20))
PY
rm d/t10k-images-idx3-ubyte
# 4 GB of address space bounds the attempt; a sanitizer build cannot start under
# such a limit (its shadow memory), and runs without it
vlimit=4000000
( ulimit -v $vlimit; exec "$bin" --version ) >/dev/null 2>&1 || vlimit=unlimited
( ulimit -v $vlimit; exec timeout 60 "$bin" train --device cpu --data d --model mlp:8 ) >out 2>err
rc=$?
if [ "$rc" != 2 ] || ! grep -q "t10k-images-idx3-ubyte.gz: header says 2147483647 images.*more than this machine" err; then
    fail "huge gzip IDX header: exit $rc"; cat err
else echo "ok: huge gzip IDX header -> $(cat err)"; fi

# compare: every --codes element, before the first run trains
refused 2 "'bogus' is not a code" -- compare --codes uncoded,bogus --out cmp --device cpu --dataset synthetic:300,8,3 --model mlp:16 --epochs 1
[ -e cmp/uncoded.jsonl ] && fail "compare trained uncoded before refusing bogus"
refused 2 "named twice" -- compare --codes uncoded,uncoded --out cmp --device cpu --dataset synthetic:300,8,3 --model mlp:16 --epochs 1
refused 2 "--checkpoint: compare trains once per code" -- compare --codes uncoded,ignore --checkpoint c.st --out cmp --device cpu --dataset synthetic:300,8,3 --model mlp:16 --epochs 1
mkdir cmp2; mkfifo cmp2/ignore.jsonl
refused 2 "cmp2/ignore.jsonl: is a FIFO" -- compare --codes uncoded,ignore --out cmp2 --device cpu --dataset synthetic:300,8,3 --model mlp:16 --epochs 1
[ -e cmp2/uncoded.jsonl ] && fail "compare trained uncoded before refusing its FIFO output"

finish
