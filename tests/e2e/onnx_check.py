"""Checks of tyq's ONNX exports, used by cli_export_onnx.sh (Debian's python3 with python3-onnx).

  check MODEL YAML|-          the ONNX checker (full), metadata, and every quantizer's range
                              against the bit-width YAML: QCDQ Clip bounds, QONNX signed/narrow/bitwidth
  probe MODEL OUT             MODEL with every activation quantizer's input added as a graph output
  qonnx MODEL INPUT OUTDIR    evaluates a QONNX graph with NumPy (the ops tyq exports, Quant as its spec)
  compare TYQ_DUMP OUTDIR MODEL [--fp] [--min-agree F] [--conf C]
                              tyq's detect --dump against a runtime's outputs: detections, entries,
                              and (quantized) where the first codes differ and whether those are ties
"""
import json
import os
import sys

import numpy as np
import onnx
import yaml
from onnx import numpy_helper

QONNX_DOMAIN = "qonnx.custom_op.general"


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def spec_range(spec):
    """tyq's (and the reference's) LSQ range of a quantizer block."""
    bit = spec["bit"]
    if spec.get("all_positive"):
        return 0, 2 ** bit - 1
    if spec.get("symmetric"):
        return -(2 ** (bit - 1) - 1), 2 ** (bit - 1) - 1
    return -(2 ** (bit - 1)), 2 ** (bit - 1) - 1


def quantizer_specs(bit_yaml):
    """Quantizer name (module_list.<i>.conv_<i>.quan_a_fn / quan_w_fn) -> its YAML block."""
    cfg = yaml.safe_load(bit_yaml)
    excepts = cfg.get("excepts") or {}

    def lookup(module, kind):
        block = dict(cfg["quan_default"][kind])
        block.update((excepts.get(module) or {}).get(kind, {}))
        return block

    return lookup


def check(model_path, yaml_path):
    onnx.checker.check_model(model_path, full_check=True)
    m = onnx.load(model_path)
    meta = {p.key: p.value for p in m.metadata_props}
    for key in ("tyq_version", "cfg", "bit_widths", "class_names", "anchors"):
        if key not in meta:
            fail(f"{model_path}: metadata has no {key}")
    names = json.loads(meta["class_names"])
    anchors = json.loads(meta["anchors"])
    if len(names) != 12 or not anchors or len(anchors[0]["anchors"]) != 3:
        fail(f"{model_path}: metadata class names {names} / anchors {anchors}")
    if "[yolo]" not in meta["cfg"]:
        fail(f"{model_path}: metadata cfg is not the network's cfg")
    init = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    nodes = list(m.graph.node)
    checked = 0
    if yaml_path != "-":
        with open(yaml_path) as f:
            text = f.read()
        if yaml.safe_load(meta["bit_widths"]) != yaml.safe_load(text):
            fail(f"{model_path}: metadata bit_widths differ from {yaml_path}")
        lookup = quantizer_specs(text)
        for n in nodes:
            if n.op_type not in ("Clip", "Quant"):
                continue
            quantizer = n.name.rsplit(".", 1)[0] if n.op_type == "Clip" else n.name
            module, kind = quantizer.rsplit(".", 1)
            spec = lookup(module, "act" if kind == "quan_a_fn" else "weight")
            lo, hi = spec_range(spec)
            if n.op_type == "Clip":
                got = (int(init[n.input[1]]), int(init[n.input[2]]))
            else:  # QONNX Quant: min_int / max_int as its spec derives them
                if n.domain != QONNX_DOMAIN:
                    fail(f"{n.name}: domain {n.domain}")
                attrs = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
                if set(attrs) != {"signed", "narrow", "rounding_mode"} or attrs["rounding_mode"] != b"ROUND":
                    fail(f"{n.name}: attributes {attrs}")
                bits = float(init[n.input[3]])
                if float(init[n.input[2]]) != 0.0:
                    fail(f"{n.name}: zero point {init[n.input[2]]}")
                if attrs["signed"]:
                    got = (-(2 ** (bits - 1)) + attrs["narrow"], 2 ** (bits - 1) - 1)
                else:
                    got = (0, 2 ** bits - 1 - attrs["narrow"])
                if bits != spec["bit"]:
                    fail(f"{n.name}: bitwidth {bits}, YAML {spec['bit']}")
            if got != (lo, hi):
                fail(f"{n.name}: range {got}, the YAML's {module} {kind} gives [{lo}, {hi}]")
            checked += 1
    ops = sorted({n.op_type for n in nodes})
    print(f"{os.path.basename(model_path)}: checker ok, opset {[(o.domain or 'ai.onnx', o.version) for o in m.opset_import]}, "
          f"{len(nodes)} nodes, {checked} quantizer ranges match the YAML; ops {ops}")


