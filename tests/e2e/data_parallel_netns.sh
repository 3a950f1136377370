#!/usr/bin/env bash
# Data parallelism across two "hosts": ranks 0 and 1 in two network namespaces joined by a veth
# pair (distinct addresses, a real TCP path, each rank with its own run folder as on separate
# machines). The job must equal one process with the global batch; then the link is cut
# mid-run, and both ranks must end within the timeout with a message, leaving rank 0's last
# checkpoint whole and resumable. Needs root (ip netns); skips with a message otherwise.
# Usage: data_parallel_netns.sh TYQ
set -uo pipefail
source "$(dirname "$0")/e2e_lib.sh"
tyq=$1
here=$(cd "$(dirname "$0")" && pwd)
cd "$work" || exit 1

a=tyqa$$
b=tyqb$$
if ! ip netns add "$a" 2>netns.err; then
    echo "SKIP: network namespaces are not permitted here ($(cat netns.err)); the two-host test needs root and iproute2"
    exit 77
fi
cleanup() {
    ip netns del "$a" 2>/dev/null
    ip netns del "$b" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$b" && ip link add "va$$" type veth peer name "vb$$" &&
    ip link set "va$$" netns "$a" && ip link set "vb$$" netns "$b" &&
    ip -n "$a" addr add 10.213.7.1/24 dev "va$$" && ip -n "$b" addr add 10.213.7.2/24 dev "vb$$" &&
    ip -n "$a" link set "va$$" up && ip -n "$b" link set "vb$$" up &&
    ip -n "$a" link set lo up && ip -n "$b" link set lo up || { echo "FAIL: could not build the veth link"; exit 1; }

"$tyq" -q gen-data --out data --train 8 --val 4 --width 160 --height 96 --seed 3 >/dev/null || { echo "FAIL: gen-data"; exit 1; }
one=(--data data/dac.data --accumulate 1 --width 128 --height 64 --no-flip --sync-bn)
master=10.213.7.1:29533

# --- one step over the link equals one process with the global batch ------------------------------
"$tyq" -q --threads 1 train "${one[@]}" --epochs 1 --batch-size 8 --out single >single.txt 2>&1 || fail "1 process: $(tail -3 single.txt)"
ip netns exec "$a" "$tyq" -q --threads 1 train "${one[@]}" --epochs 1 --batch-size 4 --world-size 2 --rank 0 \
    --master $master --dist-timeout 30 --out host_a/run >rank0.txt 2>&1 &
first=$!
ip netns exec "$b" "$tyq" -q --threads 1 train "${one[@]}" --epochs 1 --batch-size 4 --world-size 2 --rank 1 \
    --master $master --dist-timeout 30 --out host_b/run >rank1.txt 2>&1 || fail "rank 1: $(tail -3 rank1.txt)"
wait $first || fail "rank 0: $(tail -3 rank0.txt)"
"$python" "$here/compare_runs.py" single host_a/run --gradients 1e-4 --gradients-of module_list.0. 5e-2 && pass "2 ranks on 2 hosts equal 1 process with the global batch, gradients included" ||
    fail "the two-host job differs from one process"
[[ $(ls host_b/run) == train.rank1.log ]] && pass "the host of rank 1 holds only its log" ||
    fail "rank 1's host holds: $(ls host_b/run)"

# --- cut the link mid-run -----------------------------------------------------------------------------
timeout=10
ip netns exec "$a" "$tyq" -q --threads 1 train "${one[@]}" --epochs 1000 --eval-interval 1000 --batch-size 4 --world-size 2 \
    --rank 0 --master $master --dist-timeout $timeout --out host_a/cut >cut0.txt 2>&1 &
rank0=$!
ip netns exec "$b" "$tyq" -q --threads 1 train "${one[@]}" --epochs 1000 --eval-interval 1000 --batch-size 4 --world-size 2 \
    --rank 1 --master $master --dist-timeout $timeout --out host_b/cut >cut1.txt 2>&1 &
rank1=$!
for _ in $(seq 1 300); do [[ -f host_a/cut/checkpoints/last.ckpt ]] && break; sleep 0.1; done
sleep 1
ip -n "$a" link set "va$$" down
cut_at=$(date +%s)
wait $rank0
status0=$?
wait $rank1
status1=$?
elapsed=$(($(date +%s) - cut_at))
if [[ $status0 -ne 0 && $status1 -ne 0 ]] && ((elapsed <= 6 * timeout)); then
    pass "both ranks end ${elapsed} s after the cut (timeout ${timeout} s)"
else
    fail "after the cut: rank 0 status $status0, rank 1 status $status1, ${elapsed} s"
fi
echo "  rank 0: $(grep -m1 'rank 0 of 2' cut0.txt)"
echo "  rank 1: $(grep -m1 'rank 1 of 2' cut1.txt)"
grep -q "rank 0 of 2: .* failed" cut0.txt && grep -q "rank 1 of 2: .* failed" cut1.txt &&
    pass "each rank says which it is and which collective failed" ||
    fail "messages: $(tail -2 cut0.txt) / $(tail -2 cut1.txt)"
done=$(grep -o '"epochs_done": [0-9]*' host_a/cut/run.json | grep -o '[0-9]*$')
"$tyq" -q --threads 1 train --resume host_a/cut --epochs $((done + 1)) >resume.txt 2>&1 &&
    pass "rank 0's last checkpoint (epoch $done) resumes in one process" || fail "resume after the cut: $(tail -3 resume.txt)"

if [[ $failures -gt 0 ]]; then
    echo "$failures check(s) failed"
    exit 1
fi
echo "all checks passed"
