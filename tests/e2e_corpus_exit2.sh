#!/usr/bin/env bash
# Every malformed input in the committed fuzz corpora, fed to the CLI the way a
# user would (a dataset directory, a checkpoint file), exits 2 with one message
# that names the file; the valid seeds train or evaluate (exit 0 or, for a
# checkpoint whose model does not fit Fashion-MNIST, exit 2 saying so). Nothing
# crashes and no other exit status appears.
set -u
bin="$1"
src="${CT_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}"
tmp="${CT_TEST_TMPDIR:-/tmp}/e2e_corpus.$$"
mkdir -p "$tmp" && trap 'rm -rf "$tmp"' EXIT
fails=0; checked=0

# IDX: corpus entries are a u32 LE split point, then the image file and the label file
for f in "$src"/fuzz/corpus/fuzz_idx/*; do
  name=$(basename "$f"); d="$tmp/idx-$name"; mkdir -p "$d"
  python3 - "$f" "$d" <<'PY'
import os, struct, sys
data = open(sys.argv[1], "rb").read()
split = struct.unpack("<I", data[:4])[0] if len(data) >= 4 else 0
rest = data[4:]
split %= len(rest) + 1
for prefix in ("train", "t10k"):
    open(os.path.join(sys.argv[2], f"{prefix}-images-idx3-ubyte"), "wb").write(rest[:split])
    open(os.path.join(sys.argv[2], f"{prefix}-labels-idx1-ubyte"), "wb").write(rest[split:])
PY
  "$bin" train --device cpu --data "$d" --model mlp:4 --batch 1 --epochs 1 --max-steps 2 --progress off \
      >"$tmp/out" 2>"$tmp/err"
  rc=$?; checked=$((checked+1))
  case "$name" in
    valid*) want=0 ;;
    *) want=2 ;;
  esac
  if [ "$rc" != "$want" ]; then echo "FAIL: idx/$name exited $rc, expected $want: $(head -2 "$tmp/err")"; fails=$((fails+1)); continue; fi
  if [ "$want" = 2 ]; then
    [ "$(wc -l <"$tmp/err")" = 1 ] || { echo "FAIL: idx/$name: not one line:"; cat "$tmp/err"; fails=$((fails+1)); }
    grep -q "idx3-ubyte\|idx1-ubyte" "$tmp/err" || { echo "FAIL: idx/$name: message names no file: $(cat "$tmp/err")"; fails=$((fails+1)); }
  fi
done

# checkpoints: codedtrain eval on each corpus file
data=/usr/share/datasets/fashion-mnist
if [ -d "$data" ]; then
  for f in "$src"/fuzz/corpus/fuzz_checkpoint/*; do
    name=$(basename "$f")
    "$bin" eval --checkpoint "$f" --device cpu >"$tmp/out" 2>"$tmp/err"
    rc=$?; checked=$((checked+1))
    case "$name" in
      valid*) [ "$rc" = 0 ] || [ "$rc" = 2 ] || { echo "FAIL: checkpoint/$name exited $rc"; fails=$((fails+1)); } ;;
      *)
        if [ "$rc" != 2 ]; then echo "FAIL: checkpoint/$name exited $rc, expected 2"; fails=$((fails+1)); continue; fi
        [ "$(wc -l <"$tmp/err")" = 1 ] || { echo "FAIL: checkpoint/$name: not one line:"; cat "$tmp/err"; fails=$((fails+1)); }
        grep -q "$name" "$tmp/err" || { echo "FAIL: checkpoint/$name: message does not name the file: $(cat "$tmp/err")"; fails=$((fails+1)); } ;;
    esac
  done
else
  echo "note: $data not installed, checkpoint corpus not checked"
fi
echo "$checked corpus files checked, $fails failed"
[ "$fails" = 0 ]
