#!/usr/bin/env bash
# The hardware export end to end: tyq export --format int of the reference's 3-bit checkpoint,
# the files checked against the README's "Hardware export" section by an independent NumPy
# implementation (bit unpacking, the integer convolution, the fixed-point requantization, the
# last layer's float output), tyq detect --engine int --dump / --int-model / --compare, and
# tyq eval --engine int against the float engine.
# Usage: cli_export_int.sh TYQ REFERENCE_DIR SOURCE_DIR   (exit 77 = skipped: no reference files)
set -uo pipefail
source "$(dirname "$0")/e2e_lib.sh"

tyq=$1
reference=${TYQ_REFERENCE_DIR:-$2}
source_dir=$3

seed=$reference/seed
golden=$reference/golden/seed_outputs
if [[ ! -f $seed/lsq_ckpt_92.pth || ! -f $golden/fruits.jpg ]]; then
    echo "SKIP: reference files not found in $reference (set TYQ_REFERENCE_DIR)"
    exit 77
fi

quant=$source_dir/config/lsq-3bit.yaml
cp "$golden/fruits.jpg" "$golden/baboon.jpg" "$work/"

# --- export -----------------------------------------------------------------------------------
if "$tyq" export --format int --quant "$quant" --weights "$seed/lsq_ckpt_92.pth" --out "$work/int" >"$work/export.txt" 2>&1; then
    pass "export --format int exits 0"
else
    fail "export --format int: $(cat "$work/export.txt")"
fi
[[ -s $work/int/manifest.json && -s $work/int/weights.packed && -s $work/int/layer_0_weight.npy ]] &&
    pass "export wrote manifest.json, weights.packed and layer files" || fail "export files missing: $(ls "$work/int")"
grep -q "bytes packed" "$work/export.txt" && pass "export reports the packed size against fp32" ||
    fail "no size report: $(cat "$work/export.txt")"

if "$tyq" export --format int --weights "$seed/fp_ckpt_94.pth" --out "$work/fp_int" >"$work/fp.txt" 2>&1; then
    fail "a full-precision model is exported as integers"
else
    grep -q "full-precision" "$work/fp.txt" && pass "a full-precision model is refused with a reason" ||
        fail "fp refusal message: $(cat "$work/fp.txt")"
fi

# --- detect with the integer engine --------------------------------------------------------------
# The photos are no drone images (objectness < 0.02): a very low threshold gives boxes to compare.
if "$tyq" -q detect --engine int --conf 0.00001 --quant "$quant" --weights "$seed/lsq_ckpt_92.pth" --json "$work/int.json" \
    --dump "$work/dump" "$work/fruits.jpg" "$work/baboon.jpg" >"$work/detect.txt" 2>&1; then
    pass "detect --engine int --dump exits 0"
else
    fail "detect --engine int: $(cat "$work/detect.txt")"
fi
"$tyq" -q detect --int-model "$work/int" --conf 0.00001 --json "$work/folder.json" "$work/fruits.jpg" "$work/baboon.jpg" >"$work/folder.txt" 2>&1 ||
    fail "detect --int-model: $(cat "$work/folder.txt")"
"$tyq" -q detect --conf 0.00001 --quant "$quant" --weights "$seed/lsq_ckpt_92.pth" --json "$work/float.json" \
    "$work/fruits.jpg" "$work/baboon.jpg" >"$work/float.txt" 2>&1 || fail "detect (float): $(cat "$work/float.txt")"
if "$tyq" detect --int-model "$work/int" --compare "$work/fruits.jpg" >"$work/compare.txt" 2>&1; then
    grep -q "identical" "$work/compare.txt" && pass "detect --compare prints the agreement table" ||
        fail "detect --compare output: $(cat "$work/compare.txt")"
else
    fail "detect --compare: $(cat "$work/compare.txt")"
fi
for layer in 0 8 21 22; do
    [[ -s $work/dump/fruits/layer_${layer}_in.npy && -s $work/dump/fruits/layer_${layer}_acc.npy ]] ||
        fail "no dump layer_${layer}_in/acc.npy"
