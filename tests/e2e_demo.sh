#!/usr/bin/env bash
# `codedtrain demo` (make run): says which clock and why, which codes and why,
# then compares them and writes the plot and a timeline per code. Run here on a
# small synthetic setting (the demo's flags are overridable) to stay quick.
set -u
bin="$1"
tmp="${CT_TEST_TMPDIR:-/tmp}/e2e_demo.$$"
mkdir -p "$tmp" && trap 'rm -rf "$tmp"' EXIT
"$bin" demo --device cpu --dataset synthetic:3000,20,5 --model mlp:20-16-5 --epochs 2 --target-acc 0.6 \
    --out "$tmp/out" >"$tmp/stdout" 2>"$tmp/stderr" || { echo "FAIL: demo exited $?"; cat "$tmp/stderr"; exit 1; }
fails=0
need() { grep -q -- "$1" "$tmp/stdout" || { echo "FAIL: output lacks '$1'"; fails=$((fails+1)); }; }
need "virtual clock: 8 worker threads on this machine cannot stand for 8 separate devices"
for c in uncoded ignore frep cyclic; do
  need "^  $c "                                  # why this code
  need "^$c  *[0-9.]*s  *[0-9.]*x"               # its row: time to target, ratio to uncoded
done
need "^uncoded  *[0-9.]*s  *1.00x"
for f in compare.csv uncoded.jsonl frep.jsonl; do [ -s "$tmp/out/$f" ] || { echo "FAIL: no $f"; fails=$((fails+1)); }; done
if command -v gnuplot >/dev/null; then
  for f in compare.png uncoded.timeline.png ignore.timeline.png frep.timeline.png cyclic.timeline.png; do
    [ -s "$tmp/out/$f" ] || { echo "FAIL: no $f"; fails=$((fails+1)); }
  done
fi
# --clock real on the CPU is the user's choice: the demo says what it means
"$bin" demo --help | grep -q "make run\|headline" || { echo "FAIL: demo --help"; fails=$((fails+1)); }
cat "$tmp/stdout"
[ "$fails" = 0 ]
