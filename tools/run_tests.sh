#!/usr/bin/env bash
# The whole test suite, as the README and CI run it:
#   1. install dependencies, build, run every test except the `slow` ones (full-size models:
#      `ctest --test-dir build -L slow`): unit, e2e (engine vs the NumPy reference), cli, train;
#   2. the unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer (build-asan);
#   3. the threaded runtime's tests (decode, sequences, offload, the server's engine) under
#      ThreadSanitizer (build-tsan);
#   4. the NEON kernels, cross-built for AArch64 and tested under qemu-user (build-neon).
# ST_QUICK=1 runs step 1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install_deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build
ctest --test-dir build -LE slow --output-on-failure -j "$(nproc)"
if [[ "${ST_QUICK:-0}" != "1" ]]; then
  ST_JOBS=$(nproc) bash tools/sanitize.sh asan
  ST_JOBS=$(nproc) bash tools/sanitize.sh tsan-threads
  bash tools/ci/neon_check.sh
fi
echo "run_tests: all passed"
