"""PyTorch reference for bench/mbconv-params.ts: the OFA-MobileNetV3 and FBNet networks of
@nasjs/models, written for this bench from the papers' descriptions (Cai et al. 2020, Once for All,
and its MobileNetV3 space; Wu et al. 2019, FBNet, Tables 1 and 2), not from the TS code.

Reads a JSON list of jobs on stdin, each
  {"space": "ofa-mbv3", "arch": {"ks": [20], "e": [20], "d": [5], "r": [res]}, "widthMult": 1.0|1.2,
   "resolution": n, "classes": n}
  {"space": "fbnet", "arch": ["k3_e1", ... 22 op names], "macro": "imagenet"|"cifar", "resolution": n,
   "classes": n}
builds the network, runs one forward pass on zeros of the resolution and prints a JSON list of
  {"params": trainable parameters, "flops": MACs of convolutions and linear layers with biases
   (one per output), "macs": the same without biases, "out": output shape}.
A job may also name "weights" (a file of float32 little-endian: the TF.js model's weights in
model.getWeights() order, TF layouts, with "shapes" their shapes) and "input" (a file of float32: one
NHWC image); then the weights are loaded (TF layouts turned into PyTorch's) and "logits" holds the
network's output on that image in inference mode.
Usage: python3 mbconv_torch.py < jobs.json
"""
import json
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def make_divisible(v, divisor=8):
    r = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return r + divisor if r < 0.9 * v else r


class HSigmoid(nn.Module):
    def forward(self, x):
        return F.relu6(x + 3.0) / 6.0


class HSwish(nn.Module):
    def forward(self, x):
        return x * F.relu6(x + 3.0) / 6.0


def activation(name):
    return nn.ReLU() if name == 'relu' else HSwish()


def conv_bn_act(cin, cout, k, stride, act=None, groups=1):
    layers = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    if act is not None:
        layers.append(activation(act))
    return nn.Sequential(*layers)


class SqueezeExcite(nn.Module):
    def __init__(self, c):
        super().__init__()
        reduced = make_divisible(c // 4)
        self.reduce = nn.Conv2d(c, reduced, 1)
        self.expand = nn.Conv2d(reduced, c, 1)
        self.gate = HSigmoid()

    def forward(self, x):
        s = x.mean((2, 3), keepdim=True)
        return x * self.gate(self.expand(F.relu(self.reduce(s))))


class Shuffle(nn.Module):
    def __init__(self, groups):
        super().__init__()
        self.groups = groups

    def forward(self, x):
        n, c, h, w = x.shape
        return x.view(n, self.groups, c // self.groups, h, w).transpose(1, 2).reshape(n, c, h, w)


class InvertedResidual(nn.Module):
    """1x1 expansion (optional) [+ shuffle], kxk depthwise, [SE], 1x1 projection, + input when it fits."""

    def __init__(self, cin, cout, mid, k, stride, act, expand=True, se=False, groups=1):
        super().__init__()
        body = []
        if expand:
            body.append(conv_bn_act(cin, mid, 1, 1, act, groups))
        if groups > 1:
            body.append(Shuffle(groups))
        body.append(conv_bn_act(mid, mid, k, stride, act, groups=mid))
        if se:
            body.append(SqueezeExcite(mid))
        body.append(conv_bn_act(mid, cout, 1, 1, None, groups))
        self.body = nn.Sequential(*body)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.body(x)
        return x + y if self.residual else y


class Classifier(nn.Module):
    def __init__(self, head, mix, classes, dropout):
        super().__init__()
        self.head = head
        self.mix = mix
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(mix[0].out_features if mix is not None else head[0].out_channels, classes)

    def forward(self, x):
        x = self.head(x).mean((2, 3))
        if self.mix is not None:
            x = self.mix(x)
        return self.fc(self.dropout(x))


def ofa_mbv3(arch, width, classes):
    w = [make_divisible(c * width) for c in (16, 16, 24, 40, 80, 112, 160, 960, 1280)]
    strides = (2, 2, 2, 1, 2)
    acts = ('relu', 'relu', 'h_swish', 'h_swish', 'h_swish')
    se = (False, True, False, True, True)
    layers = [conv_bn_act(3, w[0], 3, 2, 'h_swish'), InvertedResidual(w[0], w[1], w[0], 3, 1, 'relu', expand=False)]
    cin = w[1]
    for s in range(5):
        for b in range(arch['d'][s]):
            k, e = arch['ks'][4 * s + b], arch['e'][4 * s + b]
            mid = make_divisible(round(cin * e))
            layers.append(InvertedResidual(cin, w[s + 2], mid, k, strides[s] if b == 0 else 1, acts[s], se=se[s]))
            cin = w[s + 2]
    head = conv_bn_act(cin, w[7], 1, 1, 'h_swish')
    mix = nn.Sequential(nn.Linear(w[7], w[8], bias=False), HSwish())
    return nn.Sequential(*layers, Classifier(head, mix, classes, 0.1))


FBNET_STAGES = ((16, 1, 1), (24, 4, 2), (32, 4, 2), (64, 4, 2), (112, 4, 1), (184, 4, 2), (352, 1, 1))


def fbnet(ops, classes, macro='imagenet'):
    """FBNet Table 1; 'cifar': HW-NAS-Bench's CIFAR-100 setting (stride-1 stem and stage 2, 1504 head)."""
    cifar = macro == 'cifar'
    layers = [conv_bn_act(3, 16, 3, 1 if cifar else 2, 'relu')]
    cin, i = 16, 0
    for stage, (cout, n, stride) in enumerate(FBNET_STAGES):
        for b in range(n):
            op, s = ops[i], 1 if b > 0 or (cifar and stage == 1) else stride
            i += 1
            if op == 'skip':
                if cin != cout or s != 1:
                    layers.append(conv_bn_act(cin, cout, 1, s, 'relu'))
            else:
                k, e = int(op[1]), int(op[4])
                groups = 2 if op.endswith('_g2') else 1
                layers.append(InvertedResidual(cin, cout, cin * e, k, s, 'relu', groups=groups))
            cin = cout
    head = conv_bn_act(cin, 1504 if cifar else 1984, 1, 1, 'relu')
    return nn.Sequential(*layers, Classifier(head, None, classes, 0.0))


def count(net, res):
    totals = {'flops': 0, 'macs': 0}

    def conv_hook(m, _, y):
        per_output = m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]
        totals['macs'] += per_output * y.numel()
        totals['flops'] += (per_output + (m.bias is not None)) * y.numel()

    def linear_hook(m, _, y):
        totals['macs'] += m.in_features * y.numel()
        totals['flops'] += (m.in_features + (m.bias is not None)) * y.numel()

    hooks = []
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(linear_hook))
    net.eval()
    with torch.no_grad():
        y = net(torch.zeros(1, 3, res, res))
    for h in hooks:
        h.remove()
    params = sum(p.numel() for p in net.parameters() if p.requires_grad)
    return {'params': params, 'flops': totals['flops'], 'macs': totals['macs'], 'out': list(y.shape)}


