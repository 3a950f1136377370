#!/usr/bin/env bash
# The training workflow from the command line, at toy size: gen-data -> fp train -> LSQ train
# from the fp checkpoint -> eval -> detect; every file of the runs, the metrics' ranges, resume
# (with more epochs), Ctrl-C (a resumable stop), bad data reported with its path.
# Usage: cli_train.sh TYQ
set -uo pipefail
source "$(dirname "$0")/e2e_lib.sh"

tyq=$1
config=$(cd "$(dirname "$0")/../../config" && pwd)

cd "$work" || exit 1
toy=(--batch-size 2 --accumulate 1 --width 128 --height 96 --loader-threads 1)

# --- data ---------------------------------------------------------------------------------------
"$tyq" --threads 1 -q gen-data --out data --train 12 --val 6 --seed 5 || fail "gen-data failed"
[[ $(wc -l <data/train.txt) -eq 12 && $(wc -l <data/val.txt) -eq 6 ]] && pass "gen-data wrote the lists" || fail "list sizes"
[[ -f data/dac.data && -f data/dac.names && -f data/labels/train/000000.txt && -f data/annotations/train/000000.xml ]] &&
    pass "gen-data wrote .data, names, labels and VOC XML" || fail "gen-data files missing"

# --- fp training ------------------------------------------------------------------------------
if "$tyq" --threads 1 -q train --data data/dac.data --out exps/fp --epochs 2 --eval-interval 1 --checkpoint-interval 1 "${toy[@]}" \
    >fp.log 2>&1; then
    pass "fp training finished"
else
    fail "fp training failed: $(tail -5 fp.log)"
fi
for f in network.cfg options.yaml run.json batches.csv epochs.csv train.log checkpoints/last.ckpt checkpoints/best.ckpt \
    checkpoints/epoch_0001.ckpt checkpoints/epoch_0002.ckpt; do
    [[ -s exps/fp/$f ]] || fail "fp run lacks $f"
done
[[ ! -e exps/fp/quant.yaml ]] && pass "an fp run has no quant.yaml" || fail "fp run has a quant.yaml"
[[ $(($(wc -l <exps/fp/batches.csv) - 1)) -eq 12 ]] && pass "batches.csv has one row per batch (2 epochs x 6)" ||
    fail "batches.csv rows: $(wc -l <exps/fp/batches.csv)"
"$python" - exps/fp <<'PY' && pass "run.json and epochs.csv hold sane metrics" || fail "fp metrics"
import csv, json, sys
run = sys.argv[1]
status = json.load(open(f"{run}/run.json"))
assert status["state"] == "finished" and status["phase"] == "fp" and status["epochs_done"] == 2, status
rows = list(csv.DictReader(open(f"{run}/epochs.csv")))
assert len(rows) == 2, rows
for row in rows:
    for key in ("map", "iou", "contest_iou", "precision", "recall", "f1"):
        assert 0.0 <= float(row[key]) <= 1.0, (key, row[key])
batches = list(csv.DictReader(open(f"{run}/batches.csv")))
assert all(float(b["loss"]) > 0 for b in batches)
PY

# --- resume with more epochs ------------------------------------------------------------------
"$tyq" --threads 1 -q train --resume exps/fp --epochs 3 >resume.log 2>&1 || fail "resume failed: $(tail -3 resume.log)"
"$python" -c 'import json; s = json.load(open("exps/fp/run.json")); assert s["epochs_done"] == 3 and s["epochs"] == 3, s' &&
    pass "resume continued to the new epoch count" || fail "resume epochs"
[[ $(($(wc -l <exps/fp/batches.csv) - 1)) -eq 18 ]] && pass "resume appended exactly one epoch of batches" || fail "rows after resume"
"$tyq" --threads 1 -q train --resume exps/fp --lr 0.5 >/dev/null 2>&1 && fail "resume accepted a changed --lr" || pass "resume refuses changed settings"

# --- Ctrl-C stops with a resumable checkpoint ---------------------------------------------------
"$tyq" --threads 1 train --data data/dac.data --out exps/stopped --epochs 50 "${toy[@]}" >stop.log 2>&1 &
pid=$!
for _ in $(seq 1 300); do
    [[ -s exps/stopped/batches.csv && $(wc -l <exps/stopped/batches.csv) -ge 2 ]] && break
    grep -q "epoch 1/50 batch" stop.log 2>/dev/null && break
    sleep 0.2
