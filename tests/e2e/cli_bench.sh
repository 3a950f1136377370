#!/usr/bin/env bash
# `tyq bench --quick`: the table and the JSON a script reads carry every measurement with its
# baseline (speeds are not asserted here: a loaded CI machine says nothing about them), the
# memory check, and bad flags are refused. Usage: cli_bench.sh TYQ
set -uo pipefail
source "$(dirname "$0")/e2e_lib.sh"
tyq=$1
cd "$work" || exit 1

mkdir tmp
TMPDIR=$work/tmp "$tyq" --threads 2 bench --quick --json bench.json >table.txt 2>log.txt || fail "bench failed: $(tail -5 log.txt)"
for key in fp_infer_b1 fp_infer_b8 lsq_infer_b8 int_infer_b1 int_infer_b8 fp_train_b8 lsq_train_b8 data_pipeline eval_dataset int_eval_dataset; do
    grep -q "^$key " table.txt || fail "the table has no $key row"
done
grep -q "memory over 12 training batches" table.txt || fail "the table has no memory check"
grep -Eq "^integer engine / fp inference, batch 8: +x[0-9.]+  \(target x2.5: (ok|NO)\)" table.txt ||
    fail "the table has no integer/fp ratio line: $(grep -i ratio table.txt)"
[[ -z $(ls -A tmp) ]] || fail "the temporary dataset was left behind: $(ls tmp)"

"$python" - bench.json <<'PY' || fail "bench.json is incomplete"
import json, sys
j = json.load(open(sys.argv[1]))
problems = []
for key in ["fp_infer_b8", "lsq_infer_b8", "int_infer_b1", "fp_train_b8", "lsq_train_b8", "data_pipeline", "eval_dataset", "int_eval_dataset"]:
    for k in [key, key + "_baseline", key + "_speedup"]:
        if not isinstance(j.get(k), (int, float)) or j[k] <= 0:
            problems.append(f"{k} = {j.get(k)!r}")
if not isinstance(j.get("int_infer_b8"), (int, float)) or j["int_infer_b8"] <= 0:
    problems.append(f"int_infer_b8 = {j.get('int_infer_b8')!r}")
if "int8 convolutions" not in j.get("kernel_isa", ""):
    problems.append(f"kernel_isa does not say which int8 path ran: {j.get('kernel_isa')!r}")
if "LSQ training sums codes in " not in j.get("kernel_isa", ""):
    problems.append(f"kernel_isa does not say how LSQ training sums its codes: {j.get('kernel_isa')!r}")
if "oneDNN kernels: " not in j.get("integer_kernels", ""):
    problems.append(f"integer_kernels does not name oneDNN's kernels: {j.get('integer_kernels')!r}")
for k in ["machine", "threads", "width", "height", "data_to_train_ratio", "memory_first_quarter_mb",
          "memory_last_quarter_mb", "memory_bounded"]:
    if k not in j:
        problems.append(f"missing {k}")
if (j.get("width"), j.get("height"), j.get("threads")) != (160, 96, 2):
    problems.append(f"size/threads {j.get('width')}x{j.get('height')}, {j.get('threads')}")
# The ratios are those of the run's own rows, each with its target.
for ratio, num, den, target in [("int_over_fp_infer_b1", "int_infer_b1", "fp_infer_b1", 2),
                                ("int_over_fp_infer_b8", "int_infer_b8", "fp_infer_b8", 2.5),
                                ("int_eval_over_loops", "int_eval_dataset", "int_eval_dataset_baseline", 20)]:
    expected = j.get(num, 0) / j.get(den, 1)
    if abs(j.get(ratio, -1) - expected) > 1e-6 * expected or j.get(ratio + "_target") != target:
        problems.append(f"{ratio} = {j.get(ratio)!r} (target {j.get(ratio + '_target')!r}), expected {expected}")
# bf16 rows where the CPU runs bf16 (AVX-512), each with its ratio to the fp32 row of the run.
if "bf16: unsupported" not in j.get("kernel_isa", "bf16: unsupported"):
    for key, target in [("fp_train_b8", 1.6), ("lsq_train_b8", 1.6), ("fp_infer_b8", None)]:
        bf16 = j.get(key + "_bf16", 0)
        expected = bf16 / j.get(key, 1)
        ratio = j.get("bf16_over_fp32_" + key, -1)
        if bf16 <= 0 or abs(ratio - expected) > 1e-6 * expected or j.get("bf16_over_fp32_" + key + "_target") != target:
            problems.append(f"{key}_bf16 = {bf16!r}, ratio {ratio!r} (target {j.get('bf16_over_fp32_' + key + '_target')!r}), expected {expected}")
elif "bf16" not in j.get("kernel_isa", ""):
    problems.append(f"kernel_isa does not say whether bf16 ran: {j.get('kernel_isa')!r}")
if "fp_infer_b8_target" in j:
    problems.append("targets are for 512x288 only, yet the quick run has one")
if problems:
    print("\n".join(problems))
sys.exit(1 if problems else 0)
PY

"$tyq" bench --width 100 >/dev/null 2>err.txt && fail "a width that is not a multiple of 32 was accepted"
grep -q "multiples of 32" err.txt || fail "bad width message: $(cat err.txt)"

((failures == 0)) && echo "cli_bench: all checks passed"
exit $((failures > 0))