done
[[ -s $work/dump/fruits/layer_9_out_to_10.npy && -s $work/dump/fruits/layer_9_out_to_21.npy &&
    -s $work/dump/fruits/layer_22_out.npy && -s $work/dump/fruits/output.npy ]] &&
    pass "dumps hold codes per consumer, accumulators and the float output" || fail "dump files missing"

if [[ ! -x $python ]] || ! "$python" -c 'import numpy' 2>/dev/null; then
    echo "note: $python with numpy not available; files not checked independently"
else
    "$python" - "$work/int" "$work/dump" "$work/int.json" "$work/folder.json" "$work/float.json" <<'EOF' &&
import json, math, sys
import numpy as np

export, dump, int_json, folder_json, float_json = sys.argv[1:6]
m = json.load(open(f"{export}/manifest.json"))
assert m["format"] == "tyq-integer-model" and m["version"] == 1
layers = m["layers"]
assert len(layers) == 24 and [l["index"] for l in layers] == list(range(24))
assert layers[9]["codes_for"] == [10, 21], layers[9]["codes_for"]
assert layers[19]["from"] == [18, 9]

# Packed weights: LSB-first b-bit two's complement fields, each layer from a byte boundary.
packed = np.fromfile(f"{export}/weights.packed", dtype=np.uint8)
bits = np.unpackbits(packed, bitorder="little")
total = 0
for l in layers:
    if l["type"] != "convolutional":
        continue
    w = l["weight"]
    codes = np.load(f"{export}/{w['file']}")
    assert list(codes.shape) == w["shape"] and codes.dtype == np.int8
    n, b = codes.size, w["bits"]
    assert w["packed_offset"] == total and w["packed_bytes"] == (n * b + 7) // 8
    fields = bits[8 * total: 8 * total + n * b].reshape(n, b).astype(np.int64)
    values = (fields << np.arange(b)).sum(axis=1)
    values = np.where(values >= 1 << (b - 1), values - (1 << b), values) if w["qmin"] < 0 else values
    assert np.array_equal(values, codes.reshape(-1)), f"layer {l['index']}: packed codes differ"
    total += w["packed_bytes"]
assert total == packed.size == m["packed_weights"]["bytes"] == m["sizes"]["packed_weight_bytes"]
print(f"  packed file: {packed.size} bytes, every layer's codes unpack to its .npy")

# The arithmetic of the README, layer by layer, on the dumped tensors of one image.
d = f"{dump}/fruits"
def conv(x, w, stride, pad):
    c, h, wd = x.shape
    o, _, k, _ = w.shape
    xp = np.pad(x.astype(np.int64), ((0, 0), (pad, pad), (pad, pad)))
    oh, ow = (h + 2 * pad - k) // stride + 1, (wd + 2 * pad - k) // stride + 1
    acc = np.zeros((o, oh, ow), np.int64)
    for ky in range(k):
        for kx in range(k):
            patch = xp[:, ky: ky + stride * oh: stride, kx: kx + stride * ow: stride]
            acc += np.einsum("oc,chw->ohw", w[:, :, ky, kx].astype(np.int64), patch)
    return acc
for l in layers:
    if l["type"] != "convolutional":
        continue
    i = l["index"]
    x = np.load(f"{d}/layer_{i}_in.npy")
    assert x.min() >= l["input"]["qmin"] and x.max() <= l["input"]["qmax"]
    w = np.load(f"{export}/{l['weight']['file']}")
    acc = conv(x, w, l["stride"], l["padding"])
    assert np.abs(acc).max() < 2**31 and np.array_equal(acc, np.load(f"{d}/layer_{i}_acc.npy")), f"layer {i}: acc"
    for out in l["outputs"]:
        if out["to"] == "float":
            t = np.load(f"{export}/{out['float_file']}").astype(np.float32)
            z = acc.astype(np.float32) * t[:, 0, None, None] + t[:, 1, None, None]
            got = np.load(f"{d}/layer_{i}_out.npy")
            assert np.array_equal(z, got), f"layer {i}: float output"
            continue
        t = np.load(f"{export}/{out['requant_file']}").astype(np.int64)
        mult, bias, shift = t[:, 0, None, None], t[:, 1, None, None], t[:, 2, None, None]
        q = np.clip((acc * mult + bias + (1 << (shift - 1))) >> shift, out["qmin"], out["qmax"])
        got = np.load(f"{d}/layer_{i}_out_to_{out['to']}.npy")
        assert np.array_equal(q, got), f"layer {i} -> {out['to']}: requantization"