done
kill -INT $pid
wait $pid
rc=$?
[[ $rc -eq 3 ]] && pass "Ctrl-C exits with status 3 (stopped, resumable)" || fail "Ctrl-C exit status $rc: $(tail -3 stop.log)"
"$python" -c 'import json; s = json.load(open("exps/stopped/run.json")); assert s["state"] == "stopped", s' &&
    pass "the stopped run says so" || fail "stopped state"
[[ -s exps/stopped/checkpoints/last.ckpt ]] && pass "the stop left a checkpoint" || fail "no checkpoint after Ctrl-C"

# --- LSQ from the fp checkpoint -----------------------------------------------------------------
"$tyq" --threads 1 -q train --data data/dac.data --quant "$config/lsq-3bit.yaml" --from exps/fp/checkpoints/best.ckpt \
    --out exps/lsq --epochs 1 --act-step-init data "${toy[@]}" >lsq.log 2>&1 || fail "LSQ training failed: $(tail -5 lsq.log)"
[[ -s exps/lsq/quant.yaml ]] && pass "the LSQ run records its bit-widths" || fail "no quant.yaml in the LSQ run"
head -1 exps/lsq/batches.csv | grep -q "s:module_list.22.conv_22.quan_a_fn" && pass "batches.csv has every step size" ||
    fail "step-size columns missing"
"$tyq" --threads 1 -q train --data data/dac.data --quant "$config/lsq-3bit.yaml" --out exps/lsq2 >nofrom.log 2>&1 &&
    fail "LSQ without --from was accepted" || { grep -q -- "--from" nofrom.log && pass "LSQ without --from is refused with a hint"; }

# --- eval and detect with the LSQ checkpoint (cfg and bit-widths come from the checkpoint) -------
if "$tyq" --threads 1 -q eval --data data/dac.data --weights exps/lsq/checkpoints/last.ckpt --width 128 --height 96 --json eval.json \
    >eval.txt 2>&1; then
    grep -q "mAP" eval.txt && pass "eval prints the table" || fail "eval table: $(cat eval.txt)"
    "$python" -c '
import json; m = json.load(open("eval.json"))
assert m["images"] == 6, m["images"]
for k in ("map", "precision", "recall", "f1", "iou", "contest_iou"): assert 0 <= m[k] <= 1, (k, m[k])' &&
        pass "eval JSON has the metrics in range" || fail "eval JSON: $(cat eval.json)"
else
    fail "eval failed: $(cat eval.txt)"
fi
if "$tyq" --threads 1 -q detect --weights exps/lsq/checkpoints/last.ckpt --conf 0.01 --json det.json --draw drawn \
    data/images/val/000000.jpg >det.txt 2>&1; then
    "$python" -c 'import json; d = json.load(open("det.json")); assert len(d) == 1 and d[0]["width"] == 640' &&
        pass "detect with a tyq LSQ checkpoint" || fail "detect JSON"
    [[ -s drawn/000000.jpg ]] && pass "detect --draw wrote the image" || fail "no drawn image"
else
    fail "detect failed: $(cat det.txt)"
fi

# --- bad data -------------------------------------------------------------------------------------
mkdir -p bad/images bad/labels
cp data/images/train/000000.jpg bad/images/good.jpg
cp data/labels/train/000000.txt bad/labels/good.txt
echo "not an image" >bad/images/broken.jpg
cp data/labels/train/000001.txt bad/labels/broken.txt
cp data/images/train/000002.jpg bad/images/badlabel.jpg
echo "3 0.5 0.5 -0.2 0.1" >bad/labels/badlabel.txt
printf 'images/good.jpg\nimages/broken.jpg\nimages/badlabel.jpg\n' >bad/list.txt
printf 'classes=12\ntrain=list.txt\nvalid=list.txt\nnames=%s\n' "$work/data/dac.names" >bad/bad.data
"$tyq" --threads 1 train --data bad/bad.data --out exps/bad --epochs 1 "${toy[@]}" >bad.log 2>&1 || fail "training with bad samples failed"
grep -q "badlabel.txt:1" bad.log && pass "a bad label is reported with file and line" || fail "bad label not reported: $(cat bad.log)"
grep -q "broken.jpg" bad.log && pass "an unreadable image is reported with its path" || fail "broken image not reported"
"$tyq" --threads 1 -q train --data bad/bad.data --out exps/strict --epochs 1 --strict "${toy[@]}" >strict.log 2>&1 &&
    fail "--strict accepted bad data" || pass "--strict makes bad data fatal"

echo "$failures failure(s)"
exit $((failures > 0))
