#!/usr/bin/env bash
# Builds the unit tests and the studio's Qt Test suites with ThreadSanitizer (clang-14,
# build-tsan/) and runs the ones that hand work between threads: the batch loader's decoding
# threads, training with cancel, stop and resume (the trainer's evaluation included), the
# synthetic dataset's writers, the caching allocator, and every ui suite (the training worker,
# the detection caches and the studio's background jobs) on the offscreen platform.
#
#   scripts/tsan.sh [GTEST_FILTER]
#
# LibTorch, OpenCV, Qt and libgomp stay uninstrumented. Under TSan, tyq runs LibTorch's
# intra-op pool (libgomp) with one thread (core/common/compute_threads.cpp says why); the
# suppressions in tests/sanitizers/tsan.supp name only functions inside those libraries, and
# tests/sanitizers/tsan_triage.py sets apart the reports whose both accesses are Qt's own.
set -euo pipefail
cd "$(dirname "$0")/.."

filter=${1:-"BatchLoader.*:Trainer.*:TrainerFaults.*:SyntheticDataset.*:CpuAllocator.*:InvalidWeights.Training*:-Trainer.OverfitsTinyDatasetThenLsqKeepsAccuracy"}
if ! command -v clang++-14 >/dev/null; then
    echo "tsan.sh: needs clang-14 (apt-get install clang-14 libclang-rt-14-dev)" >&2
    exit 2
fi

build=build-tsan
export CCACHE_NOHASHDIR=1
cmake -S . -B $build -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=Debug \
    "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -gline-tables-only" -DTYQ_TSAN=ON -DTYQ_BUILD_BENCH=OFF >/dev/null
ui_tests=(training plots_panel quant_editor detection_panel hardware_export)
targets=(tyq_core_tests)
for t in "${ui_tests[@]}"; do targets+=("tyq_ui_${t}_test"); done
cmake --build $build --target "${targets[@]}"

# second_deadlock_stack: both stacks of a lock-order report.
options="second_deadlock_stack=1:suppressions=$PWD/tests/sanitizers/tsan.supp:${TSAN_OPTIONS:-}"
echo "running tyq_core_tests under ThreadSanitizer (filter: $filter)"
TSAN_OPTIONS="halt_on_error=1:$options" $build/bin/tyq_core_tests --gtest_filter="$filter"

# The ui suites go on past a report (exitcode=0: their own exit status is the tests'), and
# tsan_triage.py then fails the run on any report in which tyq's code makes an access; reports
# whose both accesses are inside Qt (see tests/sanitizers/tsan.supp) are counted, not failed.
logs=$build/tsan-logs
rm -rf "$logs" && mkdir -p "$logs"
for t in "${ui_tests[@]}"; do
    echo "running ui.$t under ThreadSanitizer"
    TSAN_OPTIONS="halt_on_error=0:exitcode=0:log_path=$logs/ui.$t:$options" QT_QPA_PLATFORM=offscreen \
        $build/bin/tyq_ui_${t}_test
done
shopt -s nullglob
python3 tests/sanitizers/tsan_triage.py "$logs"/* /dev/null
echo "tsan: clean"
