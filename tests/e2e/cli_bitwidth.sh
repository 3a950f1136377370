#!/usr/bin/env bash
# Choosing bit-widths from the command line, at toy size: ptq writes a checkpoint that LSQ
# training starts from (keeping its calibrated steps), sensitivity writes its table, search
# writes a reference-format YAML within the size budget, and bad inputs are named.
# Usage: cli_bitwidth.sh TYQ
set -uo pipefail
source "$(dirname "$0")/e2e_lib.sh"
tyq=$1
config=$(cd "$(dirname "$0")/../../config" && pwd)
cd "$work" || exit 1
toy=(--width 128 --height 96)

"$tyq" --threads 1 -q gen-data --out data --train 12 --val 6 --seed 5 || fail "gen-data failed"
"$tyq" --threads 1 -q train --data data/dac.data --out exps/fp --epochs 1 --batch-size 4 --accumulate 1 \
    --loader-threads 1 "${toy[@]}" >fp.log 2>&1 || fail "fp training failed: $(tail -5 fp.log)"
fp=exps/fp/checkpoints/best.ckpt

# --- ptq ------------------------------------------------------------------------------------------
if "$tyq" --threads 1 ptq --weights "$fp" --data data/dac.data --calib 4 --val 6 "${toy[@]}" --out ptq.ckpt \
    --json ptq.json >ptq.txt 2>&1; then
    pass "ptq ran"
else
    fail "ptq failed: $(tail -5 ptq.txt)"
fi
grep -q "ptq: mAP" ptq.txt && grep -q "quantize + calibrate" ptq.txt || fail "ptq output: $(cat ptq.txt)"
"$python" - ptq.json <<'PY' || fail "ptq.json"
import json, sys
j = json.load(open(sys.argv[1]))
assert 0 <= j["ptq"]["map"] <= 1 and 0 <= j["fp"]["map"] <= 1 and j["calibration_seconds"] > 0, j
PY
# The checkpoint is an LSQ model with its calibrated steps: eval reads it, and LSQ training
# from it keeps the steps instead of re-initializing them.
"$tyq" --threads 1 -q eval --weights ptq.ckpt --data data/dac.data "${toy[@]}" >eval.txt 2>&1 &&
    grep -qi "lsq" eval.txt && pass "eval reads the ptq checkpoint as an LSQ model" || fail "eval of ptq.ckpt: $(tail -3 eval.txt)"
if "$tyq" --threads 1 train --data data/dac.data --quant "$config/lsq-3bit.yaml" --from ptq.ckpt \
    --out exps/lsq --epochs 1 --batch-size 4 --accumulate 1 --loader-threads 1 --act-step-init data "${toy[@]}" \
    >lsq.log 2>&1; then
    grep -q "activation step sizes from ptq.ckpt" exps/lsq/train.log && pass "LSQ training keeps the ptq steps" ||
        fail "LSQ from ptq.ckpt re-initialized its steps: $(grep -i step exps/lsq/train.log | head -3)"
else
    fail "LSQ training from ptq.ckpt failed: $(tail -5 lsq.log)"
fi

# --- sensitivity ----------------------------------------------------------------------------------
if "$tyq" --threads 1 sensitivity --weights "$fp" --data data/dac.data --calib 4 --val 6 --bits 2,8 "${toy[@]}" \
    --json sens.json >sens.txt 2>sens.err; then
    pass "sensitivity ran"
else
    fail "sensitivity failed: $(tail -5 sens.err)"
fi
grep -q "sensitivity: 40/40" sens.err && pass "sensitivity reports its progress" || fail "progress: $(tail -2 sens.err)"
"$python" - sens.json <<'PY' || fail "sens.json"
import json, sys
j = json.load(open(sys.argv[1]))
e = j["entries"]
# 10 convs x 2 bit-widths x (weights, activations), each with its proxy and measured drop.
assert len(e) == 40, len(e)
assert all(x["output_error"] >= 0 and x["map_drop"] is not None for x in e), e[:2]
# More bits, less output error, for every quantizer.
for m in {x["module"] for x in e}:
    for q in ("weight", "act"):
        err = {x["bits"]: x["output_error"] for x in e if x["module"] == m and x["quantizer"] == q}
        assert err[8] <= err[2], (m, q, err)
