#!/usr/bin/env bash
# Fuzzes every reader tyq has (libFuzzer, AddressSanitizer + UBSan; clang-14 from Debian):
# configures and builds build-fuzz, writes the seed corpora, runs each target for N minutes
# (at most two at a time) and reports what each found.
#
#   scripts/fuzz.sh [-m MINUTES] [-j PARALLEL] [TARGET...]     (default: 10 minutes, 2, all)
#
# Targets: darknet_cfg quant_config train_options experiment data_files yolo_labels voc_xml
# torch_archive pickle npy image. Corpora grow in build-fuzz/fuzz-corpus/<target> across runs;
# logs go to build-fuzz/fuzz-logs/, crashing inputs to build-fuzz/fuzz-findings/<target>/
# (replay one: build-fuzz/bin/fuzz_<target> FILE). The exit status is 1 if anything was found.
set -euo pipefail
cd "$(dirname "$0")/.."

minutes=10
parallel=2
while getopts "m:j:h" opt; do
    case $opt in
    m) minutes=$OPTARG ;;
    j) parallel=$OPTARG ;;
    *) sed -n '2,13p' "$0"; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
all=(darknet_cfg quant_config train_options experiment data_files yolo_labels voc_xml torch_archive pickle npy image)
targets=("$@")
((${#targets[@]})) || targets=("${all[@]}")

if ! command -v clang++-14 >/dev/null || [[ ! -e /usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a &&
    -z $(find /usr/lib/llvm-14 -name 'libclang_rt.fuzzer-x86_64.a' 2>/dev/null) ]]; then
    echo "fuzz.sh: needs clang-14 and libclang-rt-14-dev (apt-get install clang-14 libclang-rt-14-dev)" >&2
    exit 2
fi

build=build-fuzz
# -O1 with line tables: fast enough to fuzz, readable stack traces. Same flags as
# scripts/sanitize.sh, so the two builds share ccache entries (no per-folder hashing).
export CCACHE_NOHASHDIR=1
cmake -S . -B $build -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=Debug \
    "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -gline-tables-only" -DTYQ_SANITIZE=ON -DTYQ_BUILD_FUZZERS=ON \
    -DTYQ_BUILD_UI=OFF -DTYQ_BUILD_TESTS=OFF >/dev/null
cmake --build $build --target fuzz_make_seeds $(printf 'fuzz_%s ' "${targets[@]}")

# LibTorch and OpenMP keep allocations for the life of the process; they are not input-driven.
export ASAN_OPTIONS="detect_leaks=1:detect_odr_violation=0:allocator_may_return_null=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:${UBSAN_OPTIONS:-}"
export LSAN_OPTIONS="suppressions=$PWD/tests/sanitizers/lsan.supp:print_suppressions=0:${LSAN_OPTIONS:-}"
export OMP_NUM_THREADS=1

seeds=$build/fuzz-seeds
rm -rf "$seeds"
$build/bin/fuzz_make_seeds "$seeds"
mkdir -p $build/fuzz-logs

run_one() {
    local t=$1
    local corpus=$build/fuzz-corpus/$t findings=$build/fuzz-findings/$t/
    mkdir -p "$corpus" "$findings" "$seeds/$t"
    [[ -d fuzz/corpus/$t ]] && cp -n fuzz/corpus/$t/* "$seeds/$t/" 2>/dev/null || true
    local dict=()
    case $t in
    darknet_cfg) dict=(-dict=fuzz/dicts/darknet_cfg.dict) ;;
    quant_config | train_options | experiment) dict=(-dict=fuzz/dicts/yaml.dict) ;;
    voc_xml) dict=(-dict=fuzz/dicts/voc_xml.dict) ;;
    pickle | torch_archive) dict=(-dict=fuzz/dicts/pickle.dict) ;;
    esac
    local maxlen=4096
    [[ $t == torch_archive || $t == image ]] && maxlen=65536
    "$build/bin/fuzz_$t" "$corpus" "$seeds/$t" "${dict[@]}" -max_total_time=$((minutes * 60)) -timeout=30 \
        -rss_limit_mb=2560 -max_len=$maxlen -artifact_prefix="$findings" -print_final_stats=1 \
        >"$build/fuzz-logs/$t.log" 2>&1 || true
}

echo "fuzzing ${#targets[@]} target(s) for $minutes minute(s) each, $parallel at a time"
running=0
for t in "${targets[@]}"; do
    if ((running >= parallel)); then
        wait -n || true
        running=$((running - 1))
    fi
    echo "  start $t ($(date +%H:%M:%S))"
    run_one "$t" &
    running=$((running + 1))
done
wait

found=0
printf '\n%-15s %8s %10s %8s  %s\n' target minutes runs corpus findings
for t in "${targets[@]}"; do
    log=$build/fuzz-logs/$t.log
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    corpus=$(ls "$build/fuzz-corpus/$t" | wc -l)
    mapfile -t hits < <(find "$build/fuzz-findings/$t" -type f -newer "$seeds" 2>/dev/null)
    printf '%-15s %8s %10s %8s  %s\n' "$t" "$minutes" "${runs:-?}" "$corpus" "${#hits[@]}"
    for h in "${hits[@]}"; do
        echo "    $h"
        grep -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|terminate called|deadly signal' "$log" | sed 's/^/      /' || true
    done
    ((${#hits[@]} == 0)) || found=1
done
exit $found
