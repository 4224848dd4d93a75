#!/usr/bin/env bash
# Issue 4: the SmallThinker-21BA3B shape (Q4_0, about 11 GB) in memory: pp512 and tg128, 2 threads.
# Writes benchmarks/results/decode_21b.md.
source "$(dirname "$0")/common.sh"
REPS="${REPS:-3}"
m=$(gen 21b-q4_0-sparse --preset 21b --type q4_0 --down transposed --profiler-rank 256 --sparsity 0.7 --hot-expert-rate 0.42)
out="$RESULTS/decode_21b.md"
{
  echo "# SmallThinker-21BA3B shape, Q4_0, in memory"
  echo
  machine_line
  echo
  quiet_begin
  "$(bin bench)" -m "$m" -p 512 -n 128 -r "$REPS" -t 2
  quiet_end
} | tee "$out"