# The Hessian-trace proxy (HAWQ) beside it, and both proxies' rank correlations.
assert all(x["hessian_proxy"] is not None and x["hessian_proxy"] >= 0 for x in e), e[:2]
for m in {x["module"] for x in e}:
    h = {x["bits"]: x["hessian_proxy"] for x in e if x["module"] == m and x["quantizer"] == "weight"}
    assert h[8] < h[2], (m, h)
assert "hessian_rank_correlation" in j and "proxy_rank_correlation" in j, j.keys()
PY
grep -q "Spearman rank correlation with the measured mAP drop: output error .*, Hessian trace" sens.txt &&
    pass "sensitivity compares the two proxies" || fail "proxy comparison: $(tail -3 sens.txt)"

# --- search ---------------------------------------------------------------------------------------
"$tyq" --threads 1 -q search --weights "$fp" --sensitivity sens.json --bits 2,8 --budget-size 300KB --out bits.yaml \
    >search.txt 2>&1 || fail "search failed: $(tail -5 search.txt)"
[[ -s bits.yaml ]] && grep -q "quan_default" bits.yaml && pass "search wrote a reference YAML" || fail "no bits.yaml"
"$tyq" -q info --quant bits.yaml --json >info.json 2>info.err || fail "tyq info cannot read bits.yaml: $(cat info.err)"
"$python" - info.json <<'PY' || fail "the searched bit-widths exceed the budget"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["size_bits_quantized"] <= 300000 * 8, j["size_bits_quantized"]
PY
"$tyq" -q search --weights "$fp" --sensitivity sens.json --bits 2,8 --budget-size 1KB >tiny.txt 2>&1 &&
    fail "an impossible budget was accepted" || grep -q "no choice of bit-widths fits" tiny.txt ||
    fail "impossible budget message: $(cat tiny.txt)"
"$tyq" -q search --weights "$fp" --sensitivity sens.json --budget-size lots >bad.txt 2>&1 &&
    fail "a bad size was accepted" || grep -q "budget-size 'lots'" bad.txt || fail "bad size message: $(cat bad.txt)"
# The front from 2 to 8 average weight bits, without a budget; with --measure each point previewed.
"$tyq" --threads 1 -q search --weights "$fp" --data data/dac.data --calib 4 --val 6 "${toy[@]}" --sensitivity sens.json \
    --bits 2,8 --front --measure >front.txt 2>&1 || fail "search --front failed: $(tail -5 front.txt)"
"$python" - front.txt <<'PY' && pass "the front lists points from 2 to 8 average bits, measured" || fail "front: $(cat front.txt)"
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip() and l.split()[0].replace(".", "").isdigit()]
assert len(rows) >= 2, rows
bits = [float(r[0]) for r in rows]
size = [float(r[1]) for r in rows]
assert all(2 <= b <= 8 for b in bits), bits
assert size == sorted(size), size                      # smallest model first
assert all(0 <= float(r[4]) <= 1 for r in rows), rows  # the measured mAP
PY
echo '{"entries": 3}' >broken.json
"$tyq" -q search --weights "$fp" --sensitivity broken.json --budget-size 300KB >broken.txt 2>&1 &&
    fail "a broken table was accepted" || grep -q "broken.json: not a tyq sensitivity table" broken.txt ||
    fail "broken table message: $(cat broken.txt)"
"$tyq" -q ptq --weights ptq.ckpt --data data/dac.data "${toy[@]}" >q.txt 2>&1 && fail "ptq of a quantized model was accepted" ||
    grep -q "starts from fp weights" q.txt || fail "quantized input message: $(cat q.txt)"

exit $((failures > 0))
