"""GraSP in PyTorch on the networks, weights and batches written by bench/grasp-reference.ts.

Each network is rebuilt from its TF.js topology (model.json) and weights, in float64, and GraSP is
computed as NAS-Bench-Suite-Zero computes it: g = dL/dw of the mean cross-entropy over the kernels
of convolutions and dense layers, the Hessian-gradient product H g by differentiating g . dL/dw a
second time, and the score sum(-w * H g). Two references per cell: one pass over the whole batch
(what the suite did), and our splits (each split's mean-loss gradient weighted by its share of the
batch, BatchNorm over the split) so that our central difference can be compared term by term with
the exact product on the same function.

Run (Debian's python3-torch; never needed by pnpm test):
  cd packages/proxies && /usr/bin/python3 bench/grasp_reference.py [--dir DIR] [--json]
"""

import argparse
import glob
import hashlib
import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


def inbound(layer):
    """Names of the layers feeding `layer` (first node only; our models call every layer once)."""
    nodes = layer.get("inbound_nodes") or []
    if not nodes:
        return []
    return [entry[0] for entry in nodes[0]]


class Network:
    """A TF.js functional model evaluated with torch ops, NCHW inside."""

    def __init__(self, cell_dir):
        spec = json.load(open(os.path.join(cell_dir, "model.json")))
        config = spec["config"]
        self.layers = {l["name"]: l for l in config["layers"]}
        self.output = config["output_layers"][0][0]
        meta = json.load(open(os.path.join(cell_dir, "batch.json")))
        flat = np.fromfile(os.path.join(cell_dir, "weights.bin"), dtype=np.float32)
        self.params = {}
        for w in meta["weights"]:
            size = int(np.prod(w["shape"]))
            value = flat[w["offset"] : w["offset"] + size].reshape(w["shape"]).astype(np.float64)
            self.params.setdefault(w["layer"], {})[w["name"].split("/")[-1]] = torch.tensor(value)
        # the differentiated weights: kernels of convolutions and dense layers, in layer order
        self.kernels = []
        for l in config["layers"]:
            if l["class_name"] in ("Conv2D", "Dense"):
                k = self.params[l["name"]]["kernel"]
                k.requires_grad_(True)
                self.kernels.append((l["name"], k))

    def forward(self, x):
        cache = {}

        def run(name):
            if name in cache:
                return cache[name]
            layer = self.layers[name]
            cls, cfg = layer["class_name"], layer["config"]
            xs = [run(n) for n in inbound(layer)]
            p = self.params.get(name, {})
            if cls == "InputLayer":
                y = x
            elif cls == "Conv2D":
                k = p["kernel"].permute(3, 2, 0, 1)  # [kh, kw, in, out] -> [out, in, kh, kw]
                stride = cfg["strides"][0]
                pad = (k.shape[2] - 1) // 2 if cfg["padding"] == "same" else 0
                y = F.conv2d(xs[0], k, p.get("bias"), stride=stride, padding=pad)
            elif cls == "BatchNormalization":
                # training mode: the batch's mean and biased variance
                y = F.batch_norm(xs[0], None, None, p.get("gamma"), p.get("beta"), training=True, eps=cfg["epsilon"])
            elif cls == "ReLU":
                y = F.relu(xs[0])
            elif cls == "Activation" and cfg["activation"] == "linear":
                y = xs[0]
            elif cls == "Add":
                y = xs[0]
                for t in xs[1:]:
                    y = y + t
            elif cls == "AveragePooling2D":
                size, stride = cfg["pool_size"][0], cfg["strides"][0]
                pad = (size - 1) // 2 if cfg["padding"] == "same" else 0
                y = F.avg_pool2d(xs[0], size, stride, pad, count_include_pad=False)
            elif cls == "ZeroPadding2D":
                (top, bottom), (left, right) = cfg["padding"]
                y = F.pad(xs[0], (left, right, top, bottom))
            elif cls == "GlobalAveragePooling2D":
                y = xs[0].mean(dim=(2, 3))
            elif cls == "Dense":
                y = xs[0] @ p["kernel"]
                if "bias" in p:
                    y = y + p["bias"]
            elif cls == "NasZero":
                y = torch.zeros_like(xs[0])
            elif cls == "NasKeepFirst":
                y = xs[0]
            else:
                raise ValueError(f"layer class {cls} is not handled by this reference")
            cache[name] = y
            return y

        return run(self.output)


