"""Sprig exports in PyTorch: the module of an export, loaded strict, and its data as Sprig feeds it.

    import sprig_torch
    model, meta = sprig_torch.load("model.safetensors")      # load_state_dict(strict=True)
    x, y = sprig_torch.dataset("data/mnist", meta)            # the test set, normalised as Sprig does
    accuracy = (sprig_torch.predict(model, x) == y).float().mean()

A dense export (`sprig train --weights-out`) is exactly the state_dict of the module that its
metadata's `architecture` describes (docs/guide.md, "Export to PyTorch"): `conv1`, ..., `fc1`, ... as
`torch.nn.Conv2d` and `torch.nn.Linear` attributes, a ReLU after each but the last layer, max
pooling, and a flatten in (C, H, W) order before the first linear layer; for the conv nets with
batch norm (resnet-20, wrn-22-2, vgg-16, layer lists), modules at their PyTorch paths
(`layer1.0.conv1`, `layer1.0.bn1` as `torch.nn.BatchNorm2d` with its running statistics) and
residual blocks `after(body(h) + shortcut(h))`. The masks are beside it
in `NAME.masks.safetensors` (`fc1.weight_mask`, 1 where a connection is active); a sparse (CSR)
export is densified into the same state_dict. Inputs are `x = (pixel / 255 - mean[c]) / std[c]`
(bytes) or `(value - mean[c]) / std[c]` (floats) in float32, per channel c, with the metadata's
`input_mean` and `input_std` (the training set's statistics: a number for one channel, a list
for several). `dataset` reads the folder's format as the metadata's `data_format` says: MNIST-format
IDX, CIFAR-10 or CIFAR-100 binary files, or train.npz / test.npz.

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

OPS = {"conv2d", "relu", "max_pool2d", "flatten", "linear", "batch_norm2d", "batch_norm1d", "global_avg_pool2d", "residual",
       "dropout"}


def metadata(path):
    """The string metadata of a safetensors file."""
    with safe_open(path, framework="numpy") as f:
        return f.metadata() or {}


def _attach(root, name, module):
    """Places `module` at the dotted path `name` under `root` (`layer1.0.conv1`), making the
    containers on the way, so that state_dict keys are `name.weight`."""
    *path, last = name.split(".")
    for part in path:
        if part not in root._modules:
            root.add_module(part, torch.nn.Module())
        root = root._modules[part]
    root.add_module(last, module)


def _module(root, name):
    for part in name.split("."):
        root = root._modules[part]
    return root


class SprigNet(torch.nn.Module):
    """The forward pass of an export's `architecture` (a JSON list of operations)."""

    def __init__(self, architecture):
        super().__init__()
        self.ops = architecture
        self._build(architecture, "")

    def _build(self, ops, prefix):
        for op in ops:
            kind = op.get("op")
            if kind not in OPS:
                raise ValueError(f"unsupported operation {kind!r} in the export's architecture (known: {sorted(OPS)})")
            if kind == "conv2d":
                _attach(self, prefix + op["name"], torch.nn.Conv2d(op["in_channels"], op["out_channels"], op["kernel_size"],
                                                                  stride=op["stride"], padding=op["padding"],
                                                                  bias=op.get("bias", True)))
            elif kind == "linear":
                _attach(self, prefix + op["name"], torch.nn.Linear(op["in_features"], op["out_features"], bias=op.get("bias", True)))
            elif kind in ("batch_norm2d", "batch_norm1d"):
                norm = torch.nn.BatchNorm2d if kind == "batch_norm2d" else torch.nn.BatchNorm1d
                _attach(self, prefix + op["name"], norm(op["num_features"], eps=1e-5, momentum=0.1))
            elif kind == "residual":
                inner = prefix + op["name"] + "."
                for part in ("before", "body", "after"):
                    self._build(op[part], inner)
                if op["shortcut"] is not None:
                    self._build(op["shortcut"], inner)

    def _run(self, ops, x, prefix):
        for op in ops:
            kind = op["op"]
            if kind in ("conv2d", "linear", "batch_norm2d", "batch_norm1d"):
                x = _module(self, prefix + op["name"])(x)
            elif kind == "relu":
                x = F.relu(x)
            elif kind == "max_pool2d":
                x = F.max_pool2d(x, op["kernel_size"], op["stride"])
            elif kind == "dropout":
                x = F.dropout(x, op["p"], training=self.training)
            elif kind == "global_avg_pool2d":
                x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
            elif kind == "residual":
                inner = prefix + op["name"] + "."
                h = self._run(op["before"], x, inner)
                branch = self._run(op["body"], h, inner)
                side = h if op["shortcut"] is None else self._run(op["shortcut"], h, inner)
                x = self._run(op["after"], branch + side, inner)
            else:
                x = torch.flatten(x, 1)
        return x

    def forward(self, x):
        return self._run(self.ops, x, "")


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
        prune.custom_from_mask(_module(model, layer), param, mask)
    return model


