#!/usr/bin/env bash
# Data-parallel training end to end on this machine (c10d Gloo over loopback): one process with
# batch 8 and two processes with batch 4 (--nproc 2 --sync-bn) train the same job, fp and LSQ;
# rank 0 alone writes the run; checkpoints move between world sizes; faults end the job with a
# message naming the rank and leave a resumable checkpoint.
# Usage: data_parallel.sh TYQ SOURCE_DIR
set -uo pipefail
source "$(dirname "$0")/e2e_lib.sh"
tyq=$1
source_dir=$2
here=$(cd "$(dirname "$0")" && pwd)
cd "$work" || exit 1

"$tyq" -q gen-data --out data --train 16 --val 8 --width 160 --height 96 >/dev/null || { echo "FAIL: gen-data"; exit 1; }
common=(--data data/dac.data --batch-size 8 --accumulate 1 --width 128 --height 64 --no-flip --eval-interval 1)
half=(--data data/dac.data --batch-size 4 --accumulate 1 --width 128 --height 64 --no-flip --eval-interval 1)

# --- the same job on 1 and on 2 processes: fp, then LSQ ------------------------------------------
# One optimizer step (8 images: one global batch per epoch), compared tightly, each averaged
# gradient too (conv 0's to 5e-2: it convolves the image, no codes, and with LSQ its weight
# gradient, mostly cancelled, parted by 2.8e-3 and its step size's by 1.4e-2 with the batch
# split); then four steps, compared with the drift float rounding alone gives (the same job on 2
# threads, and on oneDNN's SSE4.1 convolutions).
"$tyq" -q gen-data --out data8 --train 8 --val 4 --width 160 --height 96 --seed 3 >/dev/null || fail "gen-data 8"
one=(--data data8/dac.data --accumulate 1 --width 128 --height 64 --no-flip --epochs 1 --sync-bn)
for phase in fp lsq; do
    from=()
    [[ $phase == lsq ]] && from=(--quant "$source_dir/config/lsq-3bit.yaml" --from step_fp_1/checkpoints/last.ckpt)
    "$tyq" -q --threads 1 train "${one[@]}" "${from[@]}" --batch-size 8 --out step_${phase}_1 >step1.txt 2>&1 ||
        fail "$phase one step, 1 process: $(tail -3 step1.txt)"
    "$tyq" -q --threads 1 train "${one[@]}" "${from[@]}" --batch-size 4 --nproc 2 --out step_${phase}_2 >step2.txt 2>&1 ||
        fail "$phase one step, 2 processes: $(tail -3 step2.txt)"
    "$python" "$here/compare_runs.py" step_${phase}_1 step_${phase}_2 --gradients 1e-4 --gradients-of module_list.0. 5e-2 &&
        pass "$phase: one step of 2 processes x batch 4 equals 1 process x batch 8" || fail "$phase: one step differs"
done

"$tyq" -q --threads 1 train "${common[@]}" --epochs 2 --sync-bn --out fp1 >fp1.txt 2>&1 || fail "fp, 1 process: $(tail -3 fp1.txt)"
"$tyq" -q --threads 2 train "${common[@]}" --epochs 2 --sync-bn --out fp1t2 >fp1t2.txt 2>&1 || fail "fp, 2 threads: $(tail -3 fp1t2.txt)"
ONEDNN_MAX_CPU_ISA=SSE41 "$tyq" -q --threads 1 train "${common[@]}" --epochs 2 --sync-bn --out fp1sse >fp1sse.txt 2>&1 ||
    fail "fp, SSE4.1 convolutions: $(tail -3 fp1sse.txt)"
if "$tyq" --threads 1 train "${half[@]}" --epochs 2 --sync-bn --nproc 2 --out fp2 >fp2.txt 2>&1; then
    grep -q "rank 0 of 2 processes (global batch 8, synchronized batch norm)" fp2/train.log &&
        pass "--nproc 2 runs one job of global batch 8" || fail "fp2/train.log: $(head -3 fp2/train.log)"
else
    fail "fp, --nproc 2: $(tail -5 fp2.txt)"
fi
"$python" "$here/compare_runs.py" fp1 fp2 fp1t2 fp1sse && pass "fp: four steps of 2 x 4 follow 1 x 8 (--sync-bn)" ||
    fail "fp: 2 x 4 drifts from 1 x 8"
extra=$(cd fp2 && ls | grep -v -x -e batches.csv -e checkpoints -e epochs.csv -e network.cfg -e options.yaml \
    -e run.json -e train.log -e train.rank1.log)
[[ -z $extra && -s fp2/train.rank1.log ]] && pass "rank 1 writes only its log (train.rank1.log)" ||
    fail "unexpected files in the run folder: $extra"

lsq=(--quant "$source_dir/config/lsq-3bit.yaml" --from fp1/checkpoints/last.ckpt --epochs 2)
"$tyq" -q --threads 1 train "${common[@]}" "${lsq[@]}" --sync-bn --out lsq1 >lsq1.txt 2>&1 || fail "LSQ, 1 process: $(tail -3 lsq1.txt)"
"$tyq" -q --threads 2 train "${common[@]}" "${lsq[@]}" --sync-bn --out lsq1t2 >lsq1t2.txt 2>&1 || fail "LSQ, 2 threads: $(tail -3 lsq1t2.txt)"
ONEDNN_MAX_CPU_ISA=SSE41 "$tyq" -q --threads 1 train "${common[@]}" "${lsq[@]}" --sync-bn --out lsq1sse >lsq1sse.txt 2>&1 ||
    fail "LSQ, SSE4.1 convolutions: $(tail -3 lsq1sse.txt)"
