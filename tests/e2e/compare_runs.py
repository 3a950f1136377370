"""Checks that two tyq runs are the same job up to float rounding: one process with batch 2b
(REFERENCE) against two with batch b each (CANDIDATE, --sync-bn). Compared: the loss of every
batch and every LSQ step size (batches.csv), and the weights, step sizes and batch-norm
statistics of checkpoints/last.ckpt (relative L2). The candidate's first batch loss (same weights,
same images, the same single-threaded reductions) must agree to 1e-5 always.

Without CONTROLs (runs of one optimizer step): weights within 1e-3, losses and step sizes 1e-4.
Adam's first step is lr * sign(gradient) wherever the gradient is not tiny, so it hides a wrong
gradient scale; --gradients BOUND also compares the averaged gradients themselves (Adam's first
moment after one step, (1 - beta1) times the gradient), each parameter's to BOUND (relative), or
to the bound of --gradients-of PREFIX BOUND for parameters whose names start with PREFIX.

With CONTROLs, the reference job rerun with other float rounding (other thread counts, other
oneDNN kernels), over several steps: the candidate must drift no further than the controls do
(3 times the largest, or 5e-3). Runs do drift apart by more than machine epsilon: Adam turns
rounding in near-zero gradients into steps of +-lr, and with LSQ one ulp of a step size moves the
weights on a code boundary to the next code. Two causes of drift are gone. Convolutions of codes
by codes gave values on a lattice, one ulp apart where the code sums tie, and rounding that
changed with the batch split decided which input of a 2x2 max-pool got the gradient: one step of
2 x 4 parted the gradients of layers 0 to 6 from 1 x 8's by 2 to 5 %; they are computed from the
codes now, exactly (model/code_convolution.h). And the weight step sizes' initial means summed
in float, their last bit set by the thread count; in double now. Four LSQ steps of 2 x 4 then
followed 1 x 8 within 7e-5 (trained parameters) in four seeds of five, where they had parted by
2.5e-2 to 3.1e-2 in every seed, half of what training moved them; the fifth parted by 1.1e-2, as
the 2-thread run did. A control must perturb the same operations as the candidate to be a
yardstick: the 2-thread run changes little rounding, oneDNN's SSE4.1 kernels change the
convolutions' (those of conv 0, which reads the image, not codes). The controls' first batch is
not held to 1e-5.
Usage: compare_runs.py REFERENCE CANDIDATE [CONTROL ...] [--gradients BOUND [--gradients-of PREFIX BOUND ...]]"""
import argparse
import csv

import torch

parser = argparse.ArgumentParser()
parser.add_argument("reference")
parser.add_argument("candidate")
parser.add_argument("controls", nargs="*")
parser.add_argument("--gradients", type=float, help="bound on each averaged gradient's relative difference (one step)")
parser.add_argument("--gradients-of", nargs=2, action="append", default=[], metavar=("PREFIX", "BOUND"),
                    help="another bound for the gradients of parameters named PREFIX...")
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
        assert ma["optimizer"].keys() == mb["optimizer"].keys(), "the runs' optimizers hold state for other parameters"
        found["gradients"] = gradient_excess(ma["optimizer"], mb["optimizer"])
    return found, len(ra), len(steps)


def gradient_excess(a, b):
    """The largest ratio, over the parameters, of a gradient's relative difference to its bound.
    Each gradient is held on its own, so that a step size's (small beside the weights') counts;
    relative to its norm, or to 1e-3 of the largest gradient's when smaller (a batch norm bias
    whose gradient cancels to 1e-8 has no relative precision)."""
    keys = [k for k in a if k.endswith(".exp_avg")]
    norms = {k: float(a[k].double().norm()) for k in keys}
    floor = 1e-3 * max(norms.values())
    worst, name = 0.0, ""
    for k in keys:
        bound = next((float(b_) for prefix, b_ in args.gradients_of if k.startswith(prefix)), args.gradients)
        excess = float((a[k].double() - b[k].double()).norm()) / max(norms[k], floor) / bound
        if excess > worst:
            worst, name = excess, k[: -len(".exp_avg")]
    print(f"  gradients: the largest difference is {worst:.2f} of its bound ({name})")
    return worst


got, batches, steps = differences(args.reference, args.candidate)
if args.controls:
    drifts = [differences(args.reference, c, same_first_batch=False)[0] for c in args.controls]
    yardstick = {what: max(d[what] for d in drifts) for what in got}
    bound = {what: max(5e-3, 3 * yardstick[what]) for what in got}
else:
    yardstick = None
    bound = {"loss": 1e-4, "step sizes": 1e-4, "weights": 1e-3, "gradients": 1.0}
problems = [f"{what}: {got[what]:.2e} (bound {bound[what]:.1e})" for what in got if got[what] > bound[what]]
assert not problems, "; ".join(problems)
print(f"  {batches} batches{f', {steps} step sizes' if steps else ''}: "
      + ", ".join((f"gradients at {got[what]:.2f} of their bounds" if what == "gradients" else f"{what} within {got[what]:.1e}")
                  + (f" (rounding alone {yardstick[what]:.1e})" if yardstick else "") for what in got))
