"""PyTorch reference for bench/vit-params.ts: the `vit` and `transformer` networks of @nasjs/models,
written for this bench from the papers (Dosovitskiy et al. 2021, An Image is Worth 16x16 Words;
Tuli et al. 2023, FlexiBERT, for the per-layer attention kinds), not from the TS code.

Reads a JSON list of jobs on stdin, each
  {"space": "vit", "arch": {"stages": [{"depth", "embedDim", "heads", "mlpRatio", "patchSize"}...]},
   "inputShape": [h, w, c], "classes": n}
  {"space": "transformer", "arch": {"layers": [...]}, "vocabSize": v, "sequenceLength": n,
   "classes": n, "pooling": "mean"|"cls"}
builds the network, runs one forward pass and prints a JSON list of
  {"params": trainable parameters, "flops": multiply-accumulates of convolutions and linear layers
   (a bias counts one per output) plus the token-mixing products, counted during the forward pass,
   "out": output shape}.
A job may also name "weights" (a file of float32 little-endian: the TF.js model's weights in
model.getWeights() order, TF layouts) and "input" (a file: float32 NHWC images for vit, float32 token
ids for transformer, "batch" of them); then the weights are loaded (TF layouts turned into PyTorch's)
and "logits" holds the network's output on that input.
GELU is the erf form (nn.GELU()), LayerNorm eps 1e-6, as in the TF.js builders.
Usage: python3 vit_torch.py < jobs.json
"""
import json
import math
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

FLOPS = [0]


def linear(x, layer):
    FLOPS[0] += x.numel() // x.shape[-1] * (layer.in_features * layer.out_features + layer.out_features)
    return layer(x)


class Mixer(nn.Module):
    """Multi-head token mixing: sdp / wma self-attention, dft / dct transform, dynamic conv."""

    def __init__(self, dim, heads, head_dim, mode, kernel):
        super().__init__()
        self.h, self.hd, self.mode, self.k = heads, head_dim, mode, kernel
        inner = heads * head_dim
        if mode in ("sdp", "wma"):
            self.q = nn.Linear(dim, inner)
            self.kk = nn.Linear(dim, inner)
        self.v = nn.Linear(dim, inner)
        if mode == "wma":
            self.w = nn.Parameter(torch.randn(heads, head_dim, head_dim) * 0.1)
        if mode == "conv":
            self.gate = nn.Linear(dim, heads * kernel)
        self.o = nn.Linear(inner, dim)

    def heads(self, t):
        b, n, _ = t.shape
        return t.view(b, n, self.h, self.hd).transpose(1, 2)

    def forward(self, x):
        b, n, _ = x.shape
        inner = self.h * self.hd
        v = linear(x, self.v)
        if self.mode in ("sdp", "wma"):
            q, k = self.heads(linear(x, self.q)), self.heads(linear(x, self.kk))
            if self.mode == "wma":
                q = torch.einsum("bhnd,hde->bhne", q, self.w)
                FLOPS[0] += n * self.h * self.hd * self.hd * b
            a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(self.hd), dim=-1)
            y = (a @ self.heads(v)).transpose(1, 2).reshape(b, n, inner)
            FLOPS[0] += 2 * n * n * inner * b
        elif self.mode in ("dft", "dct"):
            j = torch.arange(n, dtype=torch.float64).view(n, 1)
            kk = torch.arange(n, dtype=torch.float64).view(1, n)
            if self.mode == "dft":
                t = torch.cos(2 * math.pi * j * kk / n) / math.sqrt(n)
            else:
                scale = torch.full((n, 1), math.sqrt(2 / n), dtype=torch.float64)
                scale[0, 0] = math.sqrt(1 / n)
                t = scale * torch.cos(math.pi * (2 * kk + 1) * j / (2 * n))
            y = torch.einsum("jk,bkc->bjc", t.float(), v)
            FLOPS[0] += n * n * inner * b
        else:
            g = torch.softmax(linear(x, self.gate).view(b, n, self.h, self.k), dim=-1)
            half = (self.k - 1) // 2
            vp = F.pad(v, (0, 0, half, half))
            taps = torch.stack([vp[:, i : i + n] for i in range(self.k)], dim=2)  # b n k inner
            taps = taps.view(b, n, self.k, self.h, self.hd)
            y = torch.einsum("bnkhd,bnhk->bnhd", taps, g).reshape(b, n, inner)
            FLOPS[0] += n * self.k * inner * b
        return linear(y, self.o)