def grasp_terms(net, x, y, splits):
    """GraSP per kernel: splits' mean-loss gradients weighted by their share, then H g likewise."""
    kernels = [k for _, k in net.kernels]
    n = x.shape[0]
    bounds = np.cumsum([0] + list(splits))
    g = [torch.zeros_like(k) for k in kernels]
    for a, b in zip(bounds[:-1], bounds[1:]):
        loss = F.cross_entropy(net.forward(x[a:b]), y[a:b])
        for acc, d in zip(g, torch.autograd.grad(loss, kernels, allow_unused=True)):
            if d is not None:
                acc.add_(d * ((b - a) / n))
    hg = [torch.zeros_like(k) for k in kernels]
    for a, b in zip(bounds[:-1], bounds[1:]):
        loss = F.cross_entropy(net.forward(x[a:b]), y[a:b])
        first = torch.autograd.grad(loss, kernels, create_graph=True, allow_unused=True)
        z = sum((gi.detach() * fi).sum() for gi, fi in zip(g, first) if fi is not None)
        for acc, d in zip(hg, torch.autograd.grad(z, kernels, allow_unused=True)):
            if d is not None:
                acc.add_(d * ((b - a) / n))
    return [float(-(k.detach() * h).sum()) for k, h in zip(kernels, hg)]


def spearman(a, b):
    ra = np.argsort(np.argsort(a)).astype(float)
    rb = np.argsort(np.argsort(b)).astype(float)
    return float(np.corrcoef(ra, rb)[0, 1])


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--dir",
        default=os.path.join(here, "../../../node_modules/.cache/nasjs/grasp-reference/fashion-mnist"),
    )
    parser.add_argument("--json", action="store_true", help="one JSON line per cell instead of the table")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    for cell_dir in sorted(glob.glob(os.path.join(args.dir, "cell-*"))):
        meta = json.load(open(os.path.join(cell_dir, "batch.json")))
        net = Network(cell_dir)
        n, h, w, c = meta["shape"]
        x = torch.tensor(np.fromfile(os.path.join(cell_dir, "x.bin"), dtype=np.float32).reshape(n, h, w, c))
        x = x.permute(0, 3, 1, 2).to(torch.float64)
        y = torch.tensor(meta["labels"], dtype=torch.long)
        ours = meta["ours"]
        # the references depend only on the weights, batch and splits, so they are kept beside them
        cache = os.path.join(cell_dir, "reference.json")
        digest = hashlib.sha256()
        for name in ("weights.bin", "x.bin"):
            digest.update(open(os.path.join(cell_dir, name), "rb").read())
        key = {"arch": meta["arch"], "splits": meta["splits"], "labels": meta["labels"], "data": digest.hexdigest()}
        saved = json.load(open(cache)) if os.path.exists(cache) else None
        if saved is not None and saved["key"] == key:
            same_splits, one_pass = saved["same_splits"], saved["one_pass"]
        else:
            same_splits = grasp_terms(net, x, y, meta["splits"])
            one_pass = grasp_terms(net, x, y, [n])
            json.dump({"key": key, "same_splits": same_splits, "one_pass": one_pass}, open(cache, "w"))
        names = [name for name, _ in net.kernels]
        # the largest gap between our central difference and the exact product, relative to the
        # largest term of the cell
        scale = max(abs(v) for v in same_splits)
        gap = max(abs(a - b) for a, b in zip(ours, same_splits)) / scale
        head = names.index(next(nm for nm in names if nm.startswith("dense")))
        row = {
            "arch": meta["arch"],
            "splits": meta["splits"],
            "ours": sum(ours),
            "reference_same_splits": sum(same_splits),
            "reference_one_pass": sum(one_pass),
            "suite": meta["suite"],
            "test_acc": meta["testAcc"],
            "max_term_gap": gap,
            "head_term_one_pass": one_pass[head],
            "rest_one_pass": sum(one_pass) - one_pass[head],
        }
        rows.append(row)
        if args.json:
            print(json.dumps(row))
        else:
            print(
                f"{meta['arch']}  splits {meta['splits']}  ours {row['ours']:.4f}  "
                f"reference (our splits) {row['reference_same_splits']:.4f}  "
                f"reference (one pass) {row['reference_one_pass']:.4f}  suite {row['suite']:.4f}  "
                f"head {row['head_term_one_pass']:.4f} rest {row['rest_one_pass']:.4f}  "
                f"largest term gap {gap:.2e}",
                flush=True,
            )
    if len(rows) >= 3 and not args.json:
        col = lambda k: [r[k] for r in rows]
        print(f"cells: {len(rows)}")
        print(f"Spearman ours vs reference (our splits): {spearman(col('ours'), col('reference_same_splits')):.3f}")
        print(f"Spearman ours vs reference (one pass):   {spearman(col('ours'), col('reference_one_pass')):.3f}")
        print(f"Spearman reference (one pass) vs suite:  {spearman(col('reference_one_pass'), col('suite')):.3f}")
        print(f"Spearman reference (one pass) vs test:   {spearman(col('reference_one_pass'), col('test_acc')):.3f}")
        print(f"Spearman suite vs test:                  {spearman(col('suite'), col('test_acc')):.3f}")
        print(f"largest term gap over the cells: {max(col('max_term_gap')):.2e}")
        positive = sum(1 for v in col("reference_one_pass") if v > 0)
        print(f"reference (one pass) positive on {positive}/{len(rows)} cells; suite on "
              f"{sum(1 for v in col('suite') if v > 0)}/{len(rows)}")


if __name__ == "__main__":
    main()
