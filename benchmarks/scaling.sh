#!/usr/bin/env bash
# Issue 4: decode tokens/s against ReGLU sparsity (0, 50, 70, 90%), sparse kernels vs the dense
# baseline, and against 1 and 2 threads. 4B shape, Q4_0, transposed down, exact head (so only the
# experts change). Writes benchmarks/results/scaling.md.
source "$(dirname "$0")/common.sh"
REPS="${REPS:-5}"
out="$RESULTS/scaling.md"
{
  echo "# Decode scaling: ReGLU sparsity, sparse vs dense experts, threads (4B shape, Q4_0, tg128)"
  echo
  machine_line
  echo
  for s in 0.0 0.5 0.7 0.9; do
    m=$(gen "4b-q4_0-s${s}" --preset 4b --type q4_0 --down transposed --sparsity "$s" --hot-expert-rate 0.45)
    quiet_begin
    echo "## sparsity target $s: sparse kernels, 1 and 2 threads"
    "$(bin bench)" -m "$m" -p 0 -n 128 -r "$REPS" --threads-list 1,2 --bandwidth-mib 0
    echo "## sparsity target $s: dense experts, 1 and 2 threads"
    "$(bin bench)" -m "$m" -p 0 -n 128 -r "$REPS" --threads-list 1,2 --dense-experts --bandwidth-mib 0
    quiet_end
  done
} | tee "$out"