class Block(nn.Module):
    def __init__(self, dim, heads, head_dim, mode, kernel, ff):
        super().__init__()
        self.n1 = nn.LayerNorm(dim, eps=1e-6)
        self.mix = Mixer(dim, heads, head_dim, mode, kernel)
        self.n2 = nn.LayerNorm(dim, eps=1e-6)
        sizes = [dim] + list(ff) + [dim]
        self.mlp = nn.ModuleList(nn.Linear(a, c) for a, c in zip(sizes, sizes[1:]))

    def forward(self, x):
        x = x + self.mix(self.n1(x))
        h = self.n2(x)
        for i, layer in enumerate(self.mlp):
            h = linear(h, layer)
            if i < len(self.mlp) - 1:
                h = F.gelu(h)
        return x + h


class ViT(nn.Module):
    def __init__(self, arch, input_shape, classes, head_dim=None):
        super().__init__()
        h, w, cin = input_shape
        self.stages = nn.ModuleList()
        self.grids = []
        stages = arch["stages"]
        for i, s in enumerate(stages):
            p, d = s["patchSize"], s["embedDim"]
            ho, wo = -(-h // p), -(-w // p)
            last = i == len(stages) - 1
            st = nn.Module()
            st.patch = nn.Conv2d(cin, d, p, stride=p)
            st.pad = (h, w, ho, wo, p)
            st.cls = nn.Parameter(torch.zeros(1, 1, d)) if last else None
            st.pos = nn.Parameter(torch.zeros(1, ho * wo + (1 if last else 0), d))
            hd = head_dim or -(-d // s["heads"])
            mlp = round(d * s["mlpRatio"])
            st.blocks = nn.ModuleList(Block(d, s["heads"], hd, "sdp", 1, [mlp]) for _ in range(s["depth"]))
            self.stages.append(st)
            h, w, cin = ho, wo, d
        self.norm = nn.LayerNorm(cin, eps=1e-6)
        self.head = nn.Linear(cin, classes)

    def forward(self, x):  # NCHW
        for st in self.stages:
            h, w, ho, wo, p = st.pad
            ph, pw = ho * p - h, wo * p - w  # TF 'same': the extra row / column at the end
            x = F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))
            x = st.patch(x)
            FLOPS[0] += ho * wo * (st.patch.weight.numel() + st.patch.out_channels) * x.shape[0]
            b, d = x.shape[0], x.shape[1]
            t = x.flatten(2).transpose(1, 2)
            if st.cls is not None:
                t = torch.cat([st.cls.expand(b, -1, -1), t], dim=1)
            t = t + st.pos
            for blk in st.blocks:
                t = blk(t)
            x = t if st.cls is not None else t.transpose(1, 2).reshape(b, d, ho, wo)
        return linear(self.norm(x)[:, 0], self.head)


