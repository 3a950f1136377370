#!/usr/bin/env bash
# Sets up and builds tyq (scripts/setup.sh --tests), then runs every test suite with ctest:
# unit (core), ui (offscreen Qt), e2e (the CLI) and smoke (tyq-studio under Xvfb).
# Tests that need the reference system's files look in $TYQ_REFERENCE_DIR (default ../shared)
# and skip with a message when they are absent.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --tests
cd build
ctest --output-on-failure --parallel "$(nproc)" "$@"
