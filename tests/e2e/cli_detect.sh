#!/usr/bin/env bash
# The tyq command line end to end: info (table and JSON), help, bad flags and paths, and detect
# on the reference's photos with every output (JSON, drawn images, tensor dumps), the dumped
# output compared with the reference system's golden tensors.
# Usage: cli_detect.sh TYQ REFERENCE_DIR SOURCE_DIR   (exit 77 = the reference parts skipped)
set -uo pipefail
source "$(dirname "$0")/e2e_lib.sh"

tyq=$1
reference=${TYQ_REFERENCE_DIR:-$2}
source_dir=$3

# --- info -------------------------------------------------------------------------------------
if "$tyq" info >"$work/info.txt" 2>&1; then
    grep -q "parameters 1002243" "$work/info.txt" && pass "info prints the totals" ||
        fail "info does not print 'parameters 1002243': $(cat "$work/info.txt")"
else
    fail "info exits non-zero: $(cat "$work/info.txt")"
fi

if "$tyq" info --json >"$work/info.json" 2>"$work/info.err"; then
    if [[ -x $python ]]; then
        "$python" -c 'import json, sys; d = json.load(sys.stdin); assert d["parameters"] == 1002243, d["parameters"]; assert len(d["layers"]) == 24' \
            <"$work/info.json" && pass "info --json is valid JSON with the totals" || fail "info --json: $(head -c 300 "$work/info.json")"
    else
        grep -q '"parameters": 1002243' "$work/info.json" && pass "info --json has the totals" || fail "info --json"
    fi
else
    fail "info --json exits non-zero: $(cat "$work/info.err")"
fi

# --- help and errors --------------------------------------------------------------------------
"$tyq" detect --help >"$work/help.txt" 2>&1 && grep -q -- "--weights" "$work/help.txt" &&
    pass "detect --help" || fail "detect --help: $(cat "$work/help.txt")"

if "$tyq" info --no-such-flag >"$work/flag.txt" 2>&1; then
    fail "an unknown flag is accepted"
else
    grep -q -- "--no-such-flag" "$work/flag.txt" && pass "an unknown flag is refused by name" ||
        fail "unknown flag message does not name it: $(cat "$work/flag.txt")"
fi

# A broken cfg: the error names file:line of the typo.
sed 's/^filters=16$/filtres=16/' "$source_dir/config/tiny-yolo-dac.cfg" >"$work/broken.cfg"
typo_line=$(grep -n '^filtres=16$' "$work/broken.cfg" | head -1 | cut -d: -f1)
if [[ -z $typo_line ]]; then
    fail "could not plant the cfg typo (config/tiny-yolo-dac.cfg changed?)"
elif "$tyq" info --cfg "$work/broken.cfg" >"$work/cfg.txt" 2>&1; then
    fail "a cfg with an unknown key is accepted"
else
    grep -q "broken.cfg:$typo_line:" "$work/cfg.txt" && pass "a broken cfg is reported as broken.cfg:$typo_line" ||
        fail "broken cfg message does not name broken.cfg:$typo_line: $(cat "$work/cfg.txt")"
fi

# --- detect (needs the reference's checkpoint and photos) ---------------------------------------
seed=$reference/seed
golden=$reference/golden/seed_outputs
if [[ ! -f $seed/fp_ckpt_94.pth || ! -f $golden/fruits.jpg ]]; then
    echo "SKIP: reference files not found in $reference (set TYQ_REFERENCE_DIR); detect not tested"
    [[ $failures -eq 0 ]] && exit 77
    exit 1
fi

missing=$work/no-such-image.jpg
if "$tyq" detect --weights "$seed/fp_ckpt_94.pth" "$missing" >"$work/missing.txt" 2>&1; then
    fail "a missing image is accepted"
else
    grep -q "$missing" "$work/missing.txt" && pass "a missing image is refused by path" ||
        fail "missing image message does not name it: $(cat "$work/missing.txt")"
fi

cp "$golden/fruits.jpg" "$golden/baboon.jpg" "$work/"
if "$tyq" -q detect --weights "$seed/fp_ckpt_94.pth" --json "$work/out.json" --draw "$work/drawn" \
    --dump "$work/dump" "$work/fruits.jpg" "$work/baboon.jpg" >"$work/detect.txt" 2>&1; then
    pass "detect exits 0"
else
    fail "detect exits non-zero: $(cat "$work/detect.txt")"
fi

for image in fruits baboon; do
    drawn=$work/drawn/$image.jpg
    [[ -s $drawn && $(head -c 2 "$drawn" | od -An -tx1 | tr -d ' ') == ffd8 ]] &&
        pass "drawn $image.jpg is a JPEG" || fail "no drawn JPEG at $drawn"
    for layer in $(seq 0 23); do
        [[ -s $work/dump/$image/layer_$layer.npy ]] || fail "no dump $image/layer_$layer.npy"
    done
    [[ -s $work/dump/$image/output.npy ]] && pass "dump of $image has output.npy and layer_0..23.npy" ||
        fail "no dump $image/output.npy"
