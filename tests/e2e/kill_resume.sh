#!/usr/bin/env bash
# kill -9 at arbitrary moments of a real training run, and in the middle of checkpoint writes,
# then `tyq train --resume`: every time the run continues, and at the end every file is whole
# (run.json, the CSVs, every checkpoint loads) and the batch log has each batch exactly once.
# Usage: kill_resume.sh TYQ
set -uo pipefail
source "$(dirname "$0")/e2e_lib.sh"
tyq=$1
cd "$work" || exit 1

"$tyq" -q gen-data --out data --train 8 --val 4 --seed 9 || exit 1
toy=(--batch-size 2 --accumulate 2 --width 128 --height 96 --loader-threads 1 --eval-interval 1 --checkpoint-interval 1)
epochs=4

# Start, then kill -9 after the run has made some progress (a few more rows in batches.csv, plus
# a varying fraction of a batch), then resume, several times. Waiting on progress rather than
# fixed delays keeps the kills inside the run on a fast machine and a slow one alike.
rows() { [[ -f exps/run/batches.csv ]] && wc -l <exps/run/batches.csv || echo 0; }
"$tyq" --threads 1 -q train --data data/dac.data --out exps/run --epochs $epochs "${toy[@]}" >log.txt 2>&1 &
pid=$!
kills=0
for step in "2 0.05" "3 0.21" "1 0.0" "2 0.13" "2 0.37"; do
    read -r more extra <<<"$step"
    target=$(($(rows) + more))
    for _ in $(seq 1 6000); do # at most a minute per kill
        kill -0 $pid 2>/dev/null || break
        (($(rows) >= target)) && break
        sleep 0.01
    done
    sleep "$extra"
    if kill -0 $pid 2>/dev/null; then
        kill -9 $pid
        wait $pid 2>/dev/null
        kills=$((kills + 1))
    else
        wait $pid 2>/dev/null
        break
    fi
    # The folder must be resumable at once, whatever moment the kill hit.
    if [[ -s exps/run/checkpoints/last.ckpt ]]; then
        "$tyq" --threads 1 -q train --resume exps/run >>log.txt 2>&1 &
    else
        # Killed before the first checkpoint: nothing to resume yet; start over in a fresh folder.
        rm -rf exps/run
        "$tyq" --threads 1 -q train --data data/dac.data --out exps/run --epochs $epochs "${toy[@]}" >>log.txt 2>&1 &
    fi
    pid=$!
done
wait $pid
rc=$?
echo "killed $kills time(s) at random moments; that run exited $rc"
[[ $rc -eq 0 ]] || fail "the resume did not finish: $(tail -5 log.txt)"
((kills >= 2)) || fail "the run was killed fewer than twice"

# Then the worst moment, whatever the machine's speed: while a checkpoint is being written (its
# temporary file exists). The run is extended by two epochs and killed in two checkpoint writes.
epochs=$((epochs + 2))
write_kills=0
for attempt in 1 2 3 4; do
    ((write_kills >= 2)) && break
    "$tyq" --threads 1 -q train --resume exps/run --epochs $epochs >>log.txt 2>&1 &
    pid=$!
    while kill -0 $pid 2>/dev/null; do
        if compgen -G "exps/run/checkpoints/.*.tmp.*" >/dev/null; then
            kill -9 $pid 2>/dev/null && write_kills=$((write_kills + 1))
            break
        fi
        sleep 0.005
    done
    wait $pid 2>/dev/null
done
"$tyq" --threads 1 -q train --resume exps/run --epochs $epochs >>log.txt 2>&1
rc=$?
echo "killed $write_kills time(s) during a checkpoint write; the final resume exited $rc"
[[ $rc -eq 0 ]] || fail "the final resume did not finish: $(tail -5 log.txt)"
((write_kills >= 1)) || fail "never caught a checkpoint write in progress"

"$python" - exps/run $epochs <<'PY' || fail "run files are not whole"
import csv, json, sys, zipfile
run, epochs = sys.argv[1], int(sys.argv[2])
status = json.load(open(f"{run}/run.json"))
assert status["state"] == "finished" and status["epochs_done"] == epochs, status
batches = list(csv.DictReader(open(f"{run}/batches.csv")))
ids = [int(b["batch"]) for b in batches]
assert ids == list(range(len(ids))), f"batch ids not exactly once each: {ids}"
assert len(ids) == epochs * 4, len(ids)
rows = list(csv.DictReader(open(f"{run}/epochs.csv")))
assert [int(r["epoch"]) for r in rows] == list(range(1, epochs + 1)), rows
import glob
for ckpt in glob.glob(f"{run}/checkpoints/*.ckpt"):
    assert zipfile.ZipFile(ckpt).testzip() is None, ckpt
assert not glob.glob(f"{run}/**/.*.tmp.*", recursive=True), "temporary files left behind"
print("run files whole:", len(ids), "batches,", len(rows), "evaluations")
PY
for ckpt in exps/run/checkpoints/*.ckpt; do
    "$tyq" --threads 1 -q eval --data data/dac.data --weights "$ckpt" --width 128 --height 96 >/dev/null 2>&1 ||
        fail "$ckpt does not load"
done
echo "$failures failure(s)"
exit $((failures > 0))
