#!/usr/bin/env bash
# Issue 5: models bigger than the memory they are given.
#   - 4B-A0.6B Q4_0 under --memory-limit 1G vs fully in memory (same binary, same file), page cache
#     dropped before each run, peak RSS from /usr/bin/time;
#   - 21B-A3B Q4_0 under --memory-limit 8G vs in memory (SKIP_21B=1 to skip);
#   - ablations on the 4B: prefetch on/off, LRU vs LFU, cache sizes 25/50/75/100% of experts.
# Models follow the paper's expert popularity (a hot quarter of experts per layer chosen on ~45% of
# tokens, the rest on a few %). Writes benchmarks/results/offload.md. Needs root (drop_caches).
source "$(dirname "$0")/common.sh"
REPS="${REPS:-3}"
N="${N:-128}"
m4=$(gen 4b-q4_0-sparse --preset 4b --type q4_0 --down transposed --profiler-rank 256 --sparsity 0.7 --hot-expert-rate 0.45)
out="$RESULTS/offload.md"

drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches; }

# run LABEL ARGS...: one bench run (tg$N, no warm-up, cold page cache), with peak RSS.
run() {
  local label="$1"; shift
  drop_caches
  local tmp; tmp=$(mktemp)
  /usr/bin/time -f "%M" -o "$tmp.rss" "$(bin bench)" -p 0 -n "$N" -r "$REPS" -t 2 --no-warmup --bandwidth-mib 0 -o json "$@" \
    > "$tmp.json" 2> "$tmp.err" || { cat "$tmp.err" >&2; return 1; }
  local rss_kib; rss_kib=$(tail -1 "$tmp.rss")
  /usr/bin/python3 - "$label" "$tmp.json" "$rss_kib" <<'PY'
import json, sys
label, path, rss_kib = sys.argv[1], sys.argv[2], int(sys.argv[3])
j = json.load(open(path))
r = j["results"][0]
print(f"| {label} | {j['memory_mode']} | {r['tokens_per_second_median']:.2f} | "
      f"{', '.join(f'{x:.2f}' for x in r['samples_tokens_per_second'])} | {100*r['cache_hit_rate']:.1f}% | "
      f"{r['mib_read_per_token']:.2f} | {r['stall_ms_per_token']:.2f} | {rss_kib/1024:.0f} MiB |")
PY
  rm -f "$tmp" "$tmp.json" "$tmp.err" "$tmp.rss"
}

header() {
  echo "| run | mode | tg t/s (median) | per repetition (first is cold) | hit rate | disk MiB/token | stall ms/token | peak RSS |"
  echo "|---|---|---|---|---|---|---|---|"
}

{
  echo "# Expert offload (tg$N, 2 threads, $REPS repetitions, page cache dropped before each run)"
  echo
  machine_line
  echo
  quiet_begin
  echo "## SmallThinker-4BA0.6B shape, Q4_0 ($(du -h "$m4" | cut -f1))"
  header
  run "in memory" -m "$m4"
  run "--memory-limit 1G" -m "$m4" --memory-limit 1G
  run "--memory-limit 1G, expert file" -m "$m4" --memory-limit 1G --expert-file "$MODELS/4b-q4_0-sparse.experts"
  echo
  echo "## Ablations (4B, Q4_0)"
  header
  run "1G, prefetch off (on demand)" -m "$m4" --memory-limit 1G --no-prefetch
  run "1G, prefetch without lookahead" -m "$m4" --memory-limit 1G --no-lookahead
  run "1G, LRU" -m "$m4" --memory-limit 1G --cache-policy lru
  run "1G, pread threads" -m "$m4" --memory-limit 1G --io-engine threads
  for pct in 25 50 75 100; do
    run "cache $pct% of experts, LRU" -m "$m4" --expert-cache "$pct%" --cache-policy lru
    run "cache $pct% of experts, LFU" -m "$m4" --expert-cache "$pct%" --cache-policy lfu
  done
  quiet_end
  if [[ "${SKIP_21B:-0}" != "1" ]]; then
    m21=$(gen 21b-q4_0-sparse --preset 21b --type q4_0 --down transposed --profiler-rank 256 --sparsity 0.7 --hot-expert-rate 0.42)
    quiet_begin
    echo
    echo "## SmallThinker-21BA3B shape, Q4_0 ($(du -h "$m21" | cut -f1))"
    header
    run "in memory" -m "$m21"
    run "--memory-limit 8G" -m "$m21" --memory-limit 8G
    run "--memory-limit 4G (beyond the issue: more pressure)" -m "$m21" --memory-limit 4G
    quiet_end
  fi
} | tee "$out"