def activation_quantizers(m):
    """(quantizer name, the tensor it quantizes) for every activation quantizer, in graph order."""
    found = []
    for n in m.graph.node:
        if ".quan_a_fn" in n.name and n.op_type in ("QuantizeLinear", "Div", "Quant"):
            found.append((n.name.split(".quan_a_fn")[0] + ".quan_a_fn", n.input[0]))
    return found


def probe(model_path, out_path):
    m = onnx.load(model_path)
    for _, tensor in activation_quantizers(m):
        m.graph.output.append(onnx.helper.make_tensor_value_info(tensor, onnx.TensorProto.FLOAT, None))
    onnx.save(m, out_path)


# --- a NumPy evaluator of the ops tyq exports ------------------------------------------------------

def conv2d(x, w, b, strides, pads):
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    oh = (h + pads[0] + pads[2] - kh) // strides[0] + 1
    ow = (wd + pads[1] + pads[3] - kw) // strides[1] + 1
    cols = np.empty((n, c, kh, kw, oh, ow), dtype=np.float32)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = xp[:, :, i:i + strides[0] * oh:strides[0], j:j + strides[1] * ow:strides[1]]
    y = np.einsum("ock,nkp->nop", w.reshape(o, 1, -1), cols.reshape(n, c * kh * kw, oh * ow), optimize=True)
    y = y.reshape(n, o, oh, ow)
    if b is not None:
        y = y + b.reshape(1, -1, 1, 1)
    return y.astype(np.float32)


def max_pool(x, k, s, pads):
    xp = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])), constant_values=-np.inf)
    oh = (xp.shape[2] - k[0]) // s[0] + 1
    ow = (xp.shape[3] - k[1]) // s[1] + 1
    y = np.full(x.shape[:2] + (oh, ow), -np.inf, dtype=np.float32)
    for i in range(k[0]):
        for j in range(k[1]):
            y = np.maximum(y, xp[:, :, i:i + s[0] * oh:s[0], j:j + s[1] * ow:s[1]])
    return y


def qonnx_quant(x, scale, zeropt, bitwidth, signed, narrow, rounding_mode):
    """QONNX Quant: Y = (round(clamp(X / s + z, min_int, max_int)) - z) * s."""
    if rounding_mode != "ROUND":
        fail(f"rounding_mode {rounding_mode}")
    if signed:
        lo, hi = -(2.0 ** (bitwidth - 1)) + narrow, 2.0 ** (bitwidth - 1) - 1
    else:
        lo, hi = 0.0, 2.0 ** bitwidth - 1 - narrow
    return ((np.round(np.clip(x / scale + zeropt, lo, hi)) - zeropt) * scale).astype(np.float32)


