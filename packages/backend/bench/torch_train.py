"""PyTorch CPU anchor for bench/train.ts: trains the same two networks with the same batch and
optimizer and prints one JSON line {"net", "threads", "imagesPerSecond", "stepMs"}.

Usage: /usr/bin/python3 bench/torch_train.py --net cnn|mobilenet --threads 1 --steps 20 --warmup 3
"""
import argparse
import json
import statistics
import time

import torch
from torch import nn


def small_cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(),
        nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(64, 64, 3, stride=2, padding=1), nn.ReLU(),
        nn.Flatten(), nn.Linear(7 * 7 * 64, 10),
    )


def separable(cin: int, cout: int, stride: int) -> list:
    return [
        nn.Conv2d(cin, cin, 3, stride=stride, padding=1, groups=cin, bias=False), nn.BatchNorm2d(cin), nn.ReLU6(),
        nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU6(),
    ]


def mobilenet_like() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU6(),
        *separable(16, 32, 1), *separable(32, 64, 2), *separable(64, 64, 1), *separable(64, 128, 2),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, 10),
    )


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument('--net', choices=['cnn', 'mobilenet'], required=True)
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--steps', type=int, default=20)
    p.add_argument('--warmup', type=int, default=3)
    p.add_argument('--batch', type=int, default=64)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = small_cnn() if a.net == 'cnn' else mobilenet_like()
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.rand(a.batch, 1, 28, 28)
    y = torch.randint(0, 10, (a.batch,))
    times = []
    for i in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        loss.item()
        if i >= a.warmup:
            times.append(time.perf_counter() - t0)
    step = statistics.median(times)
    print(json.dumps({'net': a.net, 'threads': torch.get_num_threads(), 'stepMs': step * 1e3,
                      'imagesPerSecond': a.batch / step, 'torch': torch.__version__}))


if __name__ == '__main__':
    main()
