#!/usr/bin/env bash
# Bad input through the command line: each case must end with exactly one clear error
# line naming the file or field, exit code 2 (one contract for every user error, those the
# argument parser finds included), no crash or stack trace, no training before the error,
# and no metrics file left behind.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

good="$WORK/good"
python3 "$ROOT/Tests/scripts/make_idx.py" "$good"
cat > "$WORK/tiny.yaml" <<YAML
model: {mlp: [64, 16, 10]}
epochs: 1
batch_size: 20
YAML

# expect_error NAME EXPECTED_TEXT COMMAND... : runs COMMAND, which must fail cleanly.
expect_error() {
  local name="$1" expected="$2"; shift 2
  rm -f "$WORK/metrics.jsonl"
  "$@" >"$WORK/out" 2>"$WORK/err"
  local code=$? errors
  errors=$(grep -c "sprig: error:" "$WORK/err")
  if [ "$code" -ne 2 ]; then fail "$name" "exit code $code, not 2: $(head -2 "$WORK/err")"
  elif grep -q '^epoch ' "$WORK/out"; then fail "$name" "it trained before failing: $(grep -m1 '^epoch ' "$WORK/out")"
  elif grep -qiE "fatal error|stack dump|backtrace|segmentation|illegal instruction|#[0-9]+ 0x" "$WORK/err"; then fail "$name" "crash: $(head -3 "$WORK/err")"
  elif [ "$errors" -ne 1 ]; then fail "$name" "$errors error lines: $(cat "$WORK/err")"
  elif ! grep -qF -- "$expected" "$WORK/err"; then fail "$name" "message lacks '$expected': $(cat "$WORK/err")"
  elif [ -e "$WORK/metrics.jsonl" ]; then fail "$name" "metrics file written"
  else pass "$name ($(grep "sprig: error:" "$WORK/err" | cut -c1-150))"
  fi
}

# variant NAME: a copy of the good data directory to damage.
variant() { rm -rf "$WORK/$1"; cp -r "$good" "$WORK/$1"; echo "$WORK/$1"; }
train() { "$SPRIG" train --config "$WORK/tiny.yaml" --metrics-out "$WORK/metrics.jsonl" "$@"; }

# The good data trains (the cases below differ from it in one thing only).
if train --data "$good" >"$WORK/out" 2>&1 && [ -s "$WORK/metrics.jsonl" ]; then pass "good data trains"; else fail "good data trains" "$(cat "$WORK/out")"; fi

expect_error "missing data directory" "$WORK/nowhere" train --data "$WORK/nowhere"

d=$(variant missing); rm "$d/t10k-labels-idx1-ubyte"
expect_error "missing data file" "$d/t10k-labels-idx1-ubyte: missing data file" train --data "$d"

d=$(variant truncated); head -c 1000 "$good/train-images-idx3-ubyte" > "$d/train-images-idx3-ubyte"
expect_error "truncated IDX file" "$d/train-images-idx3-ubyte: truncated IDX file" train --data "$d"

d=$(variant header); head -c 6 "$good/t10k-images-idx3-ubyte" > "$d/t10k-images-idx3-ubyte"
expect_error "truncated IDX header" "$d/t10k-images-idx3-ubyte: truncated IDX file" train --data "$d"

d=$(variant magic); printf 'PK\003\004' | dd of="$d/train-labels-idx1-ubyte" bs=1 conv=notrunc status=none
expect_error "wrong IDX magic" "$d/train-labels-idx1-ubyte: not an IDX file" train --data "$d"

d=$(variant gz); gzip -c "$good/train-images-idx3-ubyte" | head -c 2000 > "$d/train-images-idx3-ubyte.gz"; rm "$d/train-images-idx3-ubyte"
expect_error "truncated gzip" "$d/train-images-idx3-ubyte.gz: truncated gzip stream" train --data "$d"