def evaluate(model_path, batch, extra=()):
    m = onnx.load(model_path)
    env = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    env[m.graph.input[0].name] = batch
    for n in m.graph.node:
        a = {x.name: onnx.helper.get_attribute_value(x) for x in n.attribute}
        i = [env[name] if name else None for name in n.input]
        op = n.op_type
        if op == "Quant":
            y = qonnx_quant(i[0], i[1], float(i[2]), float(i[3]), a["signed"], a["narrow"], a["rounding_mode"].decode())
        elif op == "Conv":
            y = conv2d(i[0], i[1], i[2] if len(i) > 2 else None, a["strides"], a["pads"])
        elif op == "BatchNormalization":
            inv = (i[1] / np.sqrt(i[4] + np.float32(a["epsilon"]))).astype(np.float32)
            y = ((i[0] - i[3].reshape(1, -1, 1, 1)) * inv.reshape(1, -1, 1, 1) + i[2].reshape(1, -1, 1, 1)).astype(np.float32)
        elif op == "LeakyRelu":
            y = np.where(i[0] >= 0, i[0], i[0] * np.float32(a["alpha"]))
        elif op == "Relu":
            y = np.maximum(i[0], 0)
        elif op == "MaxPool":
            y = max_pool(i[0], a["kernel_shape"], a["strides"], a["pads"])
        elif op == "Concat":
            y = np.concatenate(i, axis=a["axis"])
        elif op == "Resize":
            if a.get("mode") != b"nearest" or a.get("nearest_mode") != b"floor":
                fail(f"Resize {a}")
            f = i[2].astype(int)
            y = i[0].repeat(f[2], axis=2).repeat(f[3], axis=3)
        elif op == "Reshape":
            y = i[0].reshape([i[0].shape[k] if d == 0 else d for k, d in enumerate(i[1])])
        elif op == "Transpose":
            y = i[0].transpose(a["perm"])
        elif op == "Split":
            y = np.split(i[0], np.cumsum(i[1])[:-1], axis=a["axis"])
        elif op == "Sigmoid":
            with np.errstate(over="ignore"):  # exp(-x) overflows to inf for x << 0: sigmoid 0, as wanted
                y = (1 / (1 + np.exp(-i[0]))).astype(np.float32)
        elif op == "Exp":
            y = np.exp(i[0])
        elif op == "Add":
            y = i[0] + i[1]
        elif op == "Mul":
            y = i[0] * i[1]
        elif op == "Identity":
            y = i[0]
        else:
            fail(f"the NumPy evaluator has no {op} (node {n.name})")
        outs = y if isinstance(y, list) else [y]
        for name, v in zip(n.output, outs):
            env[name] = v.astype(np.float32)
    names = [o.name for o in m.graph.output] + list(extra)
    return {name: env[name] for name in names}


def qonnx(model_path, input_path, out_dir):
    m = onnx.load(model_path)
    extra = [t for _, t in activation_quantizers(m)]
    os.makedirs(out_dir, exist_ok=True)
    for name, v in evaluate(model_path, np.load(input_path), extra).items():
        np.save(os.path.join(out_dir, name + ".npy"), v)


# --- comparison -----------------------------------------------------------------------------------

def nms(rows, conf=0.5, nms_threshold=0.1):
    """tyq's (the reference's) NMS: per class, best score first, boxes with IoU > threshold merged
    into an objectness-weighted mean box."""
    keep = rows[rows[:, 4] >= conf]
    dets = []
    if len(keep) == 0:
        return dets
    cls = keep[:, 5:].argmax(1)
    score = keep[:, 4] * keep[:, 5:].max(1)
    boxes = np.stack([keep[:, 0] - keep[:, 2] / 2, keep[:, 1] - keep[:, 3] / 2,
                      keep[:, 0] + keep[:, 2] / 2, keep[:, 1] + keep[:, 3] / 2], 1)
    for c in np.unique(cls):
        idx = [k for k in np.argsort(-score, kind="stable") if cls[k] == c]
        while idx:
            b = boxes[idx[0]]
            ix = np.clip(np.minimum(b[2], boxes[idx, 2]) - np.maximum(b[0], boxes[idx, 0]) + 1, 0, None)
            iy = np.clip(np.minimum(b[3], boxes[idx, 3]) - np.maximum(b[1], boxes[idx, 1]) + 1, 0, None)
            inter = ix * iy
            area = lambda q: (q[..., 2] - q[..., 0] + 1) * (q[..., 3] - q[..., 1] + 1)
            iou = inter / (area(b) + area(boxes[idx]) - inter + 1e-16)
            merge = [k for k, v in zip(idx, iou) if v > nms_threshold or k == idx[0]]
            w = keep[merge, 4]
            dets.append((int(c), float(score[idx[0]]), (boxes[merge] * w[:, None]).sum(0) / w.sum()))
            idx = [k for k in idx if k not in merge]
    return sorted(dets, key=lambda d: -d[1])


def same_detections(a, b):
    return len(a) == len(b) and all(x[0] == y[0] and abs(x[1] - y[1]) < 1e-3 and np.abs(x[2] - y[2]).max() < 0.5
                                    for x, y in zip(a, b))


