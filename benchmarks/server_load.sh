#!/usr/bin/env bash
# smallthinker-server under load (issue 13), against llama-server (ML) on the same file in the same
# run: the 4B-A0.6B shape, Q4_0, mainline layout (normal down, no profiler; sigmoid gating, which
# ML needs), in memory, 2 threads, SLOTS slots of CTX tokens each, at two expert popularities (the
# generator's default skew: the hot quarter of experts fires at 45%; a weaker one: 25%).
# For CLIENTS concurrent clients (loopback only), each sends REQS streamed /v1/completions requests
# (a ~60-token story opening, MAX_TOKENS tokens sampled with ignore_eos, the same sampling
# settings and seeds on both servers): aggregate generated tokens/s, time to first token and
# request latency p50/p99, failed requests (server_load.py). Bounded: at most
# 16 x REQS requests per point.
#   ML_BIN=/path/to/llama.cpp/build/bin bash benchmarks/server_load.sh   (without ML_BIN: ours only)
# Writes benchmarks/results/server_load.md.
source "$(dirname "$0")/common.sh"
CLIENTS="${CLIENTS:-1 4 8 16}"
REQS="${REQS:-4}"
MAX_TOKENS="${MAX_TOKENS:-64}"
SLOTS="${SLOTS:-8}"
CTX="${CTX:-1024}"
SKEWS="${SKEWS:-0.45 0.25}"
PORT="${PORT:-18765}"
out="$RESULTS/server_load.md"
prompts="$MODELS/server-load-prompts.txt"
story_prompts "$prompts" 64 45 60
ML_SERVER=""
if [[ -n "${ML_BIN:-}" && -x "$ML_BIN/llama-server" ]]; then ML_SERVER="$ML_BIN/llama-server"; fi

wait_ready() {  # pid url
  for _ in $(seq 600); do
    if [[ "$(curl -s -o /dev/null -w '%{http_code}' "$2/health")" == "200" ]]; then return 0; fi
    kill -0 "$1" 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}

run_engine() {  # engine model skew -> appends JSON lines to $MODELS/server-load.jsonl
  # A new port each time: the last server's connections may still hold the previous one.
  PORT=$((PORT + 1))
  local engine="$1" model="$2" skew="$3" url="http://127.0.0.1:$PORT" pid
  if [[ "$engine" == "ours" ]]; then
    "$(bin server)" -m "$model" --port "$PORT" -t 2 --parallel "$SLOTS" -c "$CTX" --queue 64 \
      > "$MODELS/server-load-$engine.log" 2>&1 &
  else
    # llama-server's -c is the total over its slots.
    "$ML_SERVER" -m "$model" --port "$PORT" -t 2 -np "$SLOTS" -c $((SLOTS * CTX)) --no-webui \
      > "$MODELS/server-load-$engine.log" 2>&1 &
  fi
  pid=$!
  if ! wait_ready "$pid" "$url"; then
    echo "$engine did not start; see $MODELS/server-load-$engine.log" >&2
    kill "$pid" 2>/dev/null || true
    return 1
  fi
  /usr/bin/python3 "$ROOT/benchmarks/server_load.py" --url "$url" --clients 2 --requests 1 --max-tokens 8 \
    --prompts "$prompts" > /dev/null  # warm-up
  for c in $CLIENTS; do
    /usr/bin/python3 "$ROOT/benchmarks/server_load.py" --url "$url" --clients "$c" --requests "$REQS" \
      --max-tokens "$MAX_TOKENS" --prompts "$prompts" |
      /usr/bin/python3 -c "import json,sys; j=json.loads(sys.stdin.read()); j['engine']='$engine'; j['skew']=$skew; print(json.dumps(j))" \
      >> "$MODELS/server-load.jsonl" || true
  done
  kill -TERM "$pid"
  wait "$pid" || true
}

# APPEND=1 keeps the earlier points (to rerun one skew after an interruption: SKEWS=0.25 APPEND=1).
[[ "${APPEND:-0}" == "1" ]] || rm -f "$MODELS/server-load.jsonl"
quiet_begin
for skew in $SKEWS; do
  name=4b-q4_0-dense-sigmoid  # peers.sh's mainline-layout file (skew 0.45)
  [[ "$skew" == "0.45" ]] || name="4b-q4_0-dense-sigmoid-skew$skew"
  m=$(gen "$name" --preset 4b --type q4_0 --down normal --sparsity 0.7 --hot-expert-rate "$skew" --gating sigmoid)
  run_engine ours "$m" "$skew" || echo "ours failed at skew $skew" >&2
  if [[ -n "$ML_SERVER" ]]; then run_engine ml "$m" "$skew" || echo "ML failed at skew $skew" >&2; fi
done
quiet_end

{
  echo "# smallthinker-server under load, against llama-server (4B shape, Q4_0, mainline layout)"
  echo
  machine_line | head -1
  echo
  echo "$SLOTS slots of $CTX tokens, 2 threads; each client sends $REQS streamed /v1/completions requests"
  echo "one after another (a ~60-token prompt, $MAX_TOKENS tokens sampled with ignore_eos, temperature 0.8, top-k 40,"
  echo "top-p 0.95, min-p 0.05, seeds 1..N on both servers). Loopback. tokens/s = all generated tokens / wall time."
  # ML_REV: the mainline revision ML_BIN was built from (llama-server built outside git says "unknown").
  [[ -n "$ML_SERVER" ]] && echo "ML: llama-server from ML_BIN (${ML_REV:-revision not given}; $SLOTS slots, -c $((SLOTS * CTX)) in all, continuous batching, --no-webui)."
  echo
  /usr/bin/python3 - "$MODELS/server-load.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def f(x, fmt="{:.0f}"):
    return "-" if x is None else fmt.format(x)
for skew in sorted({r["skew"] for r in rows}, reverse=True):
    print(f"## hot-expert rate {skew}\n")
    print("| clients | engine | tokens/s | ratio to ML | TTFT p50 ms | TTFT p99 ms | latency p50 ms | latency p99 ms | failed |")
    print("|---|---|---|---|---|---|---|---|---|")
    for c in sorted({r["clients"] for r in rows}):
        ml = next((r for r in rows if r["skew"] == skew and r["clients"] == c and r["engine"] == "ml"), None)
        for e in ("ours", "ml"):
            r = next((r for r in rows if r["skew"] == skew and r["clients"] == c and r["engine"] == e), None)
            if not r:
                continue
            ratio = f"**{r['tokens_per_s'] / ml['tokens_per_s']:.2f}x**" if e == "ours" and ml and ml["tokens_per_s"] else ""
            print(f"| {c} | {e} | {r['tokens_per_s']:.1f} | {ratio} | {f(r['ttft_p50_ms'])} | {f(r['ttft_p99_ms'])} | "
                  f"{f(r['latency_p50_ms'])} | {f(r['latency_p99_ms'])} | {r['failed']} of {r['requests'] + r['failed']} |")
    print()
PY
} > "$out"
cat "$out"
