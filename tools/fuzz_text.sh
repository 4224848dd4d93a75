#!/usr/bin/env bash
# Builds the text fuzzers (tests/fuzz/: batch_line, tokenizer, chat_template, server_request) with
# clang + libFuzzer + ASan/UBSan and runs each in turn, one process at a time, at low priority,
# for SECONDS each or until RUNS executions (whichever comes first). Prints executions and
# coverage (cov = edges, ft = features) per target, and any crash with the command reproducing it.
#
#   tools/fuzz_text.sh                      # every target, 60 s each
#   tools/fuzz_text.sh 300 tokenizer        # one target, 5 minutes
#   ST_FUZZ_RUNS=2500000 tools/fuzz_text.sh 3600
#
# Environment: CXX (clang++-14), ST_FUZZ_BUILD (build-fuzz-text), ST_FUZZ_RUNS (-1: no limit),
# ST_FUZZ_ARGS (extra libFuzzer flags), ST_FUZZ_VOCAB (tokenizer_fuzz: another GGUF vocabulary).
# Corpora grow in $ST_FUZZ_BUILD/corpus/<target>; seeds are tests/fuzz/text_corpus/<target> and
# tests/fuzz/text_regressions/<target>. Exit status: 0 no crash, 1 a crash, 2 setup failed.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN=${1:-60}
shift || true
TARGETS=("$@")
[[ ${#TARGETS[@]} -gt 0 ]] || TARGETS=(batch_line tokenizer chat_template server_request)
CXX=${CXX:-clang++-14}
BUILD=${ST_FUZZ_BUILD:-build-fuzz-text}

if [[ ! -f $BUILD/build.ninja ]]; then
  cmake -S tests/fuzz -B "$BUILD" -G Ninja -DCMAKE_CXX_COMPILER="$CXX" >/dev/null || exit 2
fi
bins=()
for t in "${TARGETS[@]}"; do bins+=("${t}_fuzz"); done
nice -n 10 ninja -C "$BUILD" -j1 "${bins[@]}" >/dev/null || { echo "fuzz_text.sh: build failed" >&2; exit 2; }

status=0
total=0
for t in "${TARGETS[@]}"; do
  corpus=$BUILD/corpus/$t
  seeds=(tests/fuzz/text_corpus/$t)
  [[ -d tests/fuzz/text_regressions/$t ]] && seeds+=(tests/fuzz/text_regressions/$t)
  dict=()
  [[ -f tests/fuzz/$t.dict ]] && dict=(-dict=tests/fuzz/$t.dict)
  mkdir -p "$corpus" "$BUILD/crashes/$t"
  log=$BUILD/$t.log
  set +e
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
  nice -n 10 "$BUILD/${t}_fuzz" -max_total_time="$SECONDS_TO_RUN" -runs="${ST_FUZZ_RUNS:--1}" "${dict[@]}" \
    -max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$BUILD/crashes/$t/" ${ST_FUZZ_ARGS:-} "$corpus" "${seeds[@]}" >"$log" 2>&1
  rc=$?
  set -e
  execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log")
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 | grep -oE 'cov: [0-9]+ ft: [0-9]+' || true)
  echo "fuzz_text.sh: $t: ${execs:-?} executions, ${last:-cov ?}, corpus $(ls "$corpus" | wc -l) (log $log)"
  total=$((total + ${execs:-0}))
  if [[ $rc -ne 0 ]]; then
    crash=$(grep -oE "Test unit written to [^ ]+" "$log" | tail -1 | sed 's/Test unit written to //')
    echo "fuzz_text.sh: $t: CRASH (exit $rc); input: ${crash:-see log}" >&2
    grep -E 'ERROR: |runtime error|_fuzz: |SUMMARY' "$log" | head -5 >&2 || true
    echo "fuzz_text.sh: reproduce: $BUILD/${t}_fuzz ${crash:-INPUT}; then copy it to tests/fuzz/text_regressions/$t/" >&2
    status=1
  fi
done
echo "fuzz_text.sh: total executions: $total"
exit $status
