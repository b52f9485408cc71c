"""PyTorch reference for bench/pytorch-compare.ts: the scaled-down NB201 network of one cell,
trained with the same recipe on the same examples (read from the file the TS bench writes).

Written for this bench from the NAS-Bench-201 paper's description of the network (stem, 3 stages
of N cells, residual reduction blocks, ReLU-Conv-BN ops, global pooling, linear head).
Usage: python3 nb201_torch.py <data.bin> <arch> <channels> <cells> <epochs> <batch> <lr> <seed>
Prints one JSON line: test accuracy (%), images per second, parameters.
"""
import json
import math
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

EDGES = [(1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2)]


def relu_conv_bn(cin, cout, k, stride=1):
    return nn.Sequential(
        nn.ReLU(inplace=False),
        nn.Conv2d(cin, cout, k, stride=stride, padding=(k - 1) // 2, bias=False),
        nn.BatchNorm2d(cout, eps=1e-5, momentum=0.1),
    )


class Cell(nn.Module):
    def __init__(self, ops, c):
        super().__init__()
        self.ops = ops
        self.edges = nn.ModuleList()
        for op in ops:
            if op == 'nor_conv_3x3':
                self.edges.append(relu_conv_bn(c, c, 3))
            elif op == 'nor_conv_1x1':
                self.edges.append(relu_conv_bn(c, c, 1))
            else:
                self.edges.append(nn.Identity())

    def forward(self, x):
        nodes = [x]
        for j in range(1, 4):
            terms = []
            for e, (to, frm) in enumerate(EDGES):
                if to != j or self.ops[e] == 'none':
                    continue
                h = nodes[frm]
                op = self.ops[e]
                if op == 'avg_pool_3x3':
                    terms.append(F.avg_pool2d(h, 3, 1, 1, count_include_pad=False))
                else:
                    terms.append(self.edges[e](h))
            nodes.append(sum(terms) if terms else torch.zeros_like(x))
        return nodes[3]


class Reduction(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.a = relu_conv_bn(cin, cout, 3, 2)
        self.b = relu_conv_bn(cout, cout, 3)
        self.down = nn.Sequential(nn.AvgPool2d(2, 2), nn.Conv2d(cin, cout, 1, bias=False))

    def forward(self, x):
        return self.down(x) + self.b(self.a(x))


class Net(nn.Module):
    def __init__(self, ops, c, n, in_ch, classes):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_ch, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))
        layers = []
        for stage in range(3):
            cs = c << stage
            if stage > 0:
                layers.append(Reduction(cs // 2, cs))
            layers += [Cell(ops, cs) for _ in range(n)]
        self.cells = nn.Sequential(*layers)
        self.last = nn.Sequential(nn.BatchNorm2d(c << 2), nn.ReLU())
        self.head = nn.Linear(c << 2, classes)

    def forward(self, x):
        x = self.last(self.cells(self.stem(x)))
        return self.head(x.mean(dim=(2, 3)))


def read(path):
    with open(path, 'rb') as f:
        h, w, ch, classes, n_train, n_test = struct.unpack('<6i', f.read(24))
        size = h * w * ch
        xtr = np.frombuffer(f.read(4 * n_train * size), dtype='<f4').reshape(n_train, h, w, ch)
        ytr = np.frombuffer(f.read(4 * n_train), dtype='<i4')
        xte = np.frombuffer(f.read(4 * n_test * size), dtype='<f4').reshape(n_test, h, w, ch)
        yte = np.frombuffer(f.read(4 * n_test), dtype='<i4')
    nchw = lambda x: torch.from_numpy(x.transpose(0, 3, 1, 2).copy())
    return nchw(xtr), torch.from_numpy(ytr.astype(np.int64)), nchw(xte), torch.from_numpy(yte.astype(np.int64)), ch, classes


def main():
    path, arch, channels, cells, epochs, batch, lr, seed = sys.argv[1:9]
    channels, cells, epochs, batch, lr, seed = int(channels), int(cells), int(epochs), int(batch), float(lr), int(seed)
    ops = [e.split('~')[0] for e in arch.replace('+', '').split('|') if e]
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    xtr, ytr, xte, yte, ch, classes = read(path)
    net = Net(ops, channels, cells, ch, classes)
    params = sum(p.numel() for p in net.parameters())
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9, nesterov=True, weight_decay=5e-4)
    steps_per_epoch = math.ceil(len(ytr) / batch)
    total = steps_per_epoch * epochs
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / total)))
    g = torch.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    seen = 0
    net.train()
    for _ in range(epochs):
        order = torch.randperm(len(ytr), generator=g)
        for i in range(0, len(ytr), batch):
            idx = order[i : i + batch]
            loss = F.cross_entropy(net(xtr[idx]), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            seen += len(idx)
    seconds = time.perf_counter() - t0
    net.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(yte), 500):
            correct += (net(xte[i : i + 500]).argmax(1) == yte[i : i + 500]).sum().item()
    print(json.dumps({'test_acc': 100 * correct / len(yte), 'images_per_s': seen / seconds, 'params': params, 'seconds': seconds}))


if __name__ == '__main__':
    main()
