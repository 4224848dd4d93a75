#!/usr/bin/env bash
# From a finished training run to the shipped model and every figure of its model card:
#   1. fit the LM-head predictor (fit_predictor.py) unless RUN/predictor.pt exists;
#   2. export F32, Q8_0 and Q4_0 in the authors' layout (transposed down + lm_head_profiler) into
#      build/trained/, plus the mainline layout (normal down, no profiler) in Q8_0, and copy the
#      Q8_0 authors'-layout file to models/ (the shipped default);
#   3. measure the paper's statistics on held-out text (stats.py) and plot the loss curve;
#   4. write the golden logits of the shipped file (make_golden.py) for tests/e2e/shipped_golden.py;
#   5. perplexity of each type on held-out TinyStories and wikitext-2 test, and KL against F32,
#      with smallthinker-perplexity; a sample from smallthinker-cli.
# Writes models/tinystories-st/ (stats.json, figures, perplexity.md, sample.txt).
#
#   bash tools/train/ship.sh [RUN=tools/train/runs/ts8]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
RUN="${1:-tools/train/runs/ts8}"
PY=/usr/bin/python3
BIN="${ST_BIN:-build}"
OUT=build/trained
CARD=models/tinystories-st
SHIPPED=models/tinystories-st-q8_0.gguf
CTX="${CTX:-256}"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
mkdir -p "$OUT" "$CARD"

if [[ ! -f "$RUN/predictor.pt" ]]; then
  $PY tools/train/fit_predictor.py --ckpt "$RUN/best.pt" --run "$RUN" --rank 64 --out "$RUN/predictor.pt"
fi
cp "$RUN/predictor.json" "$CARD/predictor_fit.json"

for t in f32 q8_0 q4_0; do
  $PY tools/train/export_gguf.py --ckpt "$RUN/best.pt" --tokenizer "$RUN/tokenizer.json" \
      --predictor "$RUN/predictor.pt" --type "$t" --transposed-down --out "$OUT/tinystories-st-$t.gguf"
done
$PY tools/train/export_gguf.py --ckpt "$RUN/best.pt" --tokenizer "$RUN/tokenizer.json" \
    --type q8_0 --out "$OUT/tinystories-st-q8_0-mainline.gguf"
cp "$OUT/tinystories-st-q8_0.gguf" "$SHIPPED"

$PY tools/train/stats.py --gguf "$SHIPPED" --run "$RUN" --out "$CARD"
$PY tools/train/plot_loss.py "$RUN/log.csv" "$CARD/loss.png"
$PY tools/train/make_golden.py --gguf "$SHIPPED" --out tests/data/shipped_golden

# Held-out text: the test split of the corpus (never used for the tokenizer or training), one
# story per line like the corpus itself.
$PY - "$OUT/heldout-tinystories.txt" <<'EOF'
import sys
sys.path.insert(0, "tools/train")
import data
_, test = data.split_stories(data.load_stories())
open(sys.argv[1], "w").write("\n".join(test) + "\n")
EOF
WIKI=../shared/data/corpus/wikitext-2-raw-wiki.test.raw

ppl() {  # model text [extra args] -> "PPL ± err | KLD | same top" fields
  "$BIN/smallthinker-perplexity" -m "$1" -f "$2" -c "$CTX" -t 2 "${@:3}" 2>&1
}
table="$CARD/perplexity.md"
{
  echo "| text | type | file MiB | PPL | ln(PPL/PPL_F32) | mean KL vs F32 | 99% KL | same top-1 vs F32 |"
  echo "|---|---|---|---|---|---|---|---|"
} > "$table"
for text in "$OUT/heldout-tinystories.txt" "$WIKI"; do
  name=$(basename "$text")
  base="$OUT/$name.f32.kld"
  for t in f32 q8_0 q4_0; do
    m="$OUT/tinystories-st-$t.gguf"
    mib=$(awk -v b="$(stat -c %s "$m")" 'BEGIN{printf "%.1f", b/1048576}')
    if [[ $t == f32 ]]; then
      log=$(ppl "$m" "$text" --kl-divergence-base "$base")
      p=$(grep -o 'PPL = [0-9.]* +/- [0-9.]*' <<<"$log" | sed 's/PPL = //; s|+/-|±|')
      echo "| $name | $t | $mib | $p | 0 | 0 | 0 | 100% |" >> "$table"
    else
      log=$(ppl "$m" "$text" --kl-divergence-base "$base" --kl-divergence)
      p=$(grep -o 'PPL(Q)   : [0-9.]* +/- [0-9.]*' <<<"$log" | sed 's/PPL(Q)   : //; s|+/-|±|')
      lr=$(grep -o 'Mean ln(PPL(Q)/PPL(base)): [-0-9.]*' <<<"$log" | awk '{print $NF}')
      kl=$(grep -o 'Mean KLD: [0-9.]* +/- [0-9.]*' <<<"$log" | sed 's/Mean KLD: //; s|+/-|±|')
      k99=$(grep -o '99%: [0-9.]*' <<<"$log" | head -1 | awk '{print $2}')
      same=$(grep -o 'Same top token: [0-9.]* +/- [0-9.]* %' <<<"$log" | sed 's/Same top token: //; s|+/-|±|')
      echo "| $name | $t | $mib | $p | $lr | $kl | $k99 | $same |" >> "$table"
    fi
    echo "$log" | tail -3 >&2
  done
done
echo "context $CTX, chunks scored on their second half (llama-perplexity style); $(nproc --all) CPUs, 2 threads" >> "$table"
cat "$table"

"$BIN/smallthinker-cli" -m "$SHIPPED" -p "once upon a time" -n 120 --temp 0.6 --seed 42 \
    2>/dev/null > "$CARD/sample.txt"
cat "$CARD/sample.txt"
