# Shared by the benchmark scripts: paths, model generation, and a quiet machine.
# shellcheck shell=bash
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${BUILD:-$ROOT/build}"
MODELS="${MODELS:-$BUILD/models}"
RESULTS="$ROOT/benchmarks/results"
SHARED="${SHARED:-$ROOT/../shared}"
mkdir -p "$MODELS" "$RESULTS"

bin() { echo "$BUILD/smallthinker-$1"; }

# The real SmallThinker vocabulary (151,936 tokens) built from the Qwen3 tokenizer.json.
qwen_vocab() {
  local out="$MODELS/qwen-vocab.gguf"
  if [[ ! -f "$out" ]]; then
    "$(bin vocab)" --tokenizer-json "$SHARED/data/tokenizer/qwen3/tokenizer.json" \
      --tokenizer-config "$SHARED/data/tokenizer/qwen3/tokenizer_config.json" -o "$out" >&2
  fi
  echo "$out"
}

# gen NAME ARGS... : generates $MODELS/NAME.gguf once (full-size files take minutes).
gen() {
  local name="$1"; shift
  local out="$MODELS/$name.gguf"
  if [[ ! -f "$out" ]]; then
    echo "generating $out" >&2
    "$(bin gen)" "$@" --vocab-gguf "$(qwen_vocab)" -o "$out.tmp" >&2 && mv "$out.tmp" "$out"
  fi
  echo "$out"
}

# story_prompts OUT COUNT WORDS MIN_WORDS: the first WORDS words of the first COUNT stories of the
# shared TinyStories corpus that have more than MIN_WORDS words, one per line, into OUT.
story_prompts() {
  /usr/bin/python3 - "$SHARED/data/corpus/tinystories-subset-Arnoochka.txt" "$@" <<'PY'
import sys
corpus, out, count, words, min_words = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
stories = [s.strip() for s in open(corpus, encoding="utf-8").read().split("\n\n") if len(s.split()) > min_words]
with open(out, "w") as f:
    for s in stories[:count]:
        f.write(" ".join(s.split()[:words]) + "\n")
PY
}

# Other processes (a training run, a build) would distort timings: stop the busiest ones for the
# duration of a measurement and let them continue afterwards. Set QUIET=0 to disable.
PAUSED_PIDS=()
quiet_begin() {
  [[ "${QUIET:-1}" == "1" ]] || return 0
  # This shell and its ancestors keep running; so do processes that used (almost) no CPU.
  local keep=" $$ $BASHPID " p=$BASHPID
  while [[ "$p" -gt 1 ]]; do
    p=$(ps -o ppid= -p "$p" | tr -d ' ')
    keep+="$p "
  done
  mapfile -t PAUSED_PIDS < <(ps -eo pid,pcpu --no-headers |
    awk -v keep="$keep" '$2 > 1.0 && index(keep, " " $1 " ") == 0 {print $1}')
  for p in "${PAUSED_PIDS[@]}"; do kill -STOP "$p" 2>/dev/null || true; done
  sleep 1
}
quiet_end() {
  for p in "${PAUSED_PIDS[@]}"; do kill -CONT "$p" 2>/dev/null || true; done
  PAUSED_PIDS=()
}
trap quiet_end EXIT

machine_line() {
  echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc --all) CPUs, $(free -g | awk '/Mem:/ {print $2}') GiB; $(date -u +%Y-%m-%d)"
  echo
  echo "tgN decodes N random tokens one by one (llama-bench's method; greedy feedback would make a"
  echo "random-weight model repeat one token and route every step to the same experts)."
}
