#!/usr/bin/env bash
# The data formats Sprig reads, on real MNIST written in each of them by NumPy
# (Tests/scripts/make_formats.py: padded to 32 x 32 with three distinct channels for the
# CIFAR layouts):
# - `sprig data` reads every folder to the values and labels NumPy wrote (CRC-32 of each
#   set): npz (uint8 N x 1 x 28 x 28, int64), npz with float32 N x 784, npz with N x H x W x C
#   and data: {layout: nhwc}, CIFAR-10 binary (through the cifar-10-batches-bin folder of a
#   download), CIFAR-100 binary with fine and with coarse labels;
# - MNIST as npz trains LeNet-5 to the same bits as MNIST from IDX (one epoch: weights,
#   masks, losses, accuracies);
# - float32 features train (LeNet-300-100, one epoch of the float npz, >= 90%);
# - a run on CIFAR-10-format files exports the per-channel normalisation (NumPy's channel
#   means and deviations of the training files), and a NumPy forward pass with it
#   reproduces `sprig eval`'s accuracy on those files;
# - CIFAR-100's coarse labels train a 20-class model; the run reports the data path's share.
#
#   Tests/scripts/data-formats.sh [MNIST_DIR]        (DIGESTS_ONLY=1: the sprig data checks alone)
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
DATA="${1:-$ROOT/data/mnist}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

start=$SECONDS
FORMATS="$(mnist_formats "$DATA")"
code=$?
check_code "MNIST written as npz, float npz, NHWC npz, CIFAR-10 and CIFAR-100 files by NumPy ($((SECONDS - start)) s)" "$code"
[ "$code" -eq 0 ] || { finish; exit 1; }
PY="$(numpy_python)"

# digests FOLDER [sprig data flags]: sprig data's CRC-32s of FOLDER against NumPy's
digests() {
  local name="$1" dir="$FORMATS/${1%-coarse}" out code expected got; shift
  out="$("$SPRIG" data "$dir" "$@" 2>&1)"
  code=$?
  expected="$(grep "^$name " "$FORMATS/crc.txt" | awk '{print $2, $3, $4}')"
  got="$(echo "$out" | sed -nE 's/^(train|test): .*values crc32 (0x[0-9a-f]+), labels crc32 (0x[0-9a-f]+)$/\1 \2 \3/p')"
  if [ "$code" -eq 0 ] && [ -n "$expected" ] && [ "$got" = "$expected" ]; then
    pass "sprig data $name$([ $# -gt 0 ] && echo " ($*)"): the values and labels NumPy wrote ($(echo "$out" | grep '^train:' | cut -d, -f1))"
  else
    fail "sprig data $name: the values and labels NumPy wrote" "exit $code; expected [$(echo $expected)], got [$(echo $got)]: $(echo "$out" | tail -2)"
  fi
}
digests npz
digests npz-float
digests npz-nhwc --layout nhwc
digests cifar10
digests cifar100
digests cifar100-coarse --label coarse
"$SPRIG" data "$FORMATS/npz-nhwc" >"$WORK/nchw" 2>&1
code=$?
nhwc_crc="$(grep '^npz-nhwc train' "$FORMATS/crc.txt" | awk '{print $3}')"
check "the NHWC arrays read without data.layout are other values (the layout matters; exit $code)" \
  test "$code" -eq 0 -a -n "$nhwc_crc" -a -n "$(grep -E '^train: 60000 examples of 32x32x3 uint8, values crc32 0x' "$WORK/nchw")" \
  -a -z "$(grep -F "$nhwc_crc" "$WORK/nchw")"

# DIGESTS_ONLY=1 stops here (Tests/scripts/mutations.sh).
[ -z "${DIGESTS_ONLY:-}" ] || { finish; exit; }

# MNIST as npz trains LeNet-5 to the bits of MNIST from IDX.
cat > "$WORK/lenet5.yaml" <<YAML
model: lenet-5
epochs: 1
batch_size: 100
sparsity: {method: rigl, distribution: erk, sparsity: 0.9, delta_t: 100}
YAML
for d in idx npz; do
  dir="$DATA"; [ "$d" = npz ] && dir="$FORMATS/npz"
  "$SPRIG" train --config "$WORK/lenet5.yaml" --data "$dir" --weights-out "$WORK/$d.safetensors" --metrics-out "$WORK/$d.jsonl" >"$WORK/$d.log" 2>&1
  code=$?
  check_code "LeNet-5 (RigL, ERK 90%) trains one epoch on MNIST from $d" "$code" "$(tail -2 "$WORK/$d.log")"
done
same_weights "MNIST as npz trains LeNet-5 to the weights and masks of MNIST from IDX" "$WORK/idx.safetensors" "$WORK/npz.safetensors"
same_metrics "MNIST as npz: the losses, accuracies and mask updates of MNIST from IDX" "$WORK/idx.jsonl" "$WORK/npz.jsonl"
check "the npz run says what it read ($(grep -m1 '^sprig: data:' "$WORK/npz.log" | cut -c1-110))" \
  grep -q "^sprig: data: NumPy .npz in $FORMATS/npz: 60000 training and 10000 test examples of 1x28x28 uint8, 10 classes" "$WORK/npz.log"