class TextTransformer(nn.Module):
    def __init__(self, arch, vocab, seq, classes, pooling):
        super().__init__()
        layers = arch["layers"]
        d0 = layers[0]["hidden"]
        self.cls = nn.Parameter(torch.zeros(1, 1, d0)) if pooling == "cls" else None
        self.tok = nn.Embedding(vocab, d0)
        self.pos = nn.Parameter(torch.zeros(1, seq + (1 if pooling == "cls" else 0), d0))
        self.proj = nn.ModuleList()
        self.blocks = nn.ModuleList()
        c = d0
        for l in layers:
            a, d = l["attention"], l["hidden"]
            mode = {"sa": a["value"].get("similarity"), "l": a["value"].get("transform"), "c": "conv"}[a["option"]]
            self.proj.append(nn.Linear(c, d) if c != d else nn.Identity())
            heads = a["value"]["heads"]
            self.blocks.append(Block(d, heads, d // heads, mode, a["value"].get("kernel", 1), l["ff"]))
            c = d
        self.norm = nn.LayerNorm(c, eps=1e-6)
        self.head = nn.Linear(c, classes)

    def forward(self, ids):
        x = self.tok(ids)
        if self.cls is not None:
            x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1)
        x = x + self.pos
        for proj, blk in zip(self.proj, self.blocks):
            x = linear(x, proj) if isinstance(proj, nn.Linear) else x
            x = blk(x)
        x = self.norm(x)
        return linear(x[:, 0] if self.cls is not None else x.mean(1), self.head)


def linear_pair(layer):
    return [(layer.weight, "dense"), (layer.bias, "bias")]


def block_order(blk):
    m = blk.mix
    out = [(blk.n1.weight, "same"), (blk.n1.bias, "same")]
    if m.mode in ("sdp", "wma"):
        out += linear_pair(m.q) + linear_pair(m.kk)
    out += linear_pair(m.v)
    if m.mode == "wma":
        out.append((m.w, "same"))
    if m.mode == "conv":
        out += linear_pair(m.gate)
    out += linear_pair(m.o)
    out += [(blk.n2.weight, "same"), (blk.n2.bias, "same")]
    for layer in blk.mlp:
        out += linear_pair(layer)
    return out


def tf_order(net):
    """The parameters in the order of the TF.js model's getWeights(), with how to convert each."""
    out = []
    if isinstance(net, ViT):
        for st in net.stages:
            out += [(st.patch.weight, "conv"), (st.patch.bias, "bias")]
            if st.cls is not None:
                out.append((st.cls, "same"))
            out.append((st.pos, "same"))
            for blk in st.blocks:
                out += block_order(blk)
    else:
        out.append((net.tok.weight, "same"))
        if net.cls is not None:
            out.append((net.cls, "same"))
        out.append((net.pos, "same"))
        for proj, blk in zip(net.proj, net.blocks):
            if isinstance(proj, nn.Linear):
                out += linear_pair(proj)
            out += block_order(blk)
    return out + [(net.norm.weight, "same"), (net.norm.bias, "same")] + linear_pair(net.head)


def load(net, path):
    flat = np.fromfile(path, dtype="<f4")
    at = 0
    with torch.no_grad():
        for p, kind in tf_order(net):
            if kind == "dense":
                shape = (p.shape[1], p.shape[0])
            elif kind == "conv":
                shape = (p.shape[2], p.shape[3], p.shape[1], p.shape[0])
            else:
                shape = tuple(p.shape)
            size = int(np.prod(shape))
            t = torch.from_numpy(flat[at : at + size].copy()).view(shape)
            at += size
            if kind == "dense":
                t = t.t()
            elif kind == "conv":
                t = t.permute(3, 2, 0, 1)
            p.copy_(t)
    assert at == flat.size, (at, flat.size)


def main():
    out = []
    for job in json.load(sys.stdin):
        FLOPS[0] = 0
        if job["space"] == "vit":
            net = ViT(job["arch"], job["inputShape"], job["classes"], job.get("headDim"))
            h, w, c = job["inputShape"]
            x = torch.zeros(1, c, h, w)
        else:
            net = TextTransformer(job["arch"], job["vocabSize"], job["sequenceLength"], job["classes"], job["pooling"])
            x = torch.zeros(1, job["sequenceLength"], dtype=torch.long)
        with torch.no_grad():
            y = net(x)
        params = sum(p.numel() for p in net.parameters() if p.requires_grad)
        row = {"params": params, "flops": FLOPS[0], "out": list(y.shape)}
        if "weights" in job:
            load(net, job["weights"])
            raw = torch.from_numpy(np.fromfile(job["input"], dtype="<f4").copy())
            if job["space"] == "vit":
                h, w, c = job["inputShape"]
                x = raw.view(job["batch"], h, w, c).permute(0, 3, 1, 2).contiguous()
            else:
                x = raw.view(job["batch"], job["sequenceLength"]).long()
            with torch.no_grad():
                row["logits"] = net(x).flatten().tolist()
        out.append(row)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
