#!/usr/bin/env bash
# Several sequences decoded together (issue 11): the 4B shape, Q4_0, authors' layout, in memory,
# 2 threads, at two expert popularities (the generator's default skew: the hot quarter of experts
# fires at 45% each; a weaker one: 25%, against 12.5% uniform).
#   1. smallthinker-cli --batch-file with 8 prompts x 64 tokens, --parallel 1 against --parallel 8:
#      wall time (median of REPS runs) and whether every answer is identical;
#   2. smallthinker-bench --n-parallel 1,2,4,8: aggregate decode t/s and weight + KV bytes read per
#      token (the batched path reads each expert once per step for all its tokens).
# Writes benchmarks/results/parallel.md.
source "$(dirname "$0")/common.sh"
REPS="${REPS:-3}"
out="$RESULTS/parallel.md"
prompts="$MODELS/parallel-prompts.txt"
# Eight story openings from the shared corpus (first ~30 words of 8 stories), one per line.
story_prompts "$prompts" 8 30 40

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2)}'; }

run_cli() {  # model np -> prints wall seconds; results in $MODELS/parallel-np$2.jsonl
  local t0 t1
  t0=$(date +%s.%N)
  "$(bin cli)" -m "$1" --batch-file "$prompts" -n 64 --ignore-eos --temp 0.6 -s 7 -t 2 -np "$2" \
    > "$MODELS/parallel-np$2.jsonl" 2> "$MODELS/parallel-np$2.log"
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc -l
}

{
  echo "# Sequences decoded together: --parallel and --n-parallel (4B shape, Q4_0, authors' layout)"
  echo
  machine_line
  echo
  for skew in 0.45 0.25; do
    name=4b-q4_0-sparse  # the file decode_4b.sh uses (skew 0.45)
    [[ "$skew" == "0.45" ]] || name="4b-q4_0-sparse-skew$skew"
    m=$(gen "$name" --preset 4b --type q4_0 --down transposed --profiler-rank 256 --sparsity 0.7 --hot-expert-rate "$skew")
    echo "## hot-expert rate $skew"
    echo
    quiet_begin
    declare -A wall
    for np in 1 8; do
      run_cli "$m" "$np" > /dev/null  # warm-up (page cache)
      wall[$np]=$(for r in $(seq "$REPS"); do run_cli "$m" "$np"; done | median)
    done
    quiet_end
    same=$(/usr/bin/python3 -c "
import json, sys
a = [json.loads(l)['text'] for l in open('$MODELS/parallel-np1.jsonl')]
b = [json.loads(l)['text'] for l in open('$MODELS/parallel-np8.jsonl')]
print('yes' if a == b and len(a) == 8 else 'NO')")
    printf -- "- 8 prompts x 64 tokens: --parallel 1 %.2f s, --parallel 8 %.2f s: **%.2fx** the throughput; answers identical: %s\n" \
      "${wall[1]}" "${wall[8]}" "$(echo "${wall[1]} / ${wall[8]}" | bc -l)" "$same"
    echo
    quiet_begin
    "$(bin bench)" -m "$m" -p 0 -n 64 --n-parallel 1,2,4,8 -r "$REPS" -t 2 --bandwidth-mib 1024
    quiet_end
    echo
  done
  echo "MB/tok counts weight and KV bytes the kernels read per generated token (all sequences' tokens)."
} | tee "$out"
