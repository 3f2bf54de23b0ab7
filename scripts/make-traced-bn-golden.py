#!/usr/bin/python3
"""PyTorch golden values for BatchNorm in training mode inside alignc's traced training step.

Writes test/fixtures/train/traced-bn.json: a tiny conv -> BatchNorm2d -> ReLU -> conv network in
training mode (batch statistics; running statistics updated with momentum 0.1 and the unbiased
variance, num_batches_tracked + 1 per forward), trained by torch.optim.SGD (lr 0.1, momentum 0.9,
weight decay 1e-4) for two steps on fixed batches with loss mean((net(x) - t)^2). Two cases:

  one_forward   each step runs the network once (batch x_k)
  two_forwards  each step runs the network on x_k and then on y_k (as BYOL's online network runs
                on both views): the loss is the sum of both, and the running statistics of the
                second forward start from the first's.

For each step it records the loss (before the update), every parameter and buffer after the step.
Run with Debian's interpreter (python3-torch):

    /usr/bin/python3 scripts/make-traced-bn-golden.py
"""
import json
import os

import torch
import torch.nn as nn

torch.manual_seed(20261127)
OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'train', 'traced-bn.json')

N, CIN, C, COUT, H, W = 2, 3, 4, 2, 5, 6
STEPS = 2
LR, MOMENTUM, WD = 0.1, 0.9, 1e-4


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(CIN, C, 3, padding=1)
        self.bn = nn.BatchNorm2d(C)
        self.conv2 = nn.Conv2d(C, COUT, 1)

    def forward(self, x):
        return self.conv2(self.bn(self.conv1(x)).relu())


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def state(net):
    return {k: {'shape': list(v.shape), 'data': flat(v.float())} for k, v in net.state_dict().items()}


def run_case(forwards):
    torch.manual_seed(7)
    net = Net()
    with torch.no_grad():
        # Non-trivial affine parameters and running statistics to start from.
        net.bn.weight.uniform_(0.5, 1.5)
        net.bn.bias.uniform_(-0.2, 0.2)
        net.bn.running_mean.uniform_(-0.3, 0.3)
        net.bn.running_var.uniform_(0.5, 1.5)
    init = state(net)
    net.train()
    opt = torch.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WD)
    batches = []
    steps = []
    for _ in range(STEPS):
        xs = [torch.randn(N, CIN, H, W) for _ in range(forwards)]
        t = torch.randn(N, COUT, H, W)
        opt.zero_grad()
        loss = sum(((net(x) - t) ** 2).mean() for x in xs)
        loss.backward()
        opt.step()
        batches.append({'inputs': [flat(x) for x in xs], 'target': flat(t)})
        steps.append({'loss': float(loss), 'state': state(net)})
    return {'forwards': forwards, 'init': init, 'batches': batches, 'steps': steps}


def main():
    out = {
        'shapes': {'input': [N, CIN, H, W], 'target': [N, COUT, H, W]},
        'sizes': {'in': CIN, 'channels': C, 'out': COUT},
        'sgd': {'lr': LR, 'momentum': MOMENTUM, 'weight_decay': WD},
        'cases': {'one_forward': run_case(1), 'two_forwards': run_case(2)},
    }
    with open(OUT, 'w') as f:
        json.dump(out, f)
    print('wrote', OUT)


if __name__ == '__main__':
    main()
