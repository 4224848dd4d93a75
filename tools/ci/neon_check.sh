#!/usr/bin/env bash
# The NEON kernels on x86 CI: cross-builds kernels/ and the kernel tests for AArch64 with Debian's
# g++-aarch64-linux-gnu and runs them under qemu-user (correctness only: the NEON table against the
# scalar table, bit-exact quantizers, ...). Installs its own packages; exits non-zero on failure.
#
#   tools/ci/neon_check.sh [build-dir]      (default: build-neon in the repository)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build-neon}

packages=(g++-aarch64-linux-gnu qemu-user libgtest-dev cmake ninja-build)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if (( ${#missing[@]} > 0 )); then
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  echo "neon_check: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

cmake -S "$root/tools/ci/neon" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_TOOLCHAIN_FILE="$root/cmake/aarch64-linux-gnu.cmake" >/dev/null
cmake --build "$build" --target st_kernel_tests

# -cpu max offers the Armv8.2 dot product, so both NEON tables run (ST_EXPECT_ISAS makes the test
# fail if either is missing). Death tests re-execute the binary, which qemu-user cannot follow
# without binfmt_misc: skip them.
ST_EXPECT_ISAS=neon,neon_dotprod qemu-aarch64 -cpu max -L /usr/aarch64-linux-gnu "$build/st_kernel_tests" \
  --gtest_filter='-*DeathTest*' --gtest_brief=1
echo "neon_check: ok" >&2
