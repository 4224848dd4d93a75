#!/usr/bin/env bash
# Installs everything smallthinker.cpp needs to build, test and benchmark, from Debian packages.
# Used by the README's first command and by .ci/run. Safe to run again.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libgtest-dev libgmock-dev libbenchmark-dev
  libcli11-dev libfmt-dev libspdlog-dev nlohmann-json3-dev liburing-dev
  libcpp-httplib-dev curl chromium
  python3 python3-numpy python3-regex python3-jinja2
  time
)
# Training the shipped model (tools/train) needs PyTorch with a fast BLAS; its CI smoke test too.
if [[ "${ST_SKIP_TORCH:-0}" != "1" ]]; then
  packages+=(python3-torch libopenblas0-pthread)
fi

# The server's tests run the official `openai` npm client and drive Chromium with playwright-core
# (both installed by the tests from the npm registry): they need node and npm.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if (( ${#missing[@]} > 0 )); then
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  echo "installing: ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "dependencies: ok" >&2
