#!/usr/bin/env bash
# Issue 4: decode (tg128) and prompt (pp512) speed of the full-size SmallThinker-4BA0.6B shape,
# Q4_0, in memory, 2 threads, median of 5 runs:
#   - transposed down, realistic ReGLU sparsity (70% of neurons inactive), LM-head profiler;
#   - the dense (normal) layout without profiler.
# Writes benchmarks/results/decode_4b.md.
source "$(dirname "$0")/common.sh"
REPS="${REPS:-5}"
sparse=$(gen 4b-q4_0-sparse --preset 4b --type q4_0 --down transposed --profiler-rank 256 --sparsity 0.7 --hot-expert-rate 0.45)
dense=$(gen 4b-q4_0-dense --preset 4b --type q4_0 --down normal --sparsity 0.7 --hot-expert-rate 0.45)
out="$RESULTS/decode_4b.md"
{
  echo "# SmallThinker-4BA0.6B shape, Q4_0, in memory"
  echo
  machine_line
  echo
  quiet_begin
  "$(bin bench)" -m "$sparse" -p 512 -n 128 -r "$REPS" -t 2
  "$(bin bench)" -m "$dense" -p 512 -n 128 -r "$REPS" -t 2 --bandwidth-mib 0
  quiet_end
} | tee "$out"
