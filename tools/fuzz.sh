#!/usr/bin/env bash
# Builds the GGUF fuzzer (tests/fuzz/) with clang + libFuzzer + ASan/UBSan and runs it for a set
# time, single process, at low priority. Prints executions, coverage (cov = edges, ft = features)
# and any crash, with the command that reproduces it.
#
#   tools/fuzz.sh            # 60 seconds
#   tools/fuzz.sh 900        # 15 minutes
#
# Environment: CXX (default clang++-14), ST_FUZZ_BUILD (default build-fuzz), ST_GEN (a built
# smallthinker-gen; default build/smallthinker-gen, built if missing), ST_FUZZ_ARGS (extra
# libFuzzer flags), ST_FUZZ_COVERAGE=1 (after fuzzing, replay the corpus through a coverage build
# in $ST_FUZZ_BUILD-cov and print llvm-cov line coverage of the reader, config, binding and vocab).
# The corpus grows in $ST_FUZZ_BUILD/corpus and is reused by the next run.
# Exit status: 0 no crash, 1 a crash (the input is in $ST_FUZZ_BUILD/crashes/), 2 setup failed.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN=${1:-60}
CXX=${CXX:-clang++-14}
BUILD=${ST_FUZZ_BUILD:-build-fuzz}
GEN=${ST_GEN:-build/smallthinker-gen}

# 1. Build.
if [[ ! -f $BUILD/build.ninja ]]; then
  cmake -S tests/fuzz -B "$BUILD" -G Ninja -DCMAKE_CXX_COMPILER="$CXX" >/dev/null || exit 2
fi
nice -n 10 ninja -C "$BUILD" -j1 gguf_fuzz >/dev/null || { echo "fuzz.sh: build failed" >&2; exit 2; }

# 2. Seeds: the committed hand-made ones (tests/fuzz/corpus) plus generated models in several
#    types and layouts (made here, not committed: they are tens of KB each).
SEEDS=$BUILD/seeds-gen
mkdir -p "$SEEDS" "$BUILD/corpus" "$BUILD/crashes"
if [[ ! -x $GEN && $GEN == build/smallthinker-gen && -f build/build.ninja ]]; then
  nice -n 10 ninja -C build -j1 smallthinker-gen >/dev/null 2>&1 || true
fi
if [[ -x $GEN ]]; then
  small=(--embd 32 --ff 64 --heads 2 --kv-heads 1 --head-dim 16 --vocab 300)
  gen() {  # NAME ARGS...: generate once (1 layer, 2 experts unless ARGS say otherwise)
    local out=$SEEDS/$1.gguf
    shift
    local shape=(--layers 1 --experts 2 --experts-used 1)
    [[ " $* " == *" --layers "* ]] && shape=()
    [[ -s $out ]] || "$GEN" --preset tiny "${small[@]}" "${shape[@]}" -t 1 -o "$out" "$@" >/dev/null 2>&1 \
      || echo "fuzz.sh: warning: could not generate $out" >&2
  }
  gen f32
  gen f16 --type f16 --untied --down transposed
  gen bf16 --type bf16 --profiler-rank 32 --gating softmax
  gen q8_0 --type q8_0 --sliding-window 0 --gating absent
  gen q4_0 --type q4_0 --untied --profiler-rank 32 --down transposed
  gen q4_0_2layers --type q4_0 --layers 2 --experts 4 --experts-used 2
else
  echo "fuzz.sh: warning: no smallthinker-gen at $GEN; fuzzing with the committed seeds only" >&2
fi

# 3. Fuzz. The first corpus directory receives new inputs; the others are read-only seeds.
LOG=$BUILD/fuzz.log
echo "fuzz.sh: fuzzing for ${SECONDS_TO_RUN}s (log: $LOG)"
set +e
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
nice -n 10 "$BUILD/gguf_fuzz" -max_total_time="$SECONDS_TO_RUN" -dict=tests/fuzz/gguf.dict \
  -max_len=131072 -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$BUILD/crashes/" ${ST_FUZZ_ARGS:-} \
  "$BUILD/corpus" tests/fuzz/corpus "$SEEDS" >"$LOG" 2>&1
rc=$?
set -e

# 4. Report.
last=$(grep -E '^#[0-9]+' "$LOG" | tail -1 || true)
execs=$(grep -E 'stat::number_of_executed_units' "$LOG" | awk '{print $2}' || true)
echo "fuzz.sh: executions: ${execs:-?}"
echo "fuzz.sh: last status: ${last:-?}"
echo "fuzz.sh: corpus: $(ls "$BUILD/corpus" | wc -l) inputs in $BUILD/corpus"
if [[ $rc -ne 0 ]]; then
  crash=$(grep -oE "Test unit written to [^ ]+" "$LOG" | tail -1 | sed 's/Test unit written to //')
  echo "fuzz.sh: CRASH (exit $rc); input: ${crash:-see log}" >&2
  grep -E 'ERROR: |runtime error|gguf_fuzz: |SUMMARY' "$LOG" | head -5 >&2 || true
  echo "fuzz.sh: reproduce: $BUILD/gguf_fuzz ${crash:-INPUT}" >&2
  echo "fuzz.sh: then copy the input to tests/fuzz/regressions/ (fuzz_regression_test replays it)" >&2
  exit 1
fi
echo "fuzz.sh: no crash"

# 5. Optional: line coverage of the code under test, from replaying the corpus.
if [[ ${ST_FUZZ_COVERAGE:-0} == 1 ]]; then
  COV=$BUILD-cov
  LLVM_BIN=$(dirname "$(readlink -f "$(command -v "$CXX")")")
  if [[ ! -f $COV/build.ninja ]]; then
    cmake -S tests/fuzz -B "$COV" -G Ninja -DCMAKE_CXX_COMPILER="$CXX" -DST_FUZZ_COVERAGE=ON >/dev/null
  fi
  nice -n 10 ninja -C "$COV" -j1 gguf_fuzz >/dev/null
  rm -f "$COV"/*.profraw
  LLVM_PROFILE_FILE="$COV/run-%p.profraw" ASAN_OPTIONS=detect_leaks=0 \
    nice -n 10 "$COV/gguf_fuzz" -runs=0 "$BUILD/corpus" tests/fuzz/corpus "$SEEDS" >/dev/null 2>&1
  "$LLVM_BIN/llvm-profdata" merge -sparse "$COV"/*.profraw -o "$COV/fuzz.profdata"
  "$LLVM_BIN/llvm-cov" report "$COV/gguf_fuzz" -instr-profile="$COV/fuzz.profdata" \
    src/format/gguf_file.cc src/format/gguf_value.cc src/model/model_config.cc src/model/model_weights.cc \
    src/text/vocab.cc
fi