def compare(dump_dir, out_dir, model_path, fp, min_agree, conf):
    images = sorted(d for d in os.listdir(dump_dir) if os.path.isfile(os.path.join(dump_dir, d, "output.npy")))
    ours = np.load(os.path.join(out_dir, "detections.npy"))
    if ours.shape[0] != len(images):
        fail(f"runtime batch {ours.shape[0]} against {len(images)} dumped images")
    m = onnx.load(model_path)
    init = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    quantizers = activation_quantizers(m)
    if not fp:
        lookup = quantizer_specs({p.key: p.value for p in m.metadata_props}["bit_widths"])
    total = close = 0
    for k, image in enumerate(images):
        tyq = np.load(os.path.join(dump_dir, image, "output.npy"))
        got = ours[k]
        if got.shape != tyq.shape:
            fail(f"{image}: shape {got.shape}, tyq {tyq.shape}")
        diff = np.abs(got - tyq)
        values = tyq
        # Raw head maps, when exported: the yolo layer's input, tyq's layer before it.
        for f in sorted(os.listdir(out_dir)):
            if f.startswith("head_"):
                head = np.load(os.path.join(out_dir, f))[k]
                raw = np.load(os.path.join(dump_dir, image, f"layer_{int(f[5:-4]) - 1}.npy"))
                diff = np.concatenate([diff.ravel(), np.abs(head - raw).ravel()])
                values = np.concatenate([values.ravel(), raw.ravel()])
        if fp:  # boxes are input pixels (up to ~500), scores 0..1: relative to max(1, |value|)
            worst = (diff / np.maximum(1, np.abs(values))).max()
            if worst > 1e-4:
                fail(f"{image}: an output differs from tyq's by {worst:.2e} (relative), more than 1e-4")
            print(f"{image}: fp outputs within {worst:.1e} of tyq's (relative to max(1, |x|))")
            continue
        d_tyq, d_ours = nms(tyq, conf), nms(got, conf)
        if not same_detections(d_tyq, d_ours):
            fail(f"{image}: detections differ: tyq {d_tyq} runtime {d_ours}")
        agree = (diff <= 1e-3).mean()
        total += diff.size
        close += (diff <= 1e-3).sum()
        # Where do the codes first differ, and are those near-ties (x / s within 1e-4 of k + 1/2,
        # where two correct float computations may round either way)?
        first = None
        for name, tensor in quantizers:
            layer = int(name.split(".")[1])
            lo, hi = spec_range(lookup(f"module_list.{layer}.conv_{layer}", "act"))
            x_tyq = np.load(os.path.join(dump_dir, image, f"layer_{layer - 1}.npy"))
            x_rt = np.load(os.path.join(out_dir, tensor + ".npy"))[k]
            s = init[name + ".s"]
            r_tyq, r_rt = x_tyq / s, x_rt / s
            flips = np.clip(np.round(r_tyq), lo, hi) != np.clip(np.round(r_rt), lo, hi)
            if flips.any():
                # Every code before this quantizer agreed, so its inputs differ only by the two
                # runtimes' float rounding (conv summation order); a code flips only where such
                # values straddle k + 1/2, i.e. at a near-tie.
                distance = np.abs(r_tyq[flips] - np.floor(r_tyq[flips]) - 0.5)
                first = (name, int(flips.sum()), x_tyq.size, float(distance.max()))
                dx, scale = float(np.abs(x_tyq - x_rt).max()), float(np.abs(x_tyq).max())
                if dx > 1e-5 * scale:
                    fail(f"{image}: {name}: codes differ and its inputs differ by {dx:.2e} (largest input {scale:.2e}): "
                         f"more than float rounding")
                break
        where = (f"first codes differ at {first[0]}: {first[1]} of {first[2]}, near-ties (|x/s - (k + 1/2)| <= {first[3]:.1e})"
                 if first else "every activation code identical")
        print(f"{image}: detections identical ({len(d_tyq)}), {100 * agree:.2f} % of entries within 1e-3; {where}")
    if not fp:
        share = close / total
        print(f"all images: {100 * share:.3f} % of {total} entries within 1e-3")
        if share < min_agree:
            fail(f"only {100 * share:.3f} % of entries within 1e-3 (at least {100 * min_agree:.1f} % expected)")


def main(argv):
    cmd = argv[1]
    if cmd == "check":
        check(argv[2], argv[3])
    elif cmd == "probe":
        probe(argv[2], argv[3])
    elif cmd == "qonnx":
        qonnx(argv[2], argv[3], argv[4])
    elif cmd == "compare":
        min_agree = float(argv[argv.index("--min-agree") + 1]) if "--min-agree" in argv else 0.0
        conf = float(argv[argv.index("--conf") + 1]) if "--conf" in argv else 0.5
        compare(argv[2], argv[3], argv[4], "--fp" in argv, min_agree, conf)
    else:
        fail(f"unknown command {cmd}")


if __name__ == "__main__":
    main(sys.argv)