# Float features: LeNet-300-100 on the float32 npz (10,000 training examples), one epoch.
"$SPRIG" train --config "$ROOT/configs/lenet300-dense.yaml" --data "$FORMATS/npz-float" --epochs 1 \
  --metrics-out "$WORK/float.jsonl" >"$WORK/float.log" 2>&1
code=$?
accuracy="$(grep -o '"test_accuracy": [0-9.]*' "$WORK/float.jsonl" 2>/dev/null | tail -1 | cut -d' ' -f2)"
check "float32 features train: LeNet-300-100 on 10,000 float MNIST examples, one epoch >= 90% (exit $code, ${accuracy:-none})" \
  "$PY" -c "import sys; sys.exit(0 if $code == 0 and float('${accuracy:-0}') >= 0.90 else 1)"

# CIFAR-10-format files: per-channel normalisation in the export, reproduced by NumPy.
"$SPRIG" train --config "$ROOT/configs/lenet300-dense.yaml" --data "$FORMATS/cifar10" --max-steps 300 --lr 0.02 \
  --set 'augment={random_crop: {padding: 4}, horizontal_flip: true}' --weights-out "$WORK/c10.safetensors" >"$WORK/c10.log" 2>&1
code=$?
check_code "LeNet-300-100 trains 300 augmented steps on CIFAR-10-format files (fc1 3072 x 300; $(grep -o 'test_accuracy [0-9.]*%' "$WORK/c10.log" | tail -1))" "$code" "$(tail -2 "$WORK/c10.log")"
check "the header says what was read and how it is augmented" \
  grep -q "^sprig: augment: random crop with padding 4, horizontal flip (training batches)" "$WORK/c10.log"
share="$(sed -nE 's/^data path: ([0-9.]+)% of the training time.*/\1/p' "$WORK/c10.log")"
check "the run reports the data path's share of the training time (${share:-none}%)" test -n "$share"
eval_line="$("$SPRIG" eval "$WORK/c10.safetensors" --data "$FORMATS/cifar10")"
code=$?
check_code "sprig eval reads the CIFAR-10-format export ($eval_line)" "$code"
"$PY" - "$WORK/c10.safetensors" "$FORMATS/cifar10/cifar-10-batches-bin" "$eval_line" <<'PY' >"$WORK/py.log" 2>&1
import glob, json, sys
import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file
path, folder, eval_line = sys.argv[1:]
t = load_file(path)
with safe_open(path, framework="numpy") as f:
    meta = f.metadata()
mean, std = np.float32(json.loads(meta["input_mean"])), np.float32(json.loads(meta["input_std"]))
# the metadata's statistics are the training set's, channel by channel, as NumPy computes them
train = np.concatenate([np.fromfile(b, np.uint8).reshape(-1, 3073)[:, 1:] for b in sorted(glob.glob(f"{folder}/data_batch_*.bin"))])
channels = train.reshape(len(train), 3, 1024).transpose(1, 0, 2).reshape(3, -1) / 255.0
assert np.allclose(mean, channels.mean(1), rtol=0, atol=1e-6) and np.allclose(std, channels.std(1), rtol=0, atol=1e-6), (mean, std, channels.mean(1), channels.std(1))
test = f"{folder}/test_batch.bin"
assert meta["data_format"] == "cifar10" and meta["data_shape"] == "[3, 32, 32]" and meta["input_shape"] == "[3072]", meta
assert len(mean) == 3 and meta["classes"] == "10" and json.loads(meta["class_names"])[0] == "zero", meta
records = np.fromfile(test, np.uint8).reshape(-1, 3073)
labels, pixels = records[:, 0], records[:, 1:].reshape(-1, 3, 1024)
tables = (np.arange(256, dtype=np.float32) / np.float32(255) - mean[:, None]) / std[:, None]
x = np.stack([tables[c][pixels[:, c]] for c in range(3)], axis=1).reshape(len(labels), -1)
h = np.maximum(x @ t["fc1.weight"].T + t["fc1.bias"], 0)
h = np.maximum(h @ t["fc2.weight"].T + t["fc2.bias"], 0)
accuracy = float(np.mean((h @ t["fc3.weight"].T + t["fc3.bias"]).argmax(1) == labels))
ours = float(eval_line.split()[1])
print(f"numpy {accuracy:.4f}, sprig eval {ours:.4f}")
sys.exit(0 if abs(accuracy - ours) <= 0.0005 and ours > 0.5 else 1)  # a model that learned: its predictions vary
PY
code=$?
check_code "NumPy with the metadata's per-channel normalisation reproduces sprig eval on CIFAR-10-format files ($(tail -1 "$WORK/py.log"))" "$code"

# CIFAR-100's coarse labels: a 20-class model.
"$SPRIG" train --config "$ROOT/configs/lenet300-dense.yaml" --data "$FORMATS/cifar100" --set data.label=coarse --max-steps 50 >"$WORK/c100.log" 2>&1
code=$?
check_code "CIFAR-100-format files train on the coarse labels (exit code)" "$code" "$(tail -2 "$WORK/c100.log")"
check "with data.label coarse the model has 20 outputs ($(grep -o 'mlp 3072-300-100-[0-9]*' "$WORK/c100.log" | head -1))" \
  grep -q "mlp 3072-300-100-20" "$WORK/c100.log"
finish
