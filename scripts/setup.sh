#!/usr/bin/env bash
# Installs the Debian packages tyq needs (only those missing), then configures and builds tyq
# (Release) into build/. Re-running on a built tree is quick: no reinstall, incremental build.
#   scripts/setup.sh            packages to build and run
#   scripts/setup.sh --tests    also the packages the tests use (Python torch, Xvfb, clang)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build ccache pkg-config
  qt6-base-dev libqcustomplot-dev libtorch-dev libopencv-dev libyaml-cpp-dev libpugixml-dev
  libcli11-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libgtest-dev libbenchmark-dev libonnx-dev libdnnl-dev libgloo-dev
)
if [[ "${1:-}" == "--tests" ]]; then
  packages+=(python3-torch python3-numpy python3-yaml xvfb xauth x11-utils clang libclang-rt-14-dev python3-onnx iproute2)
  # onnxruntime for the ONNX export tests comes from npm (tests/e2e/onnx_runtime.sh); Debian's
  # npm only where the machine has none of its own.
  command -v npm >/dev/null || packages+=(npm)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [[ ! -f build/build.ninja ]]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build build --parallel "$(nproc)"