done

if [[ -x $python ]] && "$python" -c 'import numpy' 2>/dev/null; then
    "$python" - "$work/out.json" "$work/dump" "$golden" <<'EOF' && pass "JSON and dumped outputs match the reference" || fail "JSON or dumped outputs"
import json, sys
import numpy as np

out_json, dump, golden = sys.argv[1:4]
results = json.load(open(out_json))
assert len(results) == 2, f"{len(results)} images in the JSON"
assert [r["image"].rsplit("/", 1)[-1] for r in results] == ["fruits.jpg", "baboon.jpg"]
for r in results:
    assert r["width"] > 0 and r["height"] > 0
    for d in r["detections"]:
        x1, y1, x2, y2 = d["box"]
        assert x1 <= x2 and y1 <= y2 and 0 <= d["objectness"] <= 1 and 0 <= d["class_id"] < 12, d
for image in ("fruits", "baboon"):
    got = np.load(f"{dump}/{image}/output.npy")
    expected = np.load(f"{golden}/fp/{image}.npy")
    assert got.shape == expected.shape == (1728, 17), (got.shape, expected.shape)
    diff = float(np.abs(got.astype(np.float64) - expected).max())
    assert diff <= 1e-3, f"{image}: output.npy differs from the golden fp output by {diff}"
    print(f"  {image}: output.npy within {diff:.2e} of the reference")
    first = np.load(f"{dump}/{image}/layer_0.npy")
    assert first.shape == (16, 288, 512), first.shape
EOF
else
    echo "note: $python with numpy not available; dumped tensors not compared with the golden files"
    grep -q '"image"' "$work/out.json" && [[ $(grep -c '"image"' "$work/out.json") -eq 2 ]] &&
        pass "JSON lists 2 images" || fail "JSON does not list 2 images"
fi

# --- detect --precision bf16: the same detections as fp32, or a refusal that says why --------------
for refused in "--engine int" "--dump $work/dump_bf16"; do
    # shellcheck disable=SC2086
    if "$tyq" -q detect --weights "$seed/fp_ckpt_94.pth" --precision bf16 $refused "$work/fruits.jpg" >"$work/refused.txt" 2>&1; then
        fail "detect --precision bf16 $refused is accepted"
    else
        grep -q -- "--precision" "$work/refused.txt" && pass "detect --precision bf16 ${refused%% *} is refused with a reason" ||
            fail "detect --precision bf16 $refused: $(cat "$work/refused.txt")"
    fi
done
# A low threshold, so that the reference photos give detections to compare (fruits: one at ~0.2).
"$tyq" -q detect --weights "$seed/fp_ckpt_94.pth" --conf 0.02 --json "$work/fp32_low.json" \
    "$work/fruits.jpg" "$work/baboon.jpg" >"$work/fp32_low.txt" 2>&1 || fail "detect --conf 0.02: $(cat "$work/fp32_low.txt")"
if "$tyq" -q detect --weights "$seed/fp_ckpt_94.pth" --precision bf16 --conf 0.02 --json "$work/bf16.json" \
    "$work/fruits.jpg" "$work/baboon.jpg" >"$work/bf16.txt" 2>&1; then
    if [[ -x $python ]]; then
        "$python" - "$work/fp32_low.json" "$work/bf16.json" <<'EOF' && pass "detect --precision bf16 finds the fp32 detections" ||
import json, sys
fp32, bf16 = (json.load(open(f)) for f in sys.argv[1:3])
assert len(fp32) == len(bf16) == 2
assert sum(len(r["detections"]) for r in fp32) > 0, "no fp32 detections to compare"
for a, b in zip(fp32, bf16):
    da, db = a["detections"], b["detections"]
    assert [d["class_id"] for d in da] == [d["class_id"] for d in db], (a["image"], da, db)
    for x, y in zip(da, db):
        # bf16 keeps 8 significant bits per conv input: boxes move by a few pixels at most.
        assert max(abs(p - q) for p, q in zip(x["box"], y["box"])) <= 8, (x, y)
        assert abs(x["objectness"] - y["objectness"]) <= 0.05, (x, y)
print("  bf16: " + ", ".join(f"{len(r['detections'])} detection(s) in {r['image'].rsplit('/', 1)[-1]}" for r in bf16))
EOF
            fail "detect --precision bf16 detections differ from fp32: $(head -c 600 "$work/bf16.json")"
    else
        grep -q '"image"' "$work/bf16.json" && pass "detect --precision bf16 writes JSON" || fail "detect --precision bf16 JSON"
    fi
elif grep -q "AVX-512" "$work/bf16.txt"; then
    pass "detect --precision bf16 is refused on a CPU without AVX-512, saying so"
else
    fail "detect --precision bf16 exits non-zero: $(cat "$work/bf16.txt")"
fi

if [[ $failures -gt 0 ]]; then
    echo "$failures check(s) failed"
    exit 1
fi
echo "all checks passed"
