"""Training throughput under rigl-torch (PyTorch, CPU), the yardstick for `sprig bench`: the
same model (LeNet-300-100, or LeNet-5 as in Sprig's zoo), batch and RigL schedule, on random
batches; with --sparsity 0, plain PyTorch.

rigl-torch (https://github.com/McCrearyD/rigl-torch, PyPI rigl-torch 0.5.2) is the PyTorch
port of RigL (Evci et al., ICML 2020) that PyTorch users train sparse networks with: it keeps
every weight dense, multiplies by the masks, and every `delta` steps drops the smallest
active weights and grows the largest dense gradients.

    python bench_rigl_torch.py --sparsity 0.98 --steps 2000 --threads 1
    python bench_rigl_torch.py --model lenet-5 --sparsity 0 --steps 300

Prints one JSON line with `samples_per_second` (timed steps only, mask updates included).
"""
import argparse
import json
import sys
import time
import types

import torch


def import_rigl_scheduler():
    """rigl_torch.util imports torchvision only to recognise ResNet blocks; when torchvision
    is absent a module with two empty classes stands in for it."""
    try:
        import torchvision  # noqa: F401
    except ImportError:
        resnet = types.ModuleType("torchvision.models.resnet")
        resnet.Bottleneck = type("Bottleneck", (), {})
        resnet.BasicBlock = type("BasicBlock", (), {})
        models = types.ModuleType("torchvision.models")
        models.resnet = resnet
        vision = types.ModuleType("torchvision")
        vision.models = models
        sys.modules.update({"torchvision": vision, "torchvision.models": models,
                            "torchvision.models.resnet": resnet})
    from rigl_torch.RigL import RigLScheduler
    return RigLScheduler


def lenet_300_100():
    return torch.nn.Sequential(torch.nn.Linear(784, 300), torch.nn.ReLU(),
                               torch.nn.Linear(300, 100), torch.nn.ReLU(),
                               torch.nn.Linear(100, 10))


def lenet_5():
    """conv 6@5x5 padding 2, pool 2, conv 16@5x5, pool 2, 400-120-84-10 (LeCun et al. 1998)."""
    return torch.nn.Sequential(torch.nn.Conv2d(1, 6, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                               torch.nn.Conv2d(6, 16, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                               torch.nn.Flatten(), torch.nn.Linear(400, 120), torch.nn.ReLU(),
                               torch.nn.Linear(120, 84), torch.nn.ReLU(), torch.nn.Linear(84, 10))


MODELS = {"lenet-300-100": (lenet_300_100, (784,)), "lenet-5": (lenet_5, (1, 28, 28))}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(MODELS), default="lenet-300-100")
    parser.add_argument("--sparsity", type=float, default=0.98, help="of every weight layer (0: dense)")
    parser.add_argument("--steps", type=int, default=2000, help="timed steps")
    parser.add_argument("--warmup", type=int, default=50, help="untimed steps first")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--delta", type=int, default=100, help="steps between mask updates")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    build, input_shape = MODELS[args.model]
    model = build()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)  # as sprig bench
    total = args.warmup + args.steps
    scheduler = None
    if args.sparsity > 0:
        RigLScheduler = import_rigl_scheduler()
        # Every layer at the same sparsity (the first and the linear ones too), as `sprig
        # bench` does; drop fraction 0.3, updates until 3/4 of the steps.
        scheduler = RigLScheduler(model, optimizer, dense_allocation=1 - args.sparsity,
                                  sparsity_distribution="uniform", ignore_linear_layers=False,
                                  delta=args.delta, alpha=0.3, T_end=int(0.75 * total))
    # A pool of random batches, cycled, so that data generation is not timed.
    batches = [(torch.randn(args.batch, *input_shape), torch.randint(0, 10, (args.batch,))) for _ in range(16)]
    loss_fn = torch.nn.CrossEntropyLoss()

    def step(i):
        x, y = batches[i % len(batches)]
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        if scheduler is None or scheduler():
            optimizer.step()

    for i in range(args.warmup):
        step(i)
    start = time.perf_counter()
    for i in range(args.warmup, total):
        step(i)
    seconds = time.perf_counter() - start
    print(json.dumps({"framework": "rigl-torch" if scheduler else "pytorch", "torch": torch.__version__,
                      "model": args.model, "sparsity": args.sparsity, "batch": args.batch,
                      "threads": args.threads, "steps": args.steps, "seconds": seconds,
                      "samples_per_second": args.steps * args.batch / seconds}))


if __name__ == "__main__":
    main()