d=$(variant count); python3 - "$d/train-labels-idx1-ubyte" <<'PY'
import struct, sys
path = sys.argv[1]
data = open(path, "rb").read()
n = struct.unpack(">I", data[4:8])[0] - 1
open(path, "wb").write(data[:4] + struct.pack(">I", n) + data[8:8 + n])
PY
expect_error "images and labels of different counts" "$d/train-labels-idx1-ubyte: holds 399 labels but $d/train-images-idx3-ubyte holds 400 images" train --data "$d"

d=$(variant label); printf '\014' | dd of="$d/t10k-labels-idx1-ubyte" bs=1 seek=20 conv=notrunc status=none
expect_error "label out of range" "$d/t10k-labels-idx1-ubyte: label 12 at index 12 is out of range 0..<10" train --data "$d"

printf 'model: {mlp: [64, 16, 10]}\nbatch_size: 20\noptimiser: {lr: 0.1}\n' > "$WORK/unknown.yaml"
expect_error "unknown config key" "$WORK/unknown.yaml: unknown key 'optimiser'" "$SPRIG" train --config "$WORK/unknown.yaml" --data "$good" --metrics-out "$WORK/metrics.jsonl"

printf 'model: {mlp: [64, 16, 10]}\nbatch_size: 20\noptimizer: {lr: 0.1, nesterov: maybe}\n' > "$WORK/nested.yaml"
expect_error "bad nested value" "$WORK/nested.yaml: optimizer.nesterov: must be true or false, got 'maybe'" "$SPRIG" train --config "$WORK/nested.yaml" --data "$good" --metrics-out "$WORK/metrics.jsonl"

printf 'model: {mlp: [64, 16, 10]}\nbatch_size: 20\noptimizer: {lr: -0.5}\n' > "$WORK/negative.yaml"
expect_error "negative learning rate in the config" "$WORK/negative.yaml: optimizer.lr: must be positive, got -0.5" "$SPRIG" train --config "$WORK/negative.yaml" --data "$good" --metrics-out "$WORK/metrics.jsonl"

expect_error "negative learning rate as a flag" "sprig: error: --lr: must be positive, got -0.1" train --data "$good" --lr=-0.1
expect_error "negative learning rate as a separate flag value" "sprig: error: --lr: must be positive, got -0.1" train --data "$good" --lr -0.1
expect_error "zero epochs as a flag" "sprig: error: --epochs: must be at least 1, got 0" train --data "$good" --epochs 0
expect_error "negative epochs as a flag" "sprig: error: --epochs: must be at least 1, got -1" train --data "$good" --epochs -1
expect_error "zero threads" "sprig: error: --threads must be at least 1, got 0" train --data "$good" --threads 0
expect_error "an unknown flag" "sprig: error: Unknown option '--bogus'" train --data "$good" --bogus
expect_error "a flag without its value" "sprig: error: Missing value for '--seed <seed>'" train --data "$good" --seed
expect_error "a batch size that the default micro-batches do not divide blames the flag" \
  "sprig: error: --batch-size: 7 is not divisible by microbatches 4 (the default)" "$SPRIG" train --data "$good" --batch-size 7
expect_error "micro-batches that do not divide the config's batch" \
  "sprig: error: --microbatches: 3 does not divide batch_size 20 (set in $WORK/tiny.yaml)" train --data "$good" --microbatches 3
expect_error "--set of an unknown key" "sprig: error: --set sparsity.metod=set: unknown key 'sparsity.metod'" \
  train --data "$good" --set sparsity.metod=set
expect_error "--set of an impossible value" "sprig: error: --set optimizer.lr=-1: must be positive, got -1.0" \
  train --data "$good" --set optimizer.lr=-1
expect_error "--set without a value" "sprig: error: --set: expected key=value" train --data "$good" --set epochs
expect_error "--resume with --config" "sprig: error: --config $WORK/tiny.yaml cannot be combined with --resume" \
  train --data "$good" --resume "$WORK/any.ckpt"
# Outputs are checked before training: a run must not train and then lose its result.
expect_error "--weights-out into a missing folder" "sprig: error: $WORK/no/w.safetensors: --weights-out: the folder $WORK/no does not exist" \
  train --data "$good" --weights-out "$WORK/no/w.safetensors"
