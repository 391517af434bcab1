#!/usr/bin/env python3
"""Training throughput of the CIFAR conv nets in PyTorch (CPU), dense or with rigl-torch's RigL.

The models as Sprig's zoo defines them: He et al.'s CIFAR ResNets (1x1 projection shortcuts
with batch norm where the shape changes), Zagoruyko & Komodakis's pre-activation WRN-22-2,
and VGG-16 with batch norm and one linear layer. Random N x 3 x 32 x 32 batches (throughput
only), SGD with Nesterov momentum 0.9, one thread by default. Prints one line
"RESULT {json}" with samples_per_second, the median of three timed blocks after a warm-up.

  python bench_cifar_torch.py --model resnet-20 --steps 10            # dense
  python bench_cifar_torch.py --model resnet-20 --steps 10 --rigl 0.9 # rigl-torch, every layer 90%
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from bench_rigl_torch import import_rigl_scheduler


def conv3x3(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, 3, stride, 1, bias=False)


class BasicBlock(nn.Module):
    """conv-bn-relu-conv-bn plus the shortcut, then ReLU (He et al. 2016)."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1, self.bn1 = conv3x3(cin, cout, stride), nn.BatchNorm2d(cout)
        self.conv2, self.bn2 = conv3x3(cout, cout), nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)) + self.shortcut(x))


class PreActBlock(nn.Module):
    """bn-relu-conv-bn-relu-conv plus the input (or a 1x1 convolution of the activated input)."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.bn1, self.conv1 = nn.BatchNorm2d(cin), conv3x3(cin, cout, stride)
        self.bn2, self.conv2 = nn.BatchNorm2d(cout), conv3x3(cout, cout)
        self.project = nn.Conv2d(cin, cout, 1, stride, bias=False) if stride != 1 or cin != cout else None

    def forward(self, x):
        h = F.relu(self.bn1(x))
        y = self.conv2(F.relu(self.bn2(self.conv1(h))))
        return y + (x if self.project is None else self.project(h))


class ResNet(nn.Module):
    def __init__(self, blocks, widths, block, preact, classes=10):
        super().__init__()
        self.preact = preact
        self.conv1 = conv3x3(3, 16)
        self.bn1 = nn.BatchNorm2d(widths[-1] if preact else 16)
        layers, cin = [], 16
        for stage, width in enumerate(widths):
            for b in range(blocks):
                layers.append(block(cin, width, 2 if stage > 0 and b == 0 else 1))
                cin = width
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(widths[-1], classes)

    def forward(self, x):
        x = self.conv1(x)
        if not self.preact:
            x = F.relu(self.bn1(x))
        x = self.layers(x)
        if self.preact:
            x = F.relu(self.bn1(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def vgg16(classes=10):
    layers, cin = [], 3
    for v in [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]:
        if v == "M":
            layers.append(nn.MaxPool2d(2))
        else:
            layers += [nn.Conv2d(cin, v, 3, padding=1), nn.BatchNorm2d(v), nn.ReLU()]
            cin = v
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(512, classes))


MODELS = {
    "resnet-20": lambda: ResNet(3, [16, 32, 64], BasicBlock, False),
    "resnet-32": lambda: ResNet(5, [16, 32, 64], BasicBlock, False),
    "resnet-56": lambda: ResNet(9, [16, 32, 64], BasicBlock, False),
    "wrn-22-2": lambda: ResNet(3, [32, 64, 128], PreActBlock, True),
    "vgg-16": vgg16,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="resnet-20", choices=sorted(MODELS))
    parser.add_argument("--steps", type=int, default=10, help="timed steps per block (three blocks)")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rigl", type=float, default=0.0, help="rigl-torch's sparsity of every layer (0: dense)")
    parser.add_argument("--delta", type=int, default=100, help="steps between mask updates")
    parser.add_argument("--inference", action="store_true", help="time model.eval() forward passes instead, at --batch")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = MODELS[args.model]()
    if args.inference:
        return inference(model, args)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    scheduler = None
    total = 3 + 3 * args.steps
    if args.rigl > 0:
        scheduler = import_rigl_scheduler()(model, optimizer, dense_allocation=1 - args.rigl, sparsity_distribution="uniform",
                                            ignore_linear_layers=False, delta=args.delta, alpha=0.3, T_end=int(0.75 * total * 100))
    x, y = torch.randn(args.batch, 3, 32, 32), torch.randint(0, 10, (args.batch,))
    model.train()

    def step():
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        if scheduler is None or scheduler():
            optimizer.step()

    for _ in range(3):
        step()
    rates = []
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(args.steps):
            step()
        rates.append(args.steps * args.batch / (time.perf_counter() - start))
    print("RESULT " + json.dumps({"framework": "rigl-torch" if scheduler else "pytorch", "torch": torch.__version__,
                                  "model": args.model, "sparsity": args.rigl, "batch": args.batch, "threads": args.threads,
                                  "samples_per_second": statistics.median(rates), "blocks": rates}))


def inference(model, args):
    """Forward passes of model.eval() without autograd, for at least a second per block."""
    model.eval()
    x = torch.randn(args.batch, 3, 32, 32)
    rates = []
    with torch.no_grad():
        for _ in range(3):
            model(x)
        for _ in range(3):
            start, passes = time.perf_counter(), 0
            while time.perf_counter() - start < 1:
                model(x)
                passes += 1
            rates.append(passes * args.batch / (time.perf_counter() - start))
    print("RESULT " + json.dumps({"framework": "pytorch-eval", "torch": torch.__version__, "model": args.model, "batch": args.batch,
                                  "threads": args.threads, "samples_per_second": statistics.median(rates), "blocks": rates}))


if __name__ == "__main__":
    main()
