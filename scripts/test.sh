#!/usr/bin/env bash
# Sets up and builds tyq (scripts/setup.sh --tests), then runs every test suite with ctest:
# unit (core), ui (offscreen Qt), e2e (the CLI) and smoke (tyq-studio under Xvfb).
# Tests that need the reference system's files look in $TYQ_REFERENCE_DIR (default ../shared)
# and skip with a message when they are absent.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --tests
# onnxruntime for the ONNX export tests: the npm package ships its CPU library; into build/ (ignored).
ort=build/onnxruntime
if [[ ! -f $ort/node_modules/onnxruntime-node/package.json ]]; then
  npm install --ignore-scripts --no-audit --no-fund --prefix "$ort" onnxruntime-node@1.30.0 >/dev/null ||
    echo "test: npm install onnxruntime-node failed; e2e.cli_export_onnx will skip its onnxruntime checks"
fi
cd build
ctest --output-on-failure --parallel "$(nproc)" "$@"