expect_error "--checkpoint into a missing folder" "sprig: error: $WORK/no/c.ckpt: --checkpoint: the folder $WORK/no does not exist" \
  train --data "$good" --checkpoint "$WORK/no/c.ckpt"
expect_error "--checkpoint-keep 0" "--checkpoint-keep: must be at least 1, got 0" train --data "$good" --checkpoint-keep 0
expect_error "--checkpoint-every-minutes -1" "--checkpoint-every-minutes: must be a non-negative number" \
  train --data "$good" --checkpoint-every-minutes -1
expect_error "--auto-resume without --checkpoint" "--auto-resume needs --checkpoint PATH" train --data "$good" --auto-resume
# --auto-resume on a checkpoint of another run: refused, naming the file and the line that differs
train --data "$good" --checkpoint "$WORK/auto.ckpt" >/dev/null 2>&1
expect_error "--auto-resume on another config's checkpoint" "$WORK/auto.ckpt: --auto-resume: holds a run of another config" \
  train --data "$good" --checkpoint "$WORK/auto.ckpt" --auto-resume --lr 0.05
expect_error "--resume of a damaged checkpoint with none before it" "$WORK/damaged.ckpt: not a valid checkpoint" \
  bash -c 'head -c 2000 "$1" > "$2" && exec "${@:3}"' _ "$WORK/auto.ckpt" "$WORK/damaged.ckpt" "$SPRIG" train --resume "$WORK/damaged.ckpt" --data "$good"
expect_error "--metrics-out into a missing folder" "sprig: error: $WORK/no/m.jsonl: --metrics-out: the folder $WORK/no does not exist" \
  "$SPRIG" train --config "$WORK/tiny.yaml" --data "$good" --metrics-out "$WORK/no/m.jsonl"
expect_error "--weights-out that is a folder" "sprig: error: $WORK: --weights-out: is a directory, not a file" \
  train --data "$good" --weights-out "$WORK"
expect_error "--pictures that is a file" "sprig: error: $WORK/tiny.yaml: --pictures: exists and is not a directory" \
  train --data "$good" --pictures "$WORK/tiny.yaml"
expect_error "sprig prune --weights-out into a missing folder" "sprig: error: $WORK/no/p.safetensors: --weights-out: the folder $WORK/no does not exist" \
  "$SPRIG" prune --config "$WORK/tiny.yaml" --data "$good" --weights-out "$WORK/no/p.safetensors"
# NNrelief's settings (the config's nnrelief: section, sprig prune's flags)
{ cat "$WORK/tiny.yaml"; printf 'nnrelief: {rounds: 2, keep: best_validation}\n'; } > "$WORK/relief.yaml"
expect_error "nnrelief keep: best_validation without a validation set" \
  "sprig: error: $WORK/relief.yaml: nnrelief.keep: best_validation needs a validation set" \
  "$SPRIG" prune --config "$WORK/relief.yaml" --data "$good"
{ cat "$WORK/tiny.yaml"; printf 'nnrelief: {rounds: 2, alpha: 0.9}\n'; } > "$WORK/relief-key.yaml"
expect_error "an unknown nnrelief key" "sprig: error: $WORK/relief-key.yaml: unknown key 'nnrelief.alpha'" \
  "$SPRIG" prune --config "$WORK/relief-key.yaml" --data "$good"
{ cat "$WORK/tiny.yaml"; printf 'nnrelief: {rounds: 0}\n'; } > "$WORK/relief-rounds.yaml"
expect_error "nnrelief rounds: 0" "sprig: error: $WORK/relief-rounds.yaml: nnrelief.rounds: must be at least 1, got 0" \
  "$SPRIG" prune --config "$WORK/relief-rounds.yaml" --data "$good"
expect_error "sprig prune --iterations 0 names the flag" "sprig: error: --iterations: must be at least 1, got 0" \
  "$SPRIG" prune --config "$WORK/tiny.yaml" --data "$good" --iterations 0
