#!/usr/bin/env bash
# Builds the core unit tests with AddressSanitizer + UBSan (clang-14, build-asan) and runs them,
# stopping at the first error. LibTorch, OpenCV and the other libraries stay uninstrumented.
#
#   scripts/sanitize.sh [GTEST_FILTER]
#
# The default filter leaves out Trainer.OverfitsTinyDatasetThenLsqKeepsAccuracy (100 epochs of
# training: over an hour under ASan; the other Trainer and TrainerFaults tests cover the same
# code). Leaks are checked, with the suppressions in tests/sanitizers/lsan.supp (allocations
# LibTorch and its OpenMP runtime keep for the life of the process).
set -euo pipefail
cd "$(dirname "$0")/.."

filter=${1:-"-Trainer.OverfitsTinyDatasetThenLsqKeepsAccuracy"}
if ! command -v clang++-14 >/dev/null; then
    echo "sanitize.sh: needs clang-14 (apt-get install clang-14 libclang-rt-14-dev)" >&2
    exit 2
fi

build=build-asan
# Same compiler and flags as scripts/fuzz.sh: the two builds share ccache entries.
export CCACHE_NOHASHDIR=1
cmake -S . -B $build -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=Debug \
    "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -gline-tables-only" -DTYQ_SANITIZE=ON -DTYQ_BUILD_UI=OFF >/dev/null
cmake --build $build --target tyq_core_tests

export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:detect_odr_violation=0:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:${UBSAN_OPTIONS:-}"
export LSAN_OPTIONS="suppressions=$PWD/tests/sanitizers/lsan.supp:print_suppressions=0:${LSAN_OPTIONS:-}"
echo "running tyq_core_tests under ASan + UBSan (filter: $filter)"
$build/bin/tyq_core_tests --gtest_filter="$filter"
echo "sanitizers: clean"
