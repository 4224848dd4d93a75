#!/usr/bin/env bash
# Builds the engine with sanitizers (CMakePresets.json) and runs the unit tests under them, plus a
# two-thread decode through the CLI on the generated tiny model (the decoder's thread pool).
#
#   tools/sanitize.sh            # ASan + UBSan (preset asan, build-asan)
#   tools/sanitize.sh tsan       # ThreadSanitizer (preset tsan, build-tsan)
#   tools/sanitize.sh all        # both, one after the other
#   tools/sanitize.sh tsan-threads  # ThreadSanitizer on the threaded runtime only (what CI runs):
#                                # the thread pool and batched decode (decoder, sequences), the
#                                # expert cache and prefetcher (offload), the server's engine
#
# Only tests labelled "unit" run: the e2e (Python-driven) and slow (full-size) tests are skipped.
# Environment: ST_JOBS (build and test parallelism; default: the number of CPUs).
# Exit status: non-zero on the first build failure, test failure or sanitizer report.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=${1:-asan}
JOBS=${ST_JOBS:-$(nproc)}

run() {  # PRESET
  local preset=$1 dir=build-$1 t0=$SECONDS
  echo "== sanitize: $preset: configure and build ($dir, $JOBS jobs)"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$JOBS"
  echo "== sanitize: $preset: unit tests"
  ctest --preset "$preset" -j "$JOBS" --timeout 900
  echo "== sanitize: $preset: two-thread decode through the CLI"
  # The test presets set the sanitizer options for ctest; the CLI run gets the same here.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  TSAN_OPTIONS=halt_on_error=1 \
    "$dir/smallthinker-cli" -m "$dir/models/synthetic-tiny.gguf" --token-ids 1,2,3,4,5 -n 8 -t 2 >/dev/null
  echo "== sanitize: $preset: clean ($((SECONDS - t0)) s)"
}

# The tests that run several threads at once, built alone (a whole TSan build would not fit CI's
# time), each binary run whole.
THREADED_TESTS=(decoder_test sequences_test offload_test server_unittests)
run_threads() {
  local dir=build-tsan t0=$SECONDS
  echo "== sanitize: tsan (threaded runtime): configure and build ($dir, $JOBS jobs)"
  cmake --preset tsan >/dev/null
  cmake --build --preset tsan -j "$JOBS" --target "${THREADED_TESTS[@]}" smallthinker-cli synthetic_model
  for t in "${THREADED_TESTS[@]}"; do
    echo "== sanitize: tsan: $t"
    TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 "$dir/tests/$t" --gtest_brief=1
  done
  echo "== sanitize: tsan: two-thread decode through the CLI"
  TSAN_OPTIONS=halt_on_error=1 "$dir/smallthinker-cli" -m "$dir/models/synthetic-tiny.gguf" --token-ids 1,2,3,4,5 -n 8 -t 2 >/dev/null
  echo "== sanitize: tsan (threaded runtime): clean ($((SECONDS - t0)) s)"
}

case $MODE in
  asan) run asan ;;
  tsan) run tsan ;;
  all) run asan; run tsan ;;
  tsan-threads) run_threads ;;
  *) echo "usage: tools/sanitize.sh [asan|tsan|all|tsan-threads]" >&2; exit 2 ;;
esac
