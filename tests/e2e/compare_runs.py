"""Checks that two tyq runs are the same job up to float rounding: one process with batch 2b
(REFERENCE) against two with batch b each (CANDIDATE, --sync-bn). Compared: the loss of every
batch and every LSQ step size (batches.csv), and the weights, step sizes and batch-norm
statistics of checkpoints/last.ckpt (relative L2). The candidate's first batch loss (same weights,
same images, the same single-threaded reductions) must agree to 1e-5 always.

Without CONTROLs (runs of one optimizer step): weights within 1e-3, losses and step sizes 1e-4.
Adam's first step is lr * sign(gradient) wherever the gradient is not tiny, so it hides a wrong
gradient scale; --gradients BOUND also compares the averaged gradients themselves (Adam's first
moment after one step, (1 - beta1) times the gradient) to BOUND.

With CONTROLs, the reference job rerun with other float rounding (other thread counts, other
oneDNN kernels), over several steps: the candidate must drift no further than the controls do
(3 times the largest, or 5e-3). Runs do drift apart by more than machine epsilon. Adam turns
rounding in near-zero gradients into steps of +-lr. With LSQ, convolutions of codes by codes give
values on a lattice, so 2x2 max-pool windows hold near-ties (values one ulp apart) that rounding
decides, and the gradient goes to the other input. With only conv 6 quantized, 16 of its 65536
output gradients (4 images) moved so between 1 x 8 and 2 x 4, and every layer below had
gradients 0.5 % apart; with the 3-bit model, layers 0 to 6 had them 2 to 5 % apart after one
step, and over four steps the weights parted by about half of how far they moved. A control
must perturb the same operations as the candidate to be a yardstick. The same job on 2 threads
changes little rounding: over five seeds its weights parted from the reference's by 7e-5 to
3e-2, the candidate's by 2.5e-2 to 3.1e-2 every time. With oneDNN's SSE4.1 kernels, the
convolutions round differently, and the candidate drifted 0.3 to 2.2 times as far as that
control (trained parameters: 0.87 to 0.90). The controls' first batch is not held to 1e-5.
Usage: compare_runs.py REFERENCE CANDIDATE [CONTROL ...] [--gradients BOUND]"""
import argparse
import csv

import torch

parser = argparse.ArgumentParser()
parser.add_argument("reference")
parser.add_argument("candidate")
parser.add_argument("controls", nargs="*")
parser.add_argument("--gradients", type=float, help="bound on the averaged gradients' relative difference (one step)")
args = parser.parse_args()


def rows(run):
    with open(f"{run}/batches.csv") as f:
        return list(csv.DictReader(f))


def relative(a, b, keys):
    diff = total = 0.0
    for k in keys:
        x = a[k].double()
        diff += float((x - b[k].double()).pow(2).sum())
        total += float(x.pow(2).sum())
    return (diff / total) ** 0.5


def differences(a_dir, b_dir, same_first_batch=True):
    ra, rb = rows(a_dir), rows(b_dir)
    assert len(ra) == len(rb) > 0, f"{b_dir}: {len(rb)} batches against {len(ra)}"
    steps = [k for k in ra[0] if k.startswith("s:")]
    first = abs(float(ra[0]["loss"]) - float(rb[0]["loss"])) / abs(float(ra[0]["loss"]))
    assert first <= 1e-5 or not same_first_batch, f"{b_dir}: the first batch's loss differs by {first:.1e}: {ra[0]['loss']} against {rb[0]['loss']}"
    loss = step = 0.0
    for x, y in zip(ra, rb):
        assert x["images"] == y["images"], (b_dir, x["batch"], x["images"], y["images"])
        loss = max(loss, abs(float(x["loss"]) - float(y["loss"])) / abs(float(x["loss"])))
        for key in steps:
            step = max(step, abs(float(x[key]) - float(y[key])) / abs(float(x[key])))
    ma = torch.load(f"{a_dir}/checkpoints/last.ckpt")
    mb = torch.load(f"{b_dir}/checkpoints/last.ckpt")
    assert ma["global_batch"] == mb["global_batch"], (ma["global_batch"], mb["global_batch"])
    assert ma["model"].keys() == mb["model"].keys()
    found = {"loss": loss, "step sizes": step,
             "weights": relative(ma["model"], mb["model"], [k for k, x in ma["model"].items() if x.dtype.is_floating_point])}
    if args.gradients is not None:
        assert ma["optimizer"].keys() == mb["optimizer"].keys()
        found["gradients"] = relative(ma["optimizer"], mb["optimizer"], [k for k in ma["optimizer"] if k.endswith(".exp_avg")])
    return found, len(ra), len(steps)


got, batches, steps = differences(args.reference, args.candidate)
if args.controls:
    drifts = [differences(args.reference, c, same_first_batch=False)[0] for c in args.controls]
    yardstick = {what: max(d[what] for d in drifts) for what in got}
    bound = {what: max(5e-3, 3 * yardstick[what]) for what in got}
else:
    yardstick = None
    bound = {"loss": 1e-4, "step sizes": 1e-4, "weights": 1e-3, "gradients": args.gradients}
problems = [f"{what}: {got[what]:.2e} (bound {bound[what]:.1e})" for what in got if got[what] > bound[what]]
assert not problems, "; ".join(problems)
print(f"  {batches} batches{f', {steps} step sizes' if steps else ''}: "
      + ", ".join(f"{what} within {got[what]:.1e}" + (f" (rounding alone {yardstick[what]:.1e})" if yardstick else "")
                  for what in got))
