#!/usr/bin/env bash
# Our engine side by side with its two rivals on the same full-size SmallThinker-4BA0.6B-shaped
# Q4_0 GGUF files, in memory, 2 threads, medians of REPS repetitions (default 5):
#   - FORK: the authors' engine, PowerInfer's `smallthinker/` folder (a llama.cpp fork), on the
#     authors' layout (transposed down, LM-head profiler);
#   - ML:   mainline llama.cpp (smallthinker architecture) on the mainline layout (normal down);
#   - ours: smallthinker-bench on both files.
# Tests: pp512, pp4096, tg128, each at KV depth 0 and 4096 (llama-bench's -d; both peers' llama-bench
# have -d). Writes benchmarks/results/peers_4b.md. With REPS=3 on 2 vCPUs: about 26 min with
# PP_DEPTHS=0, well over an hour with the default (the fork's pp4096 @ d4096 alone runs > 20 min).
#
#   FORK_BIN=/path/to/powerinfer/smallthinker/build/bin ML_BIN=/path/to/llama.cpp/build/bin \
#     bash benchmarks/peers.sh
#
# Knobs: REPS (5), PP (512,4096), TG (128), PP_DEPTHS (0,4096; pp at depth re-evaluates the depth
# before every repetition in our tool, so PP_DEPTHS=0 saves time), TG_DEPTHS (0,4096), THREADS (2),
# QUIET (1: pause other busy processes while measuring).
#
# This script downloads and builds nothing: FORK_BIN and ML_BIN point at bin/ folders (with
# llama-bench) of the peers built beforehand, outside this repository, from their public sources
# (FORK: the `smallthinker/` folder of the authors' PowerInfer repository; ML: a mirror of mainline
# llama.cpp with the smallthinker architecture), CPU only, Release, as their own READMEs describe.
# Two things these virtual machines need:
#   - AMX code generation off (-mno-amx-tile -mno-amx-int8 -mno-amx-bf16 and the GGML_AMX_* options
#     off): the CPU advertises AMX in /proc/cpuinfo but tile instructions raise SIGILL, so
#     -march=native must not turn it on; GGML_NATIVE keeps AVX-512 and VNNI.
#   - FORK's offload mode pins threads and asserts `thread_id < cpus.size()` in its libaz
#     cpu_affinity.cpp when /sys/devices/system/cpu/cpu*/cpufreq is absent; that assert must be
#     relaxed (keep CPUs without cpufreq, leave extra threads unpinned). In-memory runs, which this
#     script measures, do not reach it.
# Measured here: FORK at d3ebd7c, ML at d32676d77 (FORK_REV / ML_REV label the table).
source "$(dirname "$0")/common.sh"
REPS="${REPS:-5}"
THREADS="${THREADS:-2}"
PP="${PP:-512,4096}"
TG="${TG:-128}"
PP_DEPTHS="${PP_DEPTHS:-0,4096}"
TG_DEPTHS="${TG_DEPTHS:-0,4096}"
FORK_REV="${FORK_REV:-d3ebd7c}"
ML_REV="${ML_REV:-d32676d77}"