def load_tf_weights(net, path, shapes):
    """Assigns TF.js weights (model.getWeights() order and layouts) to `net`'s modules, in order."""
    flat = np.fromfile(path, dtype='<f4')
    tensors, at = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        tensors.append(torch.from_numpy(flat[at:at + size].reshape(shape).copy()))
        at += size
    assert at == flat.size, (at, flat.size)
    queue = iter(tensors)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Conv2d):
                cout, cin_g = m.weight.shape[:2]
                t = next(queue)
                if m.bias is not None:  # squeeze-and-excitation: a TF.js dense [in, out] and its bias
                    m.weight.copy_(t.t().reshape(cout, cin_g, 1, 1))
                    m.bias.copy_(next(queue))
                elif m.groups == 1:  # [k, k, cin, cout]
                    m.weight.copy_(t.permute(3, 2, 0, 1))
                elif m.groups == m.in_channels == m.out_channels:  # depthwise [k, k, c, 1]
                    m.weight.copy_(t.permute(2, 3, 0, 1))
                else:  # grouped 1x1 as depthwise [1, 1, cin, cout / groups]: W[g m + j, i] = K[g n + i, j]
                    g = m.groups
                    k = t.reshape(g, cin_g, cout // g).permute(0, 2, 1)
                    m.weight.copy_(k.reshape(cout, cin_g, 1, 1))
            elif isinstance(m, nn.BatchNorm2d):
                for target in (m.weight, m.bias, m.running_mean, m.running_var):
                    target.copy_(next(queue))
            elif isinstance(m, nn.Linear):
                m.weight.copy_(next(queue).t())
                if m.bias is not None:
                    m.bias.copy_(next(queue))
    assert next(queue, None) is None, 'unused TF.js weights'


def main():
    torch.set_num_threads(1)
    out = []
    for job in json.load(sys.stdin):
        if job['space'] == 'ofa-mbv3':
            net = ofa_mbv3(job['arch'], job.get('widthMult', 1.0), job['classes'])
        elif job['space'] == 'fbnet':
            net = fbnet(job['arch'], job['classes'], job.get('macro', 'imagenet'))
        else:
            raise ValueError('unknown space %s' % job['space'])
        r = count(net, job['resolution'])
        if 'weights' in job:
            load_tf_weights(net, job['weights'], job['shapes'])
            res = job['resolution']
            x = torch.from_numpy(np.fromfile(job['input'], dtype='<f4').reshape(1, res, res, 3).copy())
            with torch.no_grad():
                r['logits'] = net(x.permute(0, 3, 1, 2)).reshape(-1).tolist()
        out.append(r)
    print(json.dumps(out))


if __name__ == '__main__':
    main()
