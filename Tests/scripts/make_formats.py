"""Writes MNIST (or any IDX folder) in the other layouts Sprig reads, for the data tests:

- npz/: train.npz and test.npz as numpy.savez writes them, x uint8 N x 1 x 28 x 28, y int64;
- npz-float/: the first sixth of each set with x float32 (pixels / 255) of shape N x 784, y int32;
- cifar10/cifar-10-batches-bin/: CIFAR-10's binary layout, data_batch_1.bin ... data_batch_5.bin
  and test_batch.bin (one label byte, then 1024 red, 1024 green and 1024 blue bytes, each
  32 x 32 row by row) and batches.meta.txt; cifar10-small/: the same of the first 6000
  training and 1000 test images;
- cifar100/cifar-100-binary/: CIFAR-100's, train.bin and test.bin (a coarse label byte,
  label // 2, and a fine one, label, before the pixels), with fine_label_names.txt and
  coarse_label_names.txt;
- npz-nhwc/: the CIFAR-format images as N x 32 x 32 x 3 arrays (for data: {layout: nhwc}).

The images are padded to 32 x 32 (2 zero pixels on each side) and given three distinct
channels: red the digit, green its negative, blue the digit at half intensity. Prints, for each
folder, the CRC-32 of the values and labels Sprig should read (`sprig data` prints the same;
the folder cifar100-coarse is cifar100 read with data: {label: coarse}):

    FOLDER train|test VALUES_CRC LABELS_CRC

    python3 make_formats.py MNIST_DIR OUT_DIR [--train N] [--test N]
"""
import argparse
import gzip
import os
import struct
import zlib

import numpy as np


def read_idx(path):
    raw = open(path, "rb").read() if os.path.exists(path) else gzip.open(path + ".gz").read()
    dims = struct.unpack(">" + "I" * raw[3], raw[4:4 + 4 * raw[3]])
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * raw[3]).reshape(dims)


def three_channels(images):
    """N x 28 x 28 digits as N x 3 x 32 x 32: the digit, its negative, the digit at half intensity."""
    padded = np.pad(images, ((0, 0), (2, 2), (2, 2)))
    return np.stack([padded, 255 - padded, padded // 2], axis=1)


def crc(a):
    return f"0x{zlib.crc32(np.ascontiguousarray(a).tobytes()):08x}"


def report(folder, name, x, y):
    print(folder, name, crc(x), crc(y.astype("<i4")))


def cifar_records(x, labels):
    """Records of label bytes (one column each of `labels`) and 3072 pixel bytes."""
    return np.concatenate([labels.astype(np.uint8), x.reshape(len(x), -1)], axis=1).tobytes()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mnist")
    parser.add_argument("out")
    parser.add_argument("--train", type=int, default=60000)
    parser.add_argument("--test", type=int, default=10000)
    args = parser.parse_args()
    sets = {}
    for name, prefix, n in (("train", "train", args.train), ("test", "t10k", args.test)):
        x = read_idx(os.path.join(args.mnist, f"{prefix}-images-idx3-ubyte"))[:n]
        y = read_idx(os.path.join(args.mnist, f"{prefix}-labels-idx1-ubyte"))[:n].astype(np.int64)
        sets[name] = (x, y)
    digits = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]

    folder = os.path.join(args.out, "npz")
    os.makedirs(folder, exist_ok=True)
    for name, (x, y) in sets.items():
        x4 = x.reshape(len(x), 1, 28, 28)
        np.savez(os.path.join(folder, f"{name}.npz"), x=x4, y=y)
        report("npz", name, x4, y)

    folder = os.path.join(args.out, "npz-float")
    os.makedirs(folder, exist_ok=True)
    for name, (x, y) in sets.items():
        x, y = x[:len(x) // 6], y[:len(y) // 6]  # a sixth: float32 takes 4 bytes a value
        xf = (x.reshape(len(x), -1) / np.float32(255)).astype(np.float32)
        np.savez(os.path.join(folder, f"{name}.npz"), x=xf, y=y.astype(np.int32))
        report("npz-float", name, xf, y)

    def cifar10(name, train_count, test_count):
        folder = os.path.join(args.out, name, "cifar-10-batches-bin")
        os.makedirs(folder, exist_ok=True)
        x, y = (a[:train_count] for a in sets["train"])
        x3 = three_channels(x)
        for k, part in enumerate(np.array_split(np.arange(len(x3)), 5)):
            with open(os.path.join(folder, f"data_batch_{k + 1}.bin"), "wb") as f:
                f.write(cifar_records(x3[part], y[part, None]))
        report(name, "train", x3, y)
        x, y = (a[:test_count] for a in sets["test"])
        with open(os.path.join(folder, "test_batch.bin"), "wb") as f:
            f.write(cifar_records(three_channels(x), y[:, None]))
        report(name, "test", three_channels(x), y)
        with open(os.path.join(folder, "batches.meta.txt"), "w") as f:
            f.write("\n".join(digits) + "\n\n")
    cifar10("cifar10", len(sets["train"][0]), len(sets["test"][0]))
    cifar10("cifar10-small", 6000, 1000)

    folder = os.path.join(args.out, "cifar100", "cifar-100-binary")
    os.makedirs(folder, exist_ok=True)
    for name, (x, y) in sets.items():
        with open(os.path.join(folder, f"{name}.bin"), "wb") as f:
            f.write(cifar_records(three_channels(x), np.stack([y // 2, y], axis=1)))
        report("cifar100", name, three_channels(x), y)
        report("cifar100-coarse", name, three_channels(x), y // 2)
    with open(os.path.join(folder, "fine_label_names.txt"), "w") as f:
        f.write("\n".join(digits + [f"class_{i}" for i in range(10, 100)]) + "\n")
    with open(os.path.join(folder, "coarse_label_names.txt"), "w") as f:
        f.write("\n".join(f"pair_{i}" for i in range(20)) + "\n")

    folder = os.path.join(args.out, "npz-nhwc")
    os.makedirs(folder, exist_ok=True)
    for name, (x, y) in sets.items():
        x3 = three_channels(x)
        np.savez_compressed(os.path.join(folder, f"{name}.npz"), x=x3.transpose(0, 2, 3, 1), y=y.astype(np.uint8))
        report("npz-nhwc", name, x3, y)


main()
