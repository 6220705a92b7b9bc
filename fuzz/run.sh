#!/usr/bin/env bash
# Runs every built libFuzzer harness for a fixed time on a scratch copy of its
# committed seed corpus (so the committed corpus never changes), and fails if
# any of them finds a crash, leak, sanitizer report or timeout.
#   fuzz/run.sh BUILD_DIR SECONDS [SCRATCH_DIR]
# Reproducers (crash-*, leak-*, timeout-*, oom-*) and logs are kept in
# SCRATCH_DIR/<harness>/; replay one with BUILD_DIR/fuzz/<harness> FILE.
set -uo pipefail
build=${1:?usage: fuzz/run.sh BUILD_DIR SECONDS [SCRATCH_DIR]}
secs=${2:?usage: fuzz/run.sh BUILD_DIR SECONDS [SCRATCH_DIR]}
src=$(cd "$(dirname "$0")" && pwd)
scratch=${3:-$build/fuzz-runs}
rm -rf "$scratch"
mkdir -p "$scratch"
fail=0
for bin in "$build"/fuzz/fuzz_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin")
  dir=$scratch/$name
  mkdir -p "$dir/corpus"
  [ -d "$src/corpus/$name" ] && cp "$src/corpus/$name"/* "$dir/corpus/" 2>/dev/null
  # -timeout: one input taking over 10 s is a hang; -rss_limit_mb bounds memory;
  # only the scratch corpus (first dir) receives new inputs.
  # a child's own crash is reported once in the log; detect_leaks stays on (LSan)
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
  "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$dir/" "$dir/corpus" >"$dir/log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log")
  size=$(ls "$dir/corpus" | wc -l)
  if [ $rc -ne 0 ] || ls "$dir"/crash-* "$dir"/leak-* "$dir"/timeout-* "$dir"/oom-* >/dev/null 2>&1; then
    echo "FAIL $name (exit $rc, $execs runs): see $dir/log"
    grep -m5 -E "ERROR|runtime error|SUMMARY|Test unit written" "$dir/log" | sed 's/^/    /'
    fail=1
  else
    echo "ok   $name: ${secs}s, $execs runs, corpus $size files"
  fi
done
exit $fail