def read_idx(path):
    """An IDX file (raw, or gzipped as PATH.gz when PATH is absent) as a NumPy array."""
    raw = open(path, "rb").read() if os.path.exists(path) else gzip.open(path + ".gz").read()
    if raw[:2] != b"\0\0" or raw[2] != 8:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes")
    dims = struct.unpack(">" + "I" * raw[3], raw[4:4 + 4 * raw[3]])
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * raw[3]).reshape(dims)


def normalise(values, meta):
    """Sprig's input for `values` (N examples of the data's values in (C, H, W) order, uint8 or
    float32), shaped N x input_shape: per channel c, `(pixel / 255 - input_mean[c]) / input_std[c]`
    through a float32 table for bytes, `(value - input_mean[c]) / input_std[c]` for floats."""
    mean = np.atleast_1d(np.float32(json.loads(meta["input_mean"])))
    std = np.atleast_1d(np.float32(json.loads(meta["input_std"])))
    channels = len(mean)
    v = np.asarray(values).reshape(len(values), channels, -1)
    if meta.get("input_scale", "1/255") == "1/255":
        tables = (np.arange(256, dtype=np.float32) / np.float32(255) - mean[:, None]) / std[:, None]
        x = np.stack([tables[c][v[:, c]] for c in range(channels)], axis=1)
    else:
        x = (v.astype(np.float32) - mean[None, :, None]) / std[None, :, None]
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32).reshape([len(values)] + json.loads(meta["input_shape"])))


def read_cifar(path, label_bytes, label):
    """A CIFAR binary file: records of `label_bytes` label bytes and 3 x 32 x 32 pixels; labels column `label`."""
    records = np.fromfile(path, np.uint8).reshape(-1, label_bytes + 3072)
    return records[:, label_bytes:].reshape(-1, 3, 32, 32), records[:, label].astype(np.int64)


def read_split(directory, meta, split="test"):
    """The raw values (N x C x H x W or N x F) and labels of a data folder's training or test set."""
    fmt = meta.get("data_format", "idx")
    if fmt == "idx":
        prefix = "t10k" if split == "test" else "train"
        images = read_idx(os.path.join(directory, f"{prefix}-images-idx3-ubyte"))
        return images[:, None], read_idx(os.path.join(directory, f"{prefix}-labels-idx1-ubyte")).astype(np.int64)
    if fmt in ("cifar10", "cifar100"):
        folder = {"cifar10": "cifar-10-batches-bin", "cifar100": "cifar-100-binary"}[fmt]
        marker = "test_batch.bin" if fmt == "cifar10" else "test.bin"
        if not os.path.exists(os.path.join(directory, marker)) and os.path.isdir(os.path.join(directory, folder)):
            directory = os.path.join(directory, folder)
        if fmt == "cifar100":
            label = 1 if meta.get("data_label", "fine") == "fine" else 0
            return read_cifar(os.path.join(directory, f"{split}.bin"), 2, label)
        if split == "test":
            return read_cifar(os.path.join(directory, "test_batch.bin"), 1, 0)
        batches, k = [], 1
        while os.path.exists(os.path.join(directory, f"data_batch_{k}.bin")):
            batches.append(read_cifar(os.path.join(directory, f"data_batch_{k}.bin"), 1, 0))
            k += 1
        return np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches])
    if fmt == "npz":
        with np.load(os.path.join(directory, f"{split}.npz")) as f:
            x, y = f["x"], f["y"].reshape(-1).astype(np.int64)
        if x.ndim == 4 and meta.get("data_layout") == "nhwc":
            x = x.transpose(0, 3, 1, 2)
        return (x.astype(np.float32) if x.dtype.kind == "f" else x), y
    raise ValueError(f"unknown data_format {fmt!r} in the export's metadata")


def dataset(directory, meta, split="test"):
    """Normalised inputs and labels of a data folder (`test` or `train` set), as Sprig feeds them."""
    values, labels = read_split(directory, meta, split)
    return normalise(values, meta), torch.from_numpy(labels)


def mnist(directory, meta, split="test"):
    """Normalised images and labels of an MNIST-format directory (`dataset` for any format)."""
    return dataset(directory, {**meta, "data_format": "idx"}, split)


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
    x, y = dataset(args.data, meta)
    predicted = predict(model, x)
    if args.predictions:
        with open(args.predictions, "w") as f:
            f.write("".join(f"{int(p)}\n" for p in predicted))
    correct = int((predicted == y).sum())
    print(f"torch test_accuracy {correct / len(y):.4f}  ({correct} of {len(y)} correct, {meta.get('model')})")


if __name__ == "__main__":
    main()