expect_error "sprig train of a config with an nnrelief: section" "sprig: error: $WORK/relief.yaml: nnrelief: is read by sprig prune" \
  "$SPRIG" train --config "$WORK/relief.yaml" --data "$good"
{ cat "$WORK/tiny.yaml"; printf 'normalize: maybe\n'; } > "$WORK/normalize.yaml"
expect_error "normalize: maybe" "sprig: error: $WORK/normalize.yaml: normalize:" "$SPRIG" train --config "$WORK/normalize.yaml" --data "$good"
# not an error: the flags are applied before the values are checked
"$SPRIG" train --config "$WORK/tiny.yaml" --data "$good" --set sparsity.method=rigl --sparsity 0.5 --max-steps 1 >"$WORK/out" 2>&1
check_code "--set sparsity.method=rigl with --sparsity 0.5 trains (the sparsity checked after the flags)" $? "$(tail -1 "$WORK/out")"
expect_error "--set sparsity.method=rigl without a sparsity" "sparsity.sparsity: method rigl needs a sparsity above 0" \
  "$SPRIG" train --config "$WORK/tiny.yaml" --data "$good" --set sparsity.method=rigl
expect_error "sprig eval of a text file" "sprig: error: $ROOT/README.md: not a safetensors file" "$SPRIG" eval "$ROOT/README.md"
"$SPRIG" --version >"$WORK/version" 2>&1
code=$?
check "sprig --version prints the version and exits 0 (exit $code: $(head -1 "$WORK/version"))" \
  test "$code" -eq 0 -a -n "$(grep -E '^[0-9]+\.[0-9]+\.[0-9]+$' "$WORK/version")"
printf 'model: {mlp: [64, 2000000, 2000000, 10]}\nepochs: 1\nbatch_size: 20\n' > "$WORK/huge.yaml"
expect_error "a model that cannot fit, refused with the estimate" "$WORK/huge.yaml: model: mlp-64-2000000-2000000-10 needs about" "$SPRIG" train --config "$WORK/huge.yaml" --data "$good" --metrics-out "$WORK/metrics.jsonl"
printf 'model: {mlp: [64, 400000, 10]}\nepochs: 1\nbatch_size: 20\nmicrobatches: 4\nsparsity: {method: rigl, distribution: er, sparsity: 0.9999, tile_budget_mb: 1}\n' > "$WORK/tile.yaml"
expect_error "a tile budget too small for one row" "$WORK/tile.yaml: sparsity.tile_budget_mb: 1 MB holds no row of fc2.weight's dense gradient" "$SPRIG" train --config "$WORK/tile.yaml" --data "$good" --metrics-out "$WORK/metrics.jsonl"
expect_error "missing config file" "$WORK/none.yaml: no such config file" "$SPRIG" train --config "$WORK/none.yaml"
expect_error "model that does not fit the data" "--set model={mlp: [784, 300, 100, 10]}: mlp 784-300-100-10 cannot take the data: it takes 784 input features; the data's examples are 1x8x8 (64 features) of 10 classes" \
  "$SPRIG" train --config "$ROOT/configs/lenet300-dense.yaml" --set 'model={mlp: [784, 300, 100, 10]}' --data "$good" --metrics-out "$WORK/metrics.jsonl"

# Under mpirun: a batch the ranks cannot share ends every rank, with one message.
expect_error "batch not divisible by the number of ranks (mpirun -np 3)" "batch_size: 20 is not divisible by the number of ranks (3)" \
  "$MPIRUN" 3 train --config "$WORK/tiny.yaml" --data "$good" --metrics-out "$WORK/metrics.jsonl"
d=$(variant mpi-label); printf '\014' | dd of="$d/t10k-labels-idx1-ubyte" bs=1 seek=20 conv=notrunc status=none
expect_error "bad data under mpirun -np 2" "$d/t10k-labels-idx1-ubyte: label 12" "$MPIRUN" 2 train --config "$WORK/tiny.yaml" --data "$d" --metrics-out "$WORK/metrics.jsonl"

