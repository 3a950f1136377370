#!/usr/bin/env bash
# Data-parallel scaling on this machine (loopback): the same fp training job, the same global
# batch, on 1, 2 and 4 processes (tyq train --nproc P, batch G/P each, the cores shared out as
# --threads), measured in one script run. Reports images/s (timed batches: all but the first),
# and per optimizer step the allreduce payload each rank sends and the time inside allreduce
# (waits for the slower rank included), from the run's own log.
# Usage: bench/data_parallel_scaling.sh TYQ [GLOBAL_BATCH=16] [BATCHES=6] [WIDTHxHEIGHT=512x288]
set -euo pipefail
tyq=$(realpath "$1")
global=${2:-16}
batches=${3:-6}
size=${4:-512x288}
width=${size%x*}
height=${size#*x}
cores=$(nproc)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
"$tyq" -q gen-data --out data --train $((global * batches)) --val 4 >/dev/null

echo "data-parallel scaling: global batch $global, $batches batches, ${width}x${height}, $cores cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
printf '%-9s %-8s %-8s %10s %12s %14s %14s\n' processes batch threads images/s "vs 1 proc" "MB/step/rank" "allreduce s/step"
base=""
for p in 1 2 4; do
    threads=$((cores / p > 0 ? cores / p : 1))
    launch=()
    ((p > 1)) && launch=(--nproc $p)
    "$tyq" -q --threads $threads train --data data/dac.data --out run$p --epochs 1 --batch-size $((global / p)) \
        --accumulate 1 --width "$width" --height "$height" --eval-interval 1000 "${launch[@]}" >run$p.txt 2>&1 ||
        { echo "run with $p processes failed: $(tail -3 run$p.txt)"; exit 1; }
    read -r ips mb seconds < <(/usr/bin/python3 - run$p "$global" <<'PY'
import csv, re, sys
run, global_batch = sys.argv[1], int(sys.argv[2])
rows = list(csv.DictReader(open(f"{run}/batches.csv")))
timed = [float(r["seconds"]) for r in rows[1:]]
ips = global_batch * len(timed) / sum(timed)
mb = seconds = 0.0
m = re.search(r"allreduce: (\d+) calls, ([\d.]+) MB from this rank, ([\d.]+) s", open(f"{run}/train.log").read())
if m:
    mb, seconds = float(m.group(2)) / len(rows), float(m.group(3)) / len(rows)
print(f"{ips:.2f} {mb:.2f} {seconds:.3f}")
PY
)
    [[ -z $base ]] && base=$ips
    printf '%-9s %-8s %-8s %10s %12s %14s %14s\n' $p $((global / p)) $threads "$ips" \
        "x$(/usr/bin/python3 -c "print(f'{$ips / $base:.2f}')")" "$mb" "$seconds"
done