missing=()
[[ -n "${FORK_BIN:-}" && -x "${FORK_BIN:-}/llama-bench" ]] || missing+=("FORK_BIN (PowerInfer smallthinker build/bin with llama-bench)")
[[ -n "${ML_BIN:-}" && -x "${ML_BIN:-}/llama-bench" ]] || missing+=("ML_BIN (llama.cpp build/bin with llama-bench)")
[[ -x "$(bin bench)" ]] || missing+=("$(bin bench) (cmake --build build --target smallthinker-bench)")
if (( ${#missing[@]} )); then
  echo "peers.sh: missing:" >&2
  for m in "${missing[@]}"; do echo "  - $m" >&2; done
  echo "Build the peers as described at the top of $0 and set FORK_BIN and ML_BIN to their bin/ folders." >&2
  exit 2
fi

# The files are decode_4b.sh's two models plus the key smallthinker.expert_gating_func = sigmoid.
# Without it mainline llama.cpp reads expert_gating_func = 0 (LLAMA_EXPERT_GATING_FUNC_TYPE_NONE)
# and aborts building the graph (GGML_ABORT in llm_graph_context::build_moe_ffn, llama-graph.cpp),
# and the fork silently routes with softmax (is_sigmod false) where we use sigmoid; converted
# SmallThinker files always carry the key. The weights are the same (same seed). GATING=absent
# measures the key-less files instead (ML then fails).
GATING="${GATING:-sigmoid}"
if [[ "$GATING" == "absent" ]]; then
  sparse=$(gen 4b-q4_0-sparse --preset 4b --type q4_0 --down transposed --profiler-rank 256 --sparsity 0.7 --hot-expert-rate 0.45)
  dense=$(gen 4b-q4_0-dense --preset 4b --type q4_0 --down normal --sparsity 0.7 --hot-expert-rate 0.45)
else
  sparse=$(gen "4b-q4_0-sparse-$GATING" --preset 4b --type q4_0 --down transposed --profiler-rank 256 --sparsity 0.7 --hot-expert-rate 0.45 --gating "$GATING")
  dense=$(gen "4b-q4_0-dense-$GATING" --preset 4b --type q4_0 --down normal --sparsity 0.7 --hot-expert-rate 0.45 --gating "$GATING")
fi
LOGS="${LOGS:-$BUILD/peers-logs}"
# RESUME=1 keeps $LOGS and skips the steps that already finished (after an interrupted run);
# SKIP="fork_sparse_pp ..." skips the named steps (an interrupted llama-bench's finished tests count).
[[ "${RESUME:-0}" == "1" ]] || rm -rf "$LOGS"
mkdir -p "$LOGS"
out="$RESULTS/peers_4b.md"

# step NAME CMD...: runs one measurement, stdout to $LOGS/NAME.json, stderr to $LOGS/NAME.log, and
# its wall time to $LOGS/NAME.time; a failure is recorded (the table shows "failed"), not fatal.
step() {
  local name="$1"; shift
  if [[ " ${SKIP:-} " == *" $name "* ]]; then
    echo "[$name] skipped (SKIP)" >&2
    return 0
  fi
  if [[ "${RESUME:-0}" == "1" && -f "$LOGS/$name.time" && "$(cut -d' ' -f2 "$LOGS/$name.time")" == "0" ]]; then
    echo "[$name] done before, kept" >&2
    return 0
  fi
  echo "[$name] $*" >&2
  echo "$*" > "$LOGS/$name.cmd"
  local t0=$SECONDS rc=0
  "$@" > "$LOGS/$name.json" 2> "$LOGS/$name.log" || rc=$?
  echo "$((SECONDS - t0)) $rc" > "$LOGS/$name.time"
  (( rc == 0 )) || echo "[$name] failed with exit code $rc; see $LOGS/$name.log" >&2
}

OURS=("$(bin bench)" -t "$THREADS" -r "$REPS" -o json)
FORK=("$FORK_BIN/llama-bench" -t "$THREADS" -r "$REPS" -o json)
ML=("$ML_BIN/llama-bench" -t "$THREADS" -r "$REPS" -o json)

quiet_begin
step ours_sparse_pp "${OURS[@]}" -m "$sparse" -p "$PP" -n 0 -d "$PP_DEPTHS"
step ours_sparse_tg "${OURS[@]}" -m "$sparse" -p 0 -n "$TG" -d "$TG_DEPTHS" --bandwidth-mib 0
step fork_sparse_pp "${FORK[@]}" -m "$sparse" -p "$PP" -n 0 -d "$PP_DEPTHS"
step fork_sparse_tg "${FORK[@]}" -m "$sparse" -p 0 -n "$TG" -d "$TG_DEPTHS"
step ours_dense_pp "${OURS[@]}" -m "$dense" -p "$PP" -n 0 -d "$PP_DEPTHS"
step ours_dense_tg "${OURS[@]}" -m "$dense" -p 0 -n "$TG" -d "$TG_DEPTHS" --bandwidth-mib 0
step ml_dense_pp "${ML[@]}" -m "$dense" -p "$PP" -n 0 -d "$PP_DEPTHS"
step ml_dense_tg "${ML[@]}" -m "$dense" -p 0 -n "$TG" -d "$TG_DEPTHS"
quiet_end

{
  echo "# SmallThinker-4BA0.6B shape, Q4_0, in memory: ours against the authors' fork and mainline llama.cpp"
  echo
  machine_line
  echo
  python3 - "$LOGS" "$REPS" "$THREADS" "$FORK_REV" "$ML_REV" "$sparse" "$dense" "$GATING" <<'EOF'
import json, os, statistics, sys
logs, reps, threads, fork_rev, ml_rev, sparse, dense, gating = sys.argv[1:9]

def load(name):
    # The JSON document, ignoring anything printed around it (the fork prints its
    # "fused_sparse_moe: #examined=..." statistics to stdout at exit). Of an interrupted
    # llama-bench run, the tests it finished (it prints each as it ends).
    try:
        with open(os.path.join(logs, name + ".json")) as f:
            text = f.read()
    except Exception:
        return None
    starts = [i for i in (text.find("["), text.find("{")) if i >= 0]
    if not starts:
        return None
    dec = json.JSONDecoder()
    try:
        return dec.raw_decode(text[min(starts):])[0]
    except ValueError:
        pass
    if text[min(starts)] != "[":
        return None
    items, i = [], min(starts) + 1
    while True:
        i = text.find("{", i)
        if i < 0:
            return items
        try:
            obj, end = dec.raw_decode(text, i)
        except ValueError:
            return items
        items.append(obj)
        i = end

def name(p, n, d):
    t = f"pp{p}" if p else f"tg{n}"
    return t + (f" @ d{d}" if d else "")

def ours(stem):
    rows, bw = {}, None
    for part in ("pp", "tg"):
        j = load(f"{stem}_{part}")
        if not j:
            continue
        if j.get("read_bandwidth_gbps"):
            bw = j["read_bandwidth_gbps"]
        for r in j.get("results", []):
            rows[name(r["n_prompt"], r["n_gen"], r["n_depth"])] = r["tokens_per_second_median"]
    return rows, bw

def peer(stem):
    rows, info = {}, {}
    for part in ("pp", "tg"):
        j = load(f"{stem}_{part}")
        if not j:
            continue
        for r in j:
            rows[name(r["n_prompt"], r["n_gen"], r.get("n_depth", 0))] = statistics.median(r["samples_ts"])
            for k in ("build_commit", "n_threads", "n_batch", "n_ubatch", "flash_attn", "type_k", "type_v",
                      "use_mmap", "cpu_info", "model_type"):
                if k in r:
                    info[k] = r[k]
    return rows, info

o_s, bw_s = ours("ours_sparse")
o_d, bw_d = ours("ours_dense")
f_s, f_info = peer("fork_sparse")
m_d, m_info = peer("ml_dense")

order = []
for src in (o_s, f_s, o_d, m_d):
    for t in src:
        if t not in order:
            order.append(t)
order.sort(key=lambda t: (t.startswith("tg"), int(t.split()[0][2:]), int(t.split("d")[-1]) if "@" in t else 0))

def fmt(v):
    return f"{v:.2f}" if v is not None else "-"

def ratio(a, b):
    return f"{a / b:.2f}×" if a is not None and b else "-"

bws = [f"{b:.1f} GB/s before the {w} runs" for b, w in ((bw_s, "authors' layout"), (bw_d, "mainline layout")) if b]
if bws:
    print(f"memory read bandwidth (smallthinker-bench, {threads} threads, best of 5 passes over 1 GiB): " + ", ".join(bws))
    print()
print(f"{threads} threads, median of {reps} repetitions. Authors' layout = transposed down, ReGLU sparsity 0.7, LM-head")
print(f"profiler (`{os.path.basename(sparse)}`); mainline layout = normal down, no profiler (`{os.path.basename(dense)}`);")
print(f"expert_gating_func key: {gating}. Each peer runs on the same file as the ours column beside it.")
print()
print("| test | ours, authors' layout t/s | FORK t/s | ours/FORK | ours, mainline layout t/s | ML t/s | ours/ML |")
print("|---|---|---|---|---|---|---|")
for t in order:
    a, f, b, m = o_s.get(t), f_s.get(t), o_d.get(t), m_d.get(t)
    print(f"| {t} | {fmt(a)} | {fmt(f)} | {ratio(a, f)} | {fmt(b)} | {fmt(m)} | {ratio(b, m)} |")
print()
print("`-`: not measured (skipped, interrupted or failed: see the steps table at the end).")
print()
print(f"- FORK: PowerInfer `smallthinker/` (llama.cpp fork) at {fork_rev}, its llama-bench; settings it reported: "
      + ", ".join(f"{k} {v}" for k, v in f_info.items() if k != "cpu_info"))
print(f"- ML: mainline llama.cpp at {ml_rev}, its llama-bench; settings it reported: "
      + ", ".join(f"{k} {v}" for k, v in m_info.items() if k != "cpu_info"))
import re
for stem in ("fork_sparse_tg", "fork_sparse_pp"):
    try:
        m = re.search(r"#activated=\d+ \(([0-9.]+)%\)", open(os.path.join(logs, stem + ".json")).read())
    except Exception:
        m = None
    if m:
        print(f"- FORK's own count ({stem}): {m.group(1)}% of the expert neurons it examined were active "
              f"(ReGLU sparsity {100 - float(m.group(1)):.1f}%).")
print("- ours: smallthinker-bench (`-p/-n/-d` as llama-bench; a depth is re-evaluated untimed before every repetition, "
      "llama-bench restores a saved state instead). ppN uses our batch of 256 tokens, llama-bench its n_ubatch.")
print()
print("| step | command | wall s | exit |")
print("|---|---|---|---|")
for stem in ("ours_sparse_pp", "ours_sparse_tg", "fork_sparse_pp", "fork_sparse_tg",
             "ours_dense_pp", "ours_dense_tg", "ml_dense_pp", "ml_dense_tg"):
    try:
        cmd = open(os.path.join(logs, stem + ".cmd")).read().strip()
        secs, rc = open(os.path.join(logs, stem + ".time")).read().split()
    except Exception:
        continue
    cmd = cmd.replace(sparse, os.path.basename(sparse)).replace(dense, os.path.basename(dense))
    cmd = " ".join(os.path.basename(w) if w.startswith("/") else w for w in cmd.split())
    print(f"| {stem} | `{cmd}` | {secs} | {rc} |")
EOF
} | tee "$out"
