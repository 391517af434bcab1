"""Sprig exports in PyTorch: the module of an export, loaded strict, and MNIST as Sprig feeds it.

    import sprig_torch
    model, meta = sprig_torch.load("model.safetensors")      # load_state_dict(strict=True)
    x, y = sprig_torch.mnist("data/mnist", meta)              # the test set, normalised as Sprig does
    accuracy = (sprig_torch.predict(model, x) == y).float().mean()

A dense export (`sprig train --weights-out`) is exactly the state_dict of the module that its
metadata's `architecture` describes (README, "PyTorch"): `conv1`, ..., `fc1`, ... as
`torch.nn.Conv2d` and `torch.nn.Linear` attributes, a ReLU after each but the last layer, max
pooling, and a flatten in (C, H, W) order before the first linear layer. The masks are beside it
in `NAME.masks.safetensors` (`fc1.weight_mask`, 1 where a connection is active); a sparse (CSR)
export is densified into the same state_dict. Inputs are `x = (pixel / 255 - mean) / std` in
float32 with the metadata's `input_mean` and `input_std` (the training set's statistics).

Run as a script it prints the test accuracy of an export:
    python3 python/sprig_torch.py model.safetensors --data data/mnist [--predictions FILE]
"""
import argparse
import gzip
import json
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F
import torch.nn.utils.prune as prune
from safetensors import safe_open
from safetensors.numpy import load_file

OPS = {"conv2d", "relu", "max_pool2d", "flatten", "linear"}


def metadata(path):
    """The string metadata of a safetensors file."""
    with safe_open(path, framework="numpy") as f:
        return f.metadata() or {}


class SprigNet(torch.nn.Module):
    """The forward pass of an export's `architecture` (a JSON list of operations)."""

    def __init__(self, architecture):
        super().__init__()
        self.ops = []
        for op in architecture:
            kind = op.get("op")
            if kind not in OPS:
                raise ValueError(f"unsupported operation {kind!r} in the export's architecture (known: {sorted(OPS)})")
            if kind == "conv2d":
                setattr(self, op["name"], torch.nn.Conv2d(op["in_channels"], op["out_channels"], op["kernel_size"],
                                                          stride=op["stride"], padding=op["padding"]))
            elif kind == "linear":
                setattr(self, op["name"], torch.nn.Linear(op["in_features"], op["out_features"]))
            self.ops.append(op)

    def forward(self, x):
        for op in self.ops:
            kind = op["op"]
            if kind in ("conv2d", "linear"):
                x = getattr(self, op["name"])(x)
            elif kind == "relu":
                x = F.relu(x)
            elif kind == "max_pool2d":
                x = F.max_pool2d(x, op["kernel_size"], op["stride"])
            else:
                x = torch.flatten(x, 1)
        return x


def build(meta):
    """The (untrained) module of an export's metadata; refuses files it cannot describe."""
    if meta.get("format") != "sprig":
        raise ValueError("not a Sprig export (its metadata has no format: sprig)")
    if "architecture" not in meta:
        raise ValueError(f"the export of model {meta.get('model', '?')!r} has no 'architecture' in its metadata "
                         "(written by an older sprig): re-export it with this version")
    return SprigNet(json.loads(meta["architecture"]))


def state_dict(path, meta=None):
    """The export's tensors as a state_dict; a sparse (CSR) export is densified."""
    meta = metadata(path) if meta is None else meta
    tensors = load_file(path)
    out = {}
    for name, t in tensors.items():
        if name.endswith(".crow_indices"):
            weight = name[:-len(".crow_indices")]
            crow, col = tensors[name], tensors[weight + ".col_indices"]
            shape = json.loads(meta[weight + ".shape"])
            dense = np.zeros((shape[0], int(np.prod(shape[1:]))), np.float32)
            dense[np.repeat(np.arange(len(crow) - 1), np.diff(crow)), col] = tensors[weight + ".values"]
            out[weight] = torch.from_numpy(dense.reshape(shape))
        elif not name.endswith((".col_indices", ".values")):
            out[name] = torch.from_numpy(t)
    return out


def masks(path):
    """The masks beside a dense export ({"fc1.weight_mask": tensor}), or {} when there are none."""
    sidecar = (path[:-len(".safetensors")] if path.endswith(".safetensors") else path) + ".masks.safetensors"
    return {k: torch.from_numpy(v) for k, v in load_file(sidecar).items()} if os.path.exists(sidecar) else {}


def load(path):
    """The module of an export with its weights (load_state_dict(strict=True)), in eval mode, and the metadata."""
    meta = metadata(path)
    model = build(meta)
    model.load_state_dict(state_dict(path, meta), strict=True)
    return model.eval(), meta


def keep_masks(model, path):
    """Registers the export's masks with torch.nn.utils.prune, so fine-tuning keeps inactive weights at 0."""
    for name, mask in masks(path).items():
        layer, param = name[:-len("_mask")].rsplit(".", 1)
        prune.custom_from_mask(getattr(model, layer), param, mask)
    return model


def read_idx(path):
    """An IDX file (raw, or gzipped as PATH.gz when PATH is absent) as a NumPy array."""
    raw = open(path, "rb").read() if os.path.exists(path) else gzip.open(path + ".gz").read()
    if raw[:2] != b"\0\0" or raw[2] != 8:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes")
    dims = struct.unpack(">" + "I" * raw[3], raw[4:4 + 4 * raw[3]])
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * raw[3]).reshape(dims)


def normalise(pixels, meta):
    """`(pixel / 255 - input_mean) / input_std` in float32, shaped N x input_shape, as Sprig's table computes it."""
    mean, std = np.float32(meta["input_mean"]), np.float32(meta["input_std"])
    table = (np.arange(256, dtype=np.float32) / np.float32(255) - mean) / std
    return torch.from_numpy(table[pixels].reshape([len(pixels)] + json.loads(meta["input_shape"])))


def mnist(directory, meta, split="test"):
    """Normalised images and labels of an MNIST-format directory (`t10k-*` for test, `train-*` for train)."""
    prefix = "t10k" if split == "test" else "train"
    images = read_idx(os.path.join(directory, f"{prefix}-images-idx3-ubyte"))
    labels = read_idx(os.path.join(directory, f"{prefix}-labels-idx1-ubyte"))
    return normalise(images, meta), torch.from_numpy(labels.astype(np.int64))


@torch.no_grad()
def predict(model, x, batch=1000):
    """The arg-max class of each input (the first of equal maxima)."""
    return torch.cat([model(x[i:i + batch]).argmax(1) for i in range(0, len(x), batch)])


def main():
    parser = argparse.ArgumentParser(description="Test accuracy of a Sprig export in PyTorch.")
    parser.add_argument("weights")
    parser.add_argument("--data", default="data/mnist")
    parser.add_argument("--predictions", help="write the predicted class of each test image, one a line")
    args = parser.parse_args()
    model, meta = load(args.weights)
    x, y = mnist(args.data, meta)
    predicted = predict(model, x)
    if args.predictions:
        with open(args.predictions, "w") as f:
            f.write("".join(f"{int(p)}\n" for p in predicted))
    correct = int((predicted == y).sum())
    print(f"torch test_accuracy {correct / len(y):.4f}  ({correct} of {len(y)} correct, {meta.get('model')})")


if __name__ == "__main__":
    main()