expect_error "compare: missing file" "$WORK/a.safetensors: no such file" "$SPRIG" compare "$WORK/a.safetensors" "$WORK/b.safetensors"

# CIFAR binary files and NumPy arrays: each damaged folder, written by NumPy from the good
# IDX data (8 x 8 images as 1 x 8 x 8, or padded into CIFAR's 3 x 32 x 32 records).
PY="$(numpy_python)" || fail "NumPy from PyPI for the npz cases"
"$PY" - "$good" "$WORK/bad" <<'PY'
import os, struct, sys
import numpy as np
good, out = sys.argv[1:]
def idx(name):
    raw = open(os.path.join(good, name), "rb").read()
    dims = struct.unpack(">" + "I" * raw[3], raw[4:4 + 4 * raw[3]])
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * raw[3]).reshape(dims)
x, y = idx("train-images-idx3-ubyte")[:, None], idx("train-labels-idx1-ubyte").astype(np.int64)
tx, ty = idx("t10k-images-idx3-ubyte")[:, None], idx("t10k-labels-idx1-ubyte").astype(np.int64)
def npz(case, train, test):
    os.makedirs(f"{out}/{case}", exist_ok=True)
    for name, arrays in (("train", train), ("test", test)):
        np.savez(f"{out}/{case}/{name}.npz", **arrays)
npz("npz-good", {"x": x, "y": y}, {"x": tx, "y": ty})
npz("npz-no-y", {"x": x}, {"x": tx, "y": ty})
npz("npz-int16", {"x": x.astype(np.int16), "y": y}, {"x": tx, "y": ty})
npz("npz-count", {"x": x, "y": y[:-1]}, {"x": tx, "y": ty})
npz("npz-shape", {"x": x, "y": y}, {"x": np.pad(tx, ((0, 0), (0, 0), (0, 0), (0, 1))), "y": ty})
xf = x.reshape(len(x), -1).astype(np.float32) / 255
xf[3, 5] = np.nan
npz("npz-nan", {"x": xf, "y": y}, {"x": tx.reshape(len(tx), -1).astype(np.float32) / 255, "y": ty})
npz("npz-negative", {"x": x, "y": np.where(np.arange(len(y)) == 7, -1, y)}, {"x": tx, "y": ty})
npz("npz-flat", {"x": x.reshape(len(x), -1), "y": y}, {"x": tx.reshape(len(tx), -1), "y": ty})
os.makedirs(f"{out}/npz-text", exist_ok=True)
open(f"{out}/npz-text/train.npz", "w").write("x,y\n1,2\n")
np.savez(f"{out}/npz-text/test.npz", x=tx, y=ty)
def records(images, labels):
    padded = np.zeros((len(images), 3, 32, 32), np.uint8)
    padded[:, :, 12:20, 12:20] = images
    return np.concatenate([np.asarray(labels, np.uint8).reshape(len(images), -1), padded.reshape(len(images), -1)], axis=1).tobytes()
def cifar10(case, train_labels=y, test_labels=ty, cut=0, test=True):
    os.makedirs(f"{out}/{case}", exist_ok=True)
    half = len(x) // 2
    data = records(x, train_labels)
    open(f"{out}/{case}/data_batch_1.bin", "wb").write(data[:half * 3073])
    open(f"{out}/{case}/data_batch_2.bin", "wb").write(data[half * 3073:len(data) - cut])
    if test: open(f"{out}/{case}/test_batch.bin", "wb").write(records(tx, test_labels))