"$tyq" -q --threads 1 train "${half[@]}" "${lsq[@]}" --sync-bn --nproc 2 --out lsq2 >lsq2.txt 2>&1 ||
    fail "LSQ, --nproc 2: $(tail -5 lsq2.txt)"
"$python" "$here/compare_runs.py" lsq1 lsq2 lsq1t2 lsq1sse && pass "LSQ: four steps of 2 x 4 follow 1 x 8, step sizes included" ||
    fail "LSQ: 2 x 4 drifts from 1 x 8"

# Local batch norm (the default) is a different computation: the curves must differ.
"$tyq" -q --threads 1 train "${one[@]/--sync-bn/--no-flip}" --batch-size 4 --nproc 2 --out local >local.txt 2>&1 ||
    fail "local BN: $(tail -3 local.txt)"
if "$python" "$here/compare_runs.py" step_fp_1 local >local_compare.txt 2>&1; then
    fail "local batch norm gives the synchronized result (is --sync-bn doing anything?)"
else
    pass "without --sync-bn, batch norm uses each process's own batch"
fi

# --- checkpoints across world sizes --------------------------------------------------------------
"$tyq" -q eval --weights fp2/checkpoints/best.ckpt --data data/dac.data >eval.txt 2>&1 &&
    pass "a 2-process checkpoint evaluates in one process" || fail "eval of fp2's checkpoint: $(tail -3 eval.txt)"
# --batch-size is per process: resumed alone, the run's global batch is 4 (4 batches per epoch).
"$tyq" -q --threads 1 train --resume fp2 --epochs 3 >resume1.txt 2>&1 &&
    [[ $(grep -c '^2,[0-9]*,[0-9]*,4,' fp2/batches.csv) -eq 4 && $(grep -c '^[01],[0-9]*,[0-9]*,8,' fp2/batches.csv) -eq 4 ]] &&
    pass "a 2-process run resumes in 1 process (epoch 3: 4 batches of 4)" ||
    fail "resume fp2 in 1 process: $(tail -3 resume1.txt); $(cut -d, -f1-4 fp2/batches.csv)"
"$tyq" -q --threads 1 train --resume fp1 --epochs 3 --nproc 2 >resume2.txt 2>&1 && grep -q '"epochs_done": 3' fp1/run.json &&
    pass "a 1-process run resumes with --nproc 2" || fail "resume fp1 with --nproc 2: $(tail -3 resume2.txt)"

# --- faults ----------------------------------------------------------------------------------------
port=$(("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') 2>/dev/null)
# Ranks that disagree: the message names the rank and the option.
"$tyq" -q --threads 1 train "${half[@]}" --epochs 1 --world-size 2 --rank 0 --master 127.0.0.1:$port --dist-timeout 20 \
    --out mismatch >mismatch0.txt 2>&1 &
first=$!
"$tyq" -q --threads 1 train "${half[@]}" --epochs 1 --seed 7 --world-size 2 --rank 1 --master 127.0.0.1:$port \
    --dist-timeout 20 --out mismatch >mismatch1.txt 2>&1
wait $first
grep -q "rank 1 runs a different job from rank 0: its option seed is '7', rank 0's is '1'" mismatch0.txt mismatch1.txt &&
    pass "a rank with other options is refused, naming it and the option" ||
    fail "mismatch: $(cat mismatch0.txt mismatch1.txt | tail -4)"

# A port already taken.
port=$(("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') 2>/dev/null)
"$python" -c 'import socket, sys, time; s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(); time.sleep(30)' \
    $port &
holder=$!
sleep 1
"$tyq" -q --threads 1 train "${half[@]}" --epochs 1 --world-size 2 --rank 0 --master 127.0.0.1:$port --dist-timeout 10 \
    --out taken >taken.txt 2>&1
kill $holder 2>/dev/null
grep -q "127.0.0.1:$port: the port is already in use" taken.txt && pass "a port in use is reported by address" ||
    fail "port in use: $(tail -3 taken.txt)"

# A rank that dies mid-run: the job ends within the timeout, naming it; the last checkpoint resumes.
start=$(date +%s)
"$tyq" -q --threads 1 train --data data/dac.data --batch-size 4 --width 128 --height 64 --epochs 400 --eval-interval 100 --nproc 2 \
    --dist-timeout 20 --out killed >killed.txt 2>&1 &
job=$!
for _ in $(seq 1 300); do [[ -f killed/checkpoints/last.ckpt ]] && break; sleep 0.1; done
victim=$(pgrep -f -- "--rank 1 .*--out killed|--out killed.*--rank 1" | head -1)
[[ -n $victim ]] && kill -9 "$victim"
wait $job
status=$?
elapsed=$(($(date +%s) - start))
if [[ $status -ne 0 ]] && grep -q "rank 1 ended with signal 9" killed.txt && ((elapsed < 60)); then
    pass "a killed rank ends the job in ${elapsed} s, naming it"
else
    fail "killed rank: status $status after ${elapsed} s: $(tail -4 killed.txt)"
fi
"$tyq" -q --threads 1 train --resume killed --epochs $(($(grep -o '"epochs_done": [0-9]*' killed/run.json | grep -o '[0-9]*$') + 1)) \
    >killed_resume.txt 2>&1 && pass "its last checkpoint resumes" || fail "resume after the kill: $(tail -3 killed_resume.txt)"

if [[ $failures -gt 0 ]]; then
    echo "$failures check(s) failed"
    exit 1
fi
echo "all checks passed"
