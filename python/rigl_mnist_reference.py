"""RigL's MNIST recipe written anew in PyTorch, to check the paper's LeNet-300-100 figure
outside Sprig (RigL: Evci, Gale, Menick, Castro, Elsen, "Rigging the lottery: making all
tickets winners", ICML 2020, appendix B: 1.48% final test error).

It follows the semantics of the reference code (google-research/rigl, rigl/mnist/
mnist_train_eval.py with SparseRigLOptimizer), not its text:

- LeNet-300-100, Glorot-uniform weights (dense fan-in and fan-out), zero biases, inputs
  pixels / 255; random masks with `round((1 - s) n)` connections in fc1 and fc2, fc3 dense.
- Batch 100, reshuffled every epoch; cross-entropy plus 1e-4 * sum(w^2) / 2 over the weights
  (the L2 regulariser); SGD with Nesterov momentum 0.9; lr 0.2, divided by 3 at optimizer
  steps 75 * 600 and 95 * 600.
- A mask update comes at optimizer step 0 and then every 100 optimizer steps up to step
  50,000; it takes that iteration's batch instead of an optimizer step (the step counter
  holds). Per layer, with f = 0.3 / 2 * (1 + cos(pi t / 50000)) and k = floor(f |active|):
  keep the |active| - k largest |w| + N(0, 1e-5) over the whole matrix, then grow the k
  largest |dL/dW| of the batch outside the kept set. Connections new to the mask start at
  zero with zero momentum; one dropped and grown again keeps its weight and momentum.

    python rigl_mnist_reference.py --seed 1 --fc1 0.99 --fc2 0.89 --metrics-out run.jsonl

Prints a line per 10 epochs; with --metrics-out, writes one JSON line per epoch
(`test_accuracy`) and a final line in the shape of `sprig train`'s (`final`,
`test_accuracy`, `active_weights`, `dense_weights`, `connected_widths`).
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

from sprig_torch import read_idx  # the IDX reader of the export's module, beside this script


def load(folder, split):
    for kind in ("images-idx3", "labels-idx1"):
        path = f"{folder}/{split}-{kind}-ubyte"
        if not (os.path.exists(path) or os.path.exists(path + ".gz")):
            sys.exit(f"rigl_mnist_reference.py: {path}: no such file (launch/fetch-mnist.sh fetches MNIST)")
    images = read_idx(f"{folder}/{split}-images-idx3-ubyte")
    labels = read_idx(f"{folder}/{split}-labels-idx1-ubyte")
    x = torch.tensor(images.reshape(len(images), -1), dtype=torch.float32) / 255
    return x, torch.tensor(labels.astype(np.int64))


def connected_widths(masks):
    """Inputs and neurons with connections both in and out, as RigL's appendix B counts them."""
    outgoing = [m.any(dim=1) for m in masks]  # per input row of each (in x out) mask
    incoming = [m.any(dim=0) for m in masks]
    widths = [int(outgoing[0].sum())]
    for l in range(len(masks) - 1):
        widths.append(int((incoming[l] & outgoing[l + 1]).sum()))
    return "-".join(map(str, widths + [masks[-1].shape[1]]))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--fc1", type=float, default=0.99, help="starting sparsity of fc1 (the paper: 0.99)")
    p.add_argument("--fc2", type=float, default=0.89, help="starting sparsity of fc2 (the paper: 0.89)")
    p.add_argument("--epochs", type=int, default=200)
    p.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "data", "mnist"))
    p.add_argument("--metrics-out")
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    for flag, s in (("--fc1", a.fc1), ("--fc2", a.fc2)):
        if not 0 <= s < 1:
            p.error(f"{flag}: a sparsity in [0, 1), got {s}")
    if a.epochs < 1:
        p.error(f"--epochs: at least 1, got {a.epochs}")
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    noise = torch.Generator().manual_seed(a.seed + 1)

    x_train, y_train = load(a.data, "train")
    x_test, y_test = load(a.data, "t10k")
    batch, steps_per_epoch = 100, len(x_train) // 100
    boundaries = (75 * steps_per_epoch, 95 * steps_per_epoch)
    lr0, momentum, l2 = 0.2, 0.9, 1e-4
    update_every, update_end, drop_fraction = 100, 50_000, 0.3

    shapes, sparsities = [(784, 300), (300, 100), (100, 10)], [a.fc1, a.fc2, 0.0]
    weights, biases, masks = [], [], []
    for (fan_in, fan_out), s in zip(shapes, sparsities):
        limit = math.sqrt(6 / (fan_in + fan_out))
        weights.append((torch.rand(fan_in, fan_out) * 2 - 1) * limit)
        biases.append(torch.zeros(fan_out))
        n = fan_in * fan_out
        mask = torch.zeros(n, dtype=torch.bool)
        mask[torch.randperm(n)[:n - round(s * n)]] = True
        masks.append(mask.view(fan_in, fan_out))
    velocity_w = [torch.zeros_like(w) for w in weights]
    velocity_b = [torch.zeros_like(b) for b in biases]

    def logits(x, ws, bs):
        h = x
        for l, (w, b) in enumerate(zip(ws, bs)):
            h = h @ w + b
            if l < 2:
                h = F.relu(h)
        return h

    out = open(a.metrics_out + ".tmp", "w") if a.metrics_out else None
    step, last_update = 0, -update_every
    for epoch in range(1, a.epochs + 1):
        order = torch.randperm(len(x_train))
        for i in range(steps_per_epoch):
            rows = order[i * batch:(i + 1) * batch]
            masked = [(m * w).requires_grad_(True) for m, w in zip(masks, weights)]
            biases_in = [b.clone().requires_grad_(True) for b in biases]
            loss = F.cross_entropy(logits(x_train[rows], masked, biases_in), y_train[rows])
            grads = torch.autograd.grad(loss, masked + biases_in)
            if step <= update_end and last_update + update_every <= step:
                f = drop_fraction / 2 * (1 + math.cos(math.pi * step / update_end))
                for l in range(3):
                    m, w = masks[l].view(-1), weights[l].view(-1)
                    active = int(m.sum())
                    k = int(active * f)
                    drop_score = (m * w).abs() + torch.randn(m.numel(), generator=noise) * 1e-5
                    kept = torch.zeros_like(m)
                    kept[torch.topk(drop_score, active - k).indices] = True
                    grow_score = grads[l].reshape(-1).abs()
                    grow_score = torch.where(kept, grow_score.min() - 1, grow_score)
                    grown = torch.zeros_like(m)
                    grown[torch.topk(grow_score, k).indices] = True
                    new = grown & ~m
                    w[new] = 0
                    velocity_w[l].view(-1)[new] = 0
                    masks[l] = (kept | grown).view_as(masks[l])
                last_update = step
                continue
            lr = lr0 / 3 ** sum(step >= b for b in boundaries)
            with torch.no_grad():
                for l in range(3):
                    for value, grad, velocity in ((weights[l], grads[l] * masks[l] + l2 * weights[l], velocity_w[l]),
                                                  (biases[l], grads[3 + l], velocity_b[l])):
                        velocity.mul_(momentum).add_(grad)
                        value.sub_(lr * (grad + momentum * velocity))
            step += 1
        with torch.no_grad():
            accuracy = (logits(x_test, [m * w for m, w in zip(masks, weights)], biases).argmax(1) == y_test).float().mean().item()
        if out:
            out.write(json.dumps({"epoch": epoch, "test_accuracy": accuracy}) + "\n")
        if epoch % 10 == 0 or epoch == a.epochs:
            print(f"epoch {epoch}/{a.epochs}  loss {loss.item():.4f}  test_accuracy {100 * accuracy:.2f}%", flush=True)
    result = {"final": True, "test_accuracy": accuracy, "active_weights": int(sum(int(m.sum()) for m in masks)),
              "dense_weights": sum(m.numel() for m in masks), "connected_widths": connected_widths(masks),
              "mask_updates_until_step": update_end, "optimizer_steps": step}
    print(json.dumps(result))
    if out:
        out.write(json.dumps(result) + "\n")
        out.close()
        os.replace(a.metrics_out + ".tmp", a.metrics_out)


if __name__ == "__main__":
    main()