cifar10("cifar10-good")
cifar10("cifar10-cut", cut=1000)
cifar10("cifar10-label", train_labels=np.where(np.arange(len(y)) == 250, 10, y))
cifar10("cifar10-no-test", test=False)
cifar10("cifar10-gap")
os.rename(f"{out}/cifar10-gap/data_batch_2.bin", f"{out}/cifar10-gap/data_batch_3.bin")
os.rename(f"{out}/cifar10-gap", f"{out}/cifar10-huge")
os.remove(f"{out}/cifar10-huge/data_batch_3.bin")
open(f"{out}/cifar10-huge/data_batch_1.bin", "wb").write(records(x, y))
open(f"{out}/cifar10-huge/data_batch_99999999999999999.bin", "wb").write(records(x[:1], y[:1]))
cifar10("cifar10-gap")
os.rename(f"{out}/cifar10-gap/data_batch_2.bin", f"{out}/cifar10-gap/data_batch_3.bin")
npz("npz-huge-label", {"x": x, "y": np.where(np.arange(len(y)) == 9, 2**31 - 1, y)}, {"x": tx, "y": ty})
os.makedirs(f"{out}/idx-empty-rows", exist_ok=True)
for name, dims, body in (("train-images-idx3-ubyte", [len(y), 0, 8], b""), ("train-labels-idx1-ubyte", [len(y)], y.astype(np.uint8).tobytes()),
                         ("t10k-images-idx3-ubyte", [len(ty), 8, 8], tx.tobytes()), ("t10k-labels-idx1-ubyte", [len(ty)], ty.astype(np.uint8).tobytes())):
    open(f"{out}/idx-empty-rows/{name}", "wb").write(bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + body)