print("  NumPy from the README: every accumulator, requantized code and float output equals the dump")

# The movers on codes: max-pool 9 and route 19 + upsample 20 feed conv 21.
p9 = np.load(f"{d}/layer_9_out_to_21.npy"); c18 = np.load(f"{d}/layer_18_out_to_21.npy")
route = np.concatenate([c18, p9]); up = route.repeat(2, axis=1).repeat(2, axis=2)
assert np.array_equal(up, np.load(f"{d}/layer_21_in.npy"))
c8 = np.load(f"{d}/layer_8_out_to_10.npy")
pool = c8.reshape(c8.shape[0], c8.shape[1] // 2, 2, c8.shape[2] // 2, 2).max(axis=(2, 4))
assert np.array_equal(pool, np.load(f"{d}/layer_10_in.npy"))
print("  max-pool, route and upsample move codes as documented")

# Detections: the export folder gives what the in-memory export gives; the float engine agrees.
a, b, f = (json.load(open(p)) for p in (int_json, folder_json, float_json))
assert a == b, "--int-model and --weights --engine int differ"
assert sum(len(r["detections"]) for r in a) > 0, "no boxes to compare"
for ri, rf in zip(a, f):
    di, df = ri["detections"], rf["detections"]
    assert len(di) == len(df) and all(x["class_id"] == y["class_id"] for x, y in zip(di, df)), (di, df)
    for x, y in zip(di, df):
        assert max(abs(p - q) for p, q in zip(x["box"], y["box"])) < 0.5, (x, y)
print(f"  detections of the integer engine equal the fake-quantized model's ({sum(len(r['detections']) for r in a)} boxes)")
EOF
    pass "export files and dumps follow the documented formats and arithmetic" || fail "independent NumPy check"
fi

# --- eval: the integer engine and the float engine on a small synthetic set ------------------------
if "$tyq" --threads 1 -q gen-data --out "$work/data" --train 1 --val 6 --seed 3 >"$work/gen.txt" 2>&1; then
    "$tyq" -q eval --data "$work/data/dac.data" --quant "$quant" --weights "$seed/lsq_ckpt_92.pth" \
        --json "$work/eval_float.json" >"$work/eval_float.txt" 2>&1 || fail "eval (float): $(cat "$work/eval_float.txt")"
    "$tyq" -q eval --data "$work/data/dac.data" --int-model "$work/int" \
        --json "$work/eval_int.json" >"$work/eval_int.txt" 2>&1 || fail "eval --int-model: $(cat "$work/eval_int.txt")"
    if [[ -x $python ]]; then
        "$python" -c '
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert a["images"] == b["images"] == 6 and a["predictions"] == b["predictions"], (a, b)
assert abs(a["map"] - b["map"]) < 1e-9, (a["map"], b["map"])
print("  mAP float %.4f, integer %.4f, %d predictions each" % (a["map"], b["map"], a["predictions"]))' "$work/eval_float.json" "$work/eval_int.json" &&
            pass "eval --engine int gives the float engine's mAP" || fail "eval results differ"
    fi
    # The fast engine (oneDNN, the fused first stage) and its int32 reference loops: the same
    # evaluation to every digit.
    "$tyq" -q eval --data "$work/data/dac.data" --int-model "$work/int" --int-kernel reference \
        --json "$work/eval_loops.json" >"$work/eval_loops.txt" 2>&1 || fail "eval --int-kernel reference: $(cat "$work/eval_loops.txt")"
    if cmp -s "$work/eval_int.json" "$work/eval_loops.json"; then
        pass "eval on the int32 loops writes the fast engine's evaluation, byte for byte"
    else
        fail "eval --int-kernel reference differs from the default kernel: $(diff "$work/eval_int.json" "$work/eval_loops.json" | head -5)"
    fi
else
    fail "gen-data: $(cat "$work/gen.txt")"
fi

if [[ $failures -gt 0 ]]; then
    echo "$failures check(s) failed"
    exit 1
fi
echo "all checks passed"
