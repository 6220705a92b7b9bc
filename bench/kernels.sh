#!/usr/bin/env bash
# Runs the kernel benchmark (bench/bench_kernels.c; builds nothing) and keeps its
# markdown table under bench/results/kernels-<gpu>.md. Without a usable GPU the
# program says so and no results file is written.
# Usage: bench/kernels.sh [BUILD_DIR] [-- bench_kernels args, e.g. --quick]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../build}"
[ "${1:-}" != "" ] && shift
[ "${1:-}" = "--" ] && shift
bin="$build/bench/bench_kernels"
if [ ! -x "$bin" ]; then
  echo "kernels.sh: $bin not found; build it first: cmake --build $build --target bench_kernels" >&2
  exit 2
fi
gpu="unknown"
if command -v nvidia-smi >/dev/null 2>&1; then
  gpu="$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n1 || true)"
fi
# a file-name-safe GPU name: "NVIDIA H100 80GB HBM3" -> nvidia-h100-80gb-hbm3
slug="$(printf '%s' "${gpu:-unknown}" | tr '[:upper:]' '[:lower:]' | tr -cs 'a-z0-9' '-' | sed 's/^-//; s/-$//')"
tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
"$bin" "$@" | tee "$tmp"
if grep -q '^no usable CUDA GPU' "$tmp"; then
  exit 0
fi
mkdir -p "$here/results"
out="$here/results/kernels-${slug:-unknown}.md"
cp "$tmp" "$out"
echo "kernels.sh: table written to $out" >&2
