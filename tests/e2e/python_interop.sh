#!/usr/bin/env bash
# tyq's exports in Python: `tyq export --format pth` of the reference checkpoints must load with
# torch.load + load_state_dict(strict=True) into a plain PyTorch module tree named like the
# reference's, and hold exactly the reference's tensors.
# Usage: python_interop.sh TYQ REFERENCE_DIR SOURCE_DIR   (exit 77 = skipped)
set -euo pipefail

tyq=$1
reference=${TYQ_REFERENCE_DIR:-$2}
source_dir=$3
# Debian's interpreter has torch and numpy; the first python3 on PATH may be another one.
python=/usr/bin/python3

skip() {
    echo "SKIP: $*"
    exit 77
}

[[ -x $python ]] && "$python" -c 'import torch' 2>/dev/null ||
    skip "$python cannot import torch (apt-get install python3-torch)"
[[ -f $reference/seed/fp_ckpt_94.pth && -f $reference/seed/lsq_ckpt_92.pth ]] ||
    skip "reference checkpoints not found in $reference/seed (set TYQ_REFERENCE_DIR)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$tyq" -q export --format pth --weights "$reference/seed/fp_ckpt_94.pth" --out "$work/fp.pth"
"$tyq" -q export --format pth --quant "$source_dir/config/lsq-3bit.yaml" \
    --weights "$reference/seed/lsq_ckpt_92.pth" --out "$work/lsq.pth"

"$python" - "$work/fp.pth" "$reference/seed/fp_ckpt_94.pth" "$work/lsq.pth" "$reference/seed/lsq_ckpt_92.pth" <<'EOF'
import sys

import torch
import torch.nn as nn

fp_export, fp_reference, lsq_export, lsq_reference = sys.argv[1:5]

# layer index -> (in channels, out channels, kernel, batch norm), as in REFERENCE.md
CONVS = {0: (3, 16, 3, True), 2: (16, 32, 3, True), 4: (32, 64, 3, True), 6: (64, 128, 3, True),
         8: (128, 128, 3, True), 10: (128, 192, 3, True), 13: (192, 256, 1, True),
         18: (256, 128, 1, True), 21: (256, 192, 3, True), 22: (192, 51, 1, False)}


class LsqQuan(nn.Module):
    def __init__(self, shape):
        super().__init__()
        self.s = nn.Parameter(torch.ones(shape))


class QuanConv2d(nn.Conv2d):
    """The reference's quantized conv: weight, bias, then quan_w_fn.s [] and quan_a_fn.s [1]."""

    def __init__(self, cin, cout, k, bias):
        super().__init__(cin, cout, k, padding=(k - 1) // 2, bias=bias)
        self.quan_w_fn = LsqQuan([])
        self.quan_a_fn = LsqQuan([1])


class Net(nn.Module):
    def __init__(self, quantized):
        super().__init__()
        self.module_list = nn.ModuleList()
        for i in range(24):
            block = nn.Module()
            if i in CONVS:
                cin, cout, k, bn = CONVS[i]
                conv = QuanConv2d(cin, cout, k, not bn) if quantized else \
                    nn.Conv2d(cin, cout, k, padding=(k - 1) // 2, bias=not bn)
                block.add_module(f"conv_{i}", conv)
                if bn:
                    block.add_module(f"batch_norm_{i}", nn.BatchNorm2d(cout, eps=1e-5, momentum=0.9))
            self.module_list.append(block)


def check(export_path, reference_path, quantized):
    exported = torch.load(export_path)
    reference = torch.load(reference_path, map_location="cpu")
    net = Net(quantized)
    net.load_state_dict(exported, strict=True)  # raises on any missing or unexpected name
    assert list(exported.keys()) == list(reference.keys()), "names or order differ"
    for name, ref in reference.items():
        got = exported[name]
        assert got.dtype == ref.dtype, f"{name}: dtype {got.dtype} vs {ref.dtype}"
        assert got.shape == ref.shape, f"{name}: shape {tuple(got.shape)} vs {tuple(ref.shape)}"
        assert torch.equal(got, ref), f"{name}: values differ"
    # The module really holds the values now.
    for name, tensor in net.state_dict().items():
        assert torch.equal(tensor, reference[name]), f"{name}: not loaded"
    return exported


fp = check(fp_export, fp_reference, quantized=False)
assert not any(".quan_" in k for k in fp), "full-precision export has step sizes"
print(f"fp export: {len(fp)} tensors load strictly and equal the reference")

lsq = check(lsq_export, lsq_reference, quantized=True)
steps = {k: v for k, v in lsq.items() if ".quan_" in k}
assert len(steps) == 20, f"{len(steps)} step sizes, expected 20"
for i in CONVS:
    w = lsq[f"module_list.{i}.conv_{i}.quan_w_fn.s"]
    a = lsq[f"module_list.{i}.conv_{i}.quan_a_fn.s"]
    assert w.shape == torch.Size([]), f"layer {i}: quan_w_fn.s shape {tuple(w.shape)}"
    assert a.shape == torch.Size([1]), f"layer {i}: quan_a_fn.s shape {tuple(a.shape)}"
    assert float(w) > 0 and float(a) > 0
assert abs(float(lsq["module_list.0.conv_0.quan_a_fn.s"]) - 0.1260) < 1e-6
assert abs(float(lsq["module_list.0.conv_0.quan_w_fn.s"]) - 0.0897488) < 1e-6
print(f"lsq export: {len(lsq)} tensors load strictly, {len(steps)} step sizes equal the reference")
EOF
