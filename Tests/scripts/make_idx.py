"""Writes a small MNIST-format directory for the command-line tests: 8x8 images whose
class (0-9) is readable from the pixels, so that a tiny model can learn it.

    python3 make_idx.py DIR [--train N] [--test N]
"""
import argparse
import os
import random
import struct


def write_idx(path, dims, values):
    with open(path, "wb") as f:
        f.write(bytes([0, 0, 0x08, len(dims)]))
        for d in dims:
            f.write(struct.pack(">I", d))
        f.write(bytes(values))


def examples(n, rng):
    pixels, labels = [], []
    for _ in range(n):
        label = rng.randrange(10)
        labels.append(label)
        for i in range(64):
            pixels.append(200 if i % 10 == label else rng.randrange(40))
    return pixels, labels


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dir")
    parser.add_argument("--train", type=int, default=400)
    parser.add_argument("--test", type=int, default=100)
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    rng = random.Random(1)
    for prefix, n in (("train", args.train), ("t10k", args.test)):
        pixels, labels = examples(n, rng)
        write_idx(os.path.join(args.dir, f"{prefix}-images-idx3-ubyte"), [n, 8, 8], pixels)
        write_idx(os.path.join(args.dir, f"{prefix}-labels-idx1-ubyte"), [n], labels)


main()
