#!/usr/bin/env bash
# The whole test suite, as the README and CI run it: install dependencies, build, run every test
# except the ones labelled `slow` (full-size models; run those with `ctest --test-dir build -L slow`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install_deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build
ctest --test-dir build -LE slow --output-on-failure -j "$(nproc)"
