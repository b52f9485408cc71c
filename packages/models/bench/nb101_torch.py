"""PyTorch reference for bench/nb101-params.ts: the NAS-Bench-101 network, written for this bench
from the NAS-Bench-101 paper (Ying et al. 2019) and the description of its reference builder
(stem Conv3x3-BN-ReLU; stacks of cells with 2x2 max-pooling and doubled channels between them;
per-vertex channels that split the cell's output channels; 1x1 projections of the cell input;
vertices sum their inputs, the output concatenates; global average pooling; dense head).

Usage: python3 nb101_torch.py < request.json
request: {"options": {"stemChannels", "stacks", "cellsPerStack", "inputShape": [h, w, c], "classes"},
          "archs": [{"matrix": [[...]], "ops": [...]}, ...], "forward": true|false}
Prints one JSON line: {"params": [trainable parameters per arch], "outputs": [logit shapes or null]}.
"""
import json
import sys

import torch
import torch.nn as nn

KERNELS = {'conv3x3-bn-relu': 3, 'conv1x1-bn-relu': 1}


def vertex_channels(matrix, c_in, c_out):
    """Channels of each vertex: the output's channels shared out among the vertices that feed it
    (earlier vertices take the remainder), other vertices the widest of their successors."""
    n = len(matrix)
    last = n - 1
    ch = [0] * n
    ch[0], ch[last] = c_in, c_out
    if n == 2:
        return ch
    feeders = [v for v in range(1, last) if matrix[v][last]]
    base, rest = divmod(c_out, len(feeders))
    for i, v in enumerate(feeders):
        ch[v] = base + (1 if i < rest else 0)
    for v in range(last - 1, 0, -1):
        if not matrix[v][last]:
            ch[v] = max(ch[d] for d in range(v + 1, last) if matrix[v][d])
    return ch


def conv_bn_relu(c_in, c_out, k):
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=False),
        nn.BatchNorm2d(c_out, eps=1e-5, momentum=0.003),
        nn.ReLU(),
    )


class Cell(nn.Module):
    def __init__(self, matrix, ops, c_in, c_out):
        super().__init__()
        self.matrix = matrix
        self.n = len(matrix)
        self.ch = vertex_channels(matrix, c_in, c_out)
        last = self.n - 1
        self.proj = nn.ModuleDict()  # input projections, keyed by the vertex they feed
        self.op = nn.ModuleDict()
        for v in range(1, last):
            if matrix[0][v]:
                self.proj[str(v)] = conv_bn_relu(c_in, self.ch[v], 1)
            k = KERNELS.get(ops[v])
            self.op[str(v)] = conv_bn_relu(self.ch[v], self.ch[v], k) if k else nn.MaxPool2d(3, 1, 1)
        if matrix[0][last]:
            self.proj[str(last)] = conv_bn_relu(c_in, c_out, 1)

    def forward(self, x):
        last = self.n - 1
        out = [x]
        for v in range(1, last):
            parts = [out[u][:, : self.ch[v]] for u in range(1, v) if self.matrix[u][v]]
            if self.matrix[0][v]:
                parts.append(self.proj[str(v)](x))
            out.append(self.op[str(v)](sum(parts)))
        feeding = [out[v] for v in range(1, last) if self.matrix[v][last]]
        if not feeding:
            return self.proj[str(last)](x)
        y = torch.cat(feeding, dim=1)
        if self.matrix[0][last]:
            y = y + self.proj[str(last)](x)
        return y


class Net(nn.Module):
    def __init__(self, matrix, ops, stem, stacks, cells, in_ch, classes):
        super().__init__()
        layers = [conv_bn_relu(in_ch, stem, 3)]
        c_prev = c = stem
        for s in range(stacks):
            if s > 0:
                layers.append(nn.MaxPool2d(2, 2))
                c *= 2
            for _ in range(cells):
                layers.append(Cell(matrix, ops, c_prev, c))
                c_prev = c
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(c, classes)

    def forward(self, x):
        return self.head(self.body(x).mean(dim=(2, 3)))


def main():
    req = json.load(sys.stdin)
    o = req['options']
    h, w, in_ch = o['inputShape']
    params, outputs = [], []
    torch.set_num_threads(1)
    for arch in req['archs']:
        net = Net(arch['matrix'], arch['ops'], o['stemChannels'], o['stacks'], o['cellsPerStack'], in_ch, o['classes'])
        params.append(sum(p.numel() for p in net.parameters() if p.requires_grad))
        if req.get('forward'):
            net.eval()
            with torch.no_grad():
                outputs.append(list(net(torch.zeros(1, in_ch, h, w)).shape))
        else:
            outputs.append(None)
    print(json.dumps({'params': params, 'outputs': outputs}))


if __name__ == '__main__':
    main()