os.makedirs(f"{out}/cifar100-label", exist_ok=True)
open(f"{out}/cifar100-label/train.bin", "wb").write(records(x, np.stack([y // 2, y], 1)))
open(f"{out}/cifar100-label/test.bin", "wb").write(records(tx, np.stack([ty // 2, np.where(np.arange(len(ty)) == 1, 100, ty)], 1)))
PY
code=$?
check_code "NumPy writes the damaged CIFAR and npz folders" "$code"
bad="$WORK/bad"
if train --data "$bad/npz-good" >"$WORK/out" 2>&1 && [ -s "$WORK/metrics.jsonl" ]; then pass "the good data as npz trains"; else fail "the good data as npz trains" "$(tail -2 "$WORK/out")"; fi
rm -f "$WORK/metrics.jsonl"
if train --data "$bad/cifar10-good" --set 'model={mlp: [3072, 16, 10]}' >"$WORK/out" 2>&1 && [ -s "$WORK/metrics.jsonl" ]; then pass "the good data in CIFAR-10 records trains"; else fail "the good data in CIFAR-10 records trains" "$(tail -2 "$WORK/out")"; fi
expect_error "CIFAR-10 file cut inside a record" "$bad/cifar10-cut/data_batch_2.bin: 613600 bytes is not a whole number of 3073-byte records" \
  train --data "$bad/cifar10-cut" --set 'model={mlp: [3072, 16, 10]}'
expect_error "CIFAR-10 label out of range" "$bad/cifar10-label/data_batch_2.bin: label 10 of record 50 is out of range 0..<10" \
  train --data "$bad/cifar10-label" --set 'model={mlp: [3072, 16, 10]}'
expect_error "CIFAR-10 without its test file" "$bad/cifar10-no-test/test_batch.bin: missing data file" train --data "$bad/cifar10-no-test"
expect_error "CIFAR-10 with a training batch missing" "$bad/cifar10-gap/data_batch_2.bin: missing data file (data_batch_3.bin is there" \
  train --data "$bad/cifar10-gap"
expect_error "CIFAR-100 fine label out of range" "$bad/cifar100-label/test.bin: fine label 100 of record 1 is out of range 0..<100" \
  train --data "$bad/cifar100-label"
expect_error "npz without y" "$bad/npz-no-y/train.npz: holds no array 'y' (it holds x;" train --data "$bad/npz-no-y"
expect_error "npz with int16 examples" "$bad/npz-int16/train.npz: x is int16 ('<i2'): Sprig reads uint8 or float32 (or float64) examples" \
  train --data "$bad/npz-int16"
expect_error "npz with fewer labels than examples" "$bad/npz-count/train.npz: x holds 400 examples but y holds 399 labels" train --data "$bad/npz-count"
expect_error "npz whose test examples have another shape" "$bad/npz-shape/test.npz: x's examples are 1x8x9, train.npz's are 1x8x8" \
  train --data "$bad/npz-shape"
expect_error "npz with a NaN" "$bad/npz-nan/train.npz: x holds nan in example 3: values must be finite" train --data "$bad/npz-nan"
expect_error "npz with a negative label" "$bad/npz-negative/train.npz: label -1 at index 7 is out of range" train --data "$bad/npz-negative"
expect_error "a text file named train.npz" "$bad/npz-text/train.npz: not an .npz file" train --data "$bad/npz-text"
mkdir -p "$WORK/nothing" && touch "$WORK/nothing/readme.txt"
expect_error "a folder of no known format" "$WORK/nothing: holds no data set Sprig reads" train --data "$WORK/nothing"
cp "$bad"/npz-good/*.npz "$bad/cifar10-good/"
expect_error "a folder of two formats" "$bad/cifar10-good: holds files of several formats (cifar10, npz): say which with data: {path:" \
  train --data "$bad/cifar10-good"
expect_error "an unknown data.format" "--set data.format=cifar: data.format: unknown format 'cifar' (known: idx, cifar10, cifar100, npz)" \
  train --data "$good" --set data.format=cifar
expect_error "data.label on CIFAR-10 data" "--set data.label=coarse: applies to CIFAR-100 data only; $bad/cifar10-good holds cifar10 data" \
  train --data "$bad/cifar10-good" --set data.format=cifar10 --set data.label=coarse
expect_error "crops and flips of flat features" "--set augment={horizontal_flip: true}: crops and flips need images; the data's examples are 64 flat features" \
  train --data "$bad/npz-flat" --set 'augment={horizontal_flip: true}'
expect_error "a crop padding as large as the images" "--set augment={random_crop: {padding: 8}}: 8 is not below the images' 8 x 8" \
  train --data "$good" --set 'augment={random_crop: {padding: 8}}'
expect_error "a conv net too large for the images" "--set model=lenet-5: lenet-5 (net 1x8x8 conv6@5x5p2-pool2-conv16@5x5-pool2-fc120-fc84-fc10) cannot take the data: conv2 (5x5, padding 0) gets 6x4x4 inputs" \
  train --data "$good" --set model=lenet-5
expect_error "a model with other classes than the data" "--set model={mlp: [64, 16, 4]}: mlp 64-16-4 gives 4 classes; the data's examples are 1x8x8 (64 features) of 10 classes" \
  train --data "$good" --set 'model={mlp: [64, 16, 4]}'
expect_error "sprig data of a damaged folder" "$bad/npz-count/train.npz: x holds 400 examples but y holds 399 labels" "$SPRIG" data "$bad/npz-count"
expect_error "a stray training batch of a huge number" "$bad/cifar10-huge/data_batch_2.bin: missing data file (data_batch_99999999999999999.bin is there" \
  "$SPRIG" data "$bad/cifar10-huge"
expect_error "an npz label that would make 2^31 classes" "$bad/npz-huge-label/train.npz: label 2147483647 at index 9 would make 2147483648 classes (at most 1048576)" \
  "$SPRIG" data "$bad/npz-huge-label"
expect_error "IDX images of no pixels" "$bad/idx-empty-rows/train-images-idx3-ubyte: images of 0 x 8 pixels hold no values" \
  train --data "$bad/idx-empty-rows"
expect_error "sprig data --label on CIFAR-10 names the flag" "sprig: error: --label: applies to CIFAR-100 data only" \
  "$SPRIG" data "$bad/cifar10-good" --format cifar10 --label coarse
expect_error "--data naming a file" "$bad/npz-good/train.npz: is a file; --data and data: name the folder that holds the data files" \
  train --data "$bad/npz-good/train.npz"

expect_error "unknown --weights-format" "--weights-format: unknown weights format 'csr' (known: dense, sparse, auto)" \
  train --data "$good" --weights-format csr --weights-out "$WORK/never.safetensors"
# A sparse weight file whose CSR columns are out of order in one row is refused by sprig eval.
printf 'model: {mlp: [64, 16, 10]}\nepochs: 1\nbatch_size: 20\nsparsity: {method: static, sparsity: 0.8}\n' > "$WORK/sparse.yaml"
"$SPRIG" train --config "$WORK/sparse.yaml" --data "$good" --weights-format sparse --weights-out "$WORK/csr.safetensors" >"$WORK/out" 2>&1
python3 - "$WORK/csr.safetensors" "$WORK/bad-csr.safetensors" <<'PY' >"$WORK/swap" 2>&1
import json, struct, sys
blob = bytearray(open(sys.argv[1], "rb").read())
n = struct.unpack("<Q", blob[:8])[0]
header = json.loads(blob[8:8 + n])
def ints(name):
    a, b = header[name]["data_offsets"]
    return 8 + n + a, struct.unpack(f"<{(b - a) // 8}q", blob[8 + n + a:8 + n + b])
_, crow = ints("fc1.weight.crow_indices")
start, _ = ints("fc1.weight.col_indices")
row = next(r for r in range(len(crow) - 1) if crow[r + 1] - crow[r] >= 2)
k = start + 8 * crow[row]
blob[k:k + 16] = blob[k + 8:k + 16] + blob[k:k + 8]
open(sys.argv[2], "wb").write(blob)
print(row)
PY
expect_error "sprig eval of a sparse file with unordered columns" \
  "$WORK/bad-csr.safetensors: sparse weight fc1.weight: the columns of row $(cat "$WORK/swap") are not ascending" \
  "$SPRIG" eval "$WORK/bad-csr.safetensors"

# Models given as layer lists, and conv nets that cannot take the data (8 x 8 images here)
layers() { printf 'model:\n  layers: %s\nepochs: 1\nbatch_size: 20\n' "$1" > "$WORK/layers.yaml"; }
layers '[{conv: {channels: 4, kernel: 3}}, {residual: {name: b, body: [{conv: {channels: 8, kernel: 3, padding: 1}}]}}, global_avg_pool, {linear: {outputs: 10}}]'
expect_error "a residual block whose body and shortcut differ" "model: graph 1x8x8 conv4@3x3-[conv8@3x3p1+id]-gap-fc10 cannot take the data: b's body gives 8x6x6 features, its shortcut 4x6x6" \
  "$SPRIG" train --config "$WORK/layers.yaml" --data "$good" --metrics-out "$WORK/metrics.jsonl"
layers '[{conv: {channels: 4, kernel: 3}}, {batch_norm: x}, {batch_norm: x}, global_avg_pool, {linear: {outputs: 10}}]'
expect_error "a layer name used twice" "$WORK/layers.yaml: model.layers[2]: the name 'x' is used twice" \
  "$SPRIG" train --config "$WORK/layers.yaml" --data "$good" --metrics-out "$WORK/metrics.jsonl"
layers '[{residual: {name: b, body: [{conv: {channels: 1, kernel: 3, padding: 1}}, relu]}}, global_avg_pool, {linear: {outputs: 10}}]'
expect_error "a block's body ending in relu" "$WORK/layers.yaml: model.layers[0].residual.body: may not start or end with relu" \
  "$SPRIG" train --config "$WORK/layers.yaml" --data "$good" --metrics-out "$WORK/metrics.jsonl"
layers '[{conv: {channels: 4, kernel: 3}}, global_avg_pool, {linear: {outputs: 7}}]'
expect_error "a layer list of 7 classes on data of 10" "gives 7 classes; the data's examples are 1x8x8 (64 features) of 10 classes" \
  "$SPRIG" train --config "$WORK/layers.yaml" --data "$good" --metrics-out "$WORK/metrics.jsonl"
expect_error "vgg-16 on 8 x 8 images" "cannot take the data: a 2x2 pooling gets 512x1x1 inputs" train --data "$good" --set model=vgg-16
finish
