#!/usr/bin/env bash
# Accuracy floors on real MNIST, one process:
# - dense LeNet-300-100 reaches at least 98.0% test accuracy within 20 epochs
#   (configs/lenet300-dense.yaml), and its metrics file has the promised fields;
# - RigL with RigL's MNIST setup (configs/rigl-mnist.yaml) reaches at least 98.0% within 30
#   epochs with at most 3.5% of the weights active, and in its first epoch (5 mask updates
#   at delta_t = 100) all-reduces per step at most 5% of what dense data-parallel training
#   would (the payload of 266,610 floats);
# - NNrelief on LeNet-300-100 (16 rounds of 4 epochs, fine-tuning) ends with at most 3% of
#   the weights and at least 97.9% test accuracy; on LeNet-5 (20 rounds of 4 epochs,
#   alpha_conv 0.8) with at most 5% and at least 98.7%;
# - configs/fast-mnist.yaml (the quick route to 98%: 6 epochs, fc1 95% / fc2 50% sparse)
#   reaches at least 98.0% with at most 11% of the weights and 12% of dense bytes in epoch 1
#   (its wall time is launch/speed-bench.sh's to measure; the bits, and so the accuracy,
#   are those of 2 ranks);
# - a conv net with random crops (padding 4) and horizontal flips on CIFAR-format files made
#   from MNIST (padded to 3 x 32 x 32 with three distinct channels by NumPy,
#   Tests/scripts/make_formats.py): lenet-5-caffe with Adam reaches at least 97% test
#   accuracy within 2 epochs on the CIFAR-10 files, with the same bits on 1 and 2 ranks, and
#   on the CIFAR-100 files (100 outputs) on 2 ranks. The recipe (batch 64, lr 1e-3) was
#   chosen on a validation split of the CIFAR-10 files (98.00%; LeNet-5 reached 96.80%).
#
# Each floor sits at least 10 test images (0.10%) under what this build measures, so that a
# change of rounding alone does not cross it. Measured at commit 97ad730 (test images above
# the floor): dense 98.44% (44), RigL 98.39% (39), fast-mnist 98.11% (11), NNrelief
# LeNet-300-100 98.08% (18 above 97.9%; it was 8 above the earlier 98.0%), NNrelief LeNet-5
# 98.84% (14 above 98.7%; it was 4 above the earlier 98.8%), lenet-5-caffe with crops and
# flips 97.55% on the CIFAR-10 files (55) and 97.74% on the CIFAR-100 files (74).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
DATA="${1:-$ROOT/data/mnist}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# verdict METRICS EPOCHS MAX_ACTIVE_FRACTION [MAX_BYTES_FRACTION]: checks the metrics file,
# prints a summary
verdict() {
  python3 - "$@" <<'PY'
import json, sys
path, epochs, max_active = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
max_comm = float(sys.argv[4]) if len(sys.argv) > 4 else 0.05
lines = [json.loads(l) for l in open(path)]
rows, final = lines[:-1], lines[-1]
assert len(rows) == epochs, f"{len(rows)} epoch lines, expected {epochs}"
for e in rows:
    for key in ("epoch", "train_loss", "test_accuracy", "samples_per_second", "bytes_allreduced"):
        assert key in e, f"epoch line lacks {key}"
assert final.get("final") is True, "last line is not final"
active = final["active_weights"] / final["dense_weights"]
comm = rows[0]["bytes_vs_dense"]
print(f"final test accuracy {final['test_accuracy']:.4f}, active {active:.4f}, epoch 1 bytes/step {100 * comm:.2f}% of dense")
sys.exit(0 if final["test_accuracy"] >= 0.98 and active <= max_active and (max_active == 1.0 or comm <= max_comm) else 1)
PY
}

# floor NAME CONFIG EPOCHS MAX_ACTIVE_FRACTION [MAX_BYTES_FRACTION]: trains CONFIG, which
# must exit 0, and checks its metrics file with `verdict`.
floor() {
  local name="$1" config="$2" epochs="$3" max="$4" comm="${5:-0.05}" code verdict_code
  rm -f "$WORK/m.jsonl"
  "$SPRIG" train --config "$ROOT/configs/$config" --data "$DATA" --metrics-out "$WORK/m.jsonl" >"$WORK/train.log" 2>&1
  code=$?
  tail -3 "$WORK/train.log"
  if [ "$code" -ne 0 ]; then fail "$name" "sprig train exited with $code: $(tail -2 "$WORK/train.log")"; return; fi
  verdict "$WORK/m.jsonl" "$epochs" "$max" "$comm" >"$WORK/v" 2>&1
  verdict_code=$?
  check_code "$name ($(tail -1 "$WORK/v"))" "$verdict_code"
}
floor "dense LeNet-300-100 >= 98.0% in 20 epochs" lenet300-dense.yaml 20 1.0
floor "RigL (0.98/0.882/dense) >= 98.0% in 30 epochs with <= 3.5% of the weights and <= 5% of dense bytes in epoch 1" rigl-mnist.yaml 30 0.035
floor "fast-mnist (RigL 0.95/0.5/dense) >= 98.0% in 6 epochs with <= 11% of the weights and <= 12% of dense bytes in epoch 1" fast-mnist.yaml 6 0.11 0.12

# nnrelief CONFIG ROUNDS EPOCHS MAX_FRACTION MIN_ACCURACY [sprig prune flags]
nnrelief() {
  local name="$1" rounds="$2" epochs="$3" max="$4" min="$5" code verdict_code label; shift 5
  label="NNrelief $name: <= $(python3 -c "print(round(100 * $max, 2))")% of the weights at >= $(python3 -c "print(round(100 * $min, 2))")% after $rounds rounds"
  rm -f "$WORK/$name.jsonl"
  "$SPRIG" prune --config "$ROOT/configs/nnrelief-$name.yaml" --data "$DATA" --iterations "$rounds" --retrain-epochs "$epochs" \
    --fine-tune "$@" --metrics-out "$WORK/$name.jsonl" >"$WORK/prune.log" 2>&1
  code=$?
  grep "retrained" "$WORK/prune.log" | tail -1
  if [ "$code" -ne 0 ]; then fail "$label" "sprig prune exited with $code: $(tail -2 "$WORK/prune.log")"; return; fi
  python3 - "$WORK/$name.jsonl" "$max" "$min" "$rounds" <<'PY' >"$WORK/v" 2>&1
import json, sys
final = [json.loads(l) for l in open(sys.argv[1])][-1]
assert final.get("final") is True and final["rounds"] == int(sys.argv[4]), f"final line {final}"
fraction = final["active_weights"] / final["dense_weights"]
print(f"test accuracy {final['test_accuracy']:.4f} with {100 * fraction:.2f}% of the weights")
sys.exit(0 if fraction <= float(sys.argv[2]) and final["test_accuracy"] >= float(sys.argv[3]) else 1)
PY
  verdict_code=$?
  check_code "$label ($(tail -1 "$WORK/v"))" "$verdict_code"
}
nnrelief lenet300 16 4 0.03 0.979
nnrelief lenet5 20 4 0.05 0.987 --alpha-conv 0.8

cat > "$WORK/augmented.yaml" <<YAML
model: lenet-5-caffe
epochs: 2
batch_size: 64
optimizer: {name: adam, lr: 0.001}
augment: {random_crop: {padding: 4}, horizontal_flip: true}
YAML
# augmented FORMAT RANKS: trains the augmented conv net on FORMAT's files made from MNIST;
# >= 97% in 2 epochs
augmented() {
  local format="$1" np="$2" name code verdict_code
  name="lenet-5-caffe with crops and flips on $format-format files from MNIST, $np rank(s): >= 97% in 2 epochs"
  rm -f "$WORK/$format-$np.jsonl"
  local launch=("$SPRIG")
  [ "$np" -gt 1 ] && launch=(env SPRIG="$SPRIG" "$MPIRUN" "$np")
  "${launch[@]}" train --config "$WORK/augmented.yaml" --data "$FORMATS/$format" \
    --metrics-out "$WORK/$format-$np.jsonl" --weights-out "$WORK/$format-$np.safetensors" >"$WORK/augmented.log" 2>&1
  code=$?
  grep -E "^epoch|^data path" "$WORK/augmented.log"
  if [ "$code" -ne 0 ]; then fail "$name" "sprig train exited with $code: $(tail -2 "$WORK/augmented.log")"; return; fi
  python3 - "$WORK/$format-$np.jsonl" <<'PY' >"$WORK/v" 2>&1
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
final = lines[-1]
assert final.get("final") is True and len(lines) == 3, f"{len(lines) - 1} epoch lines"
print(f"test accuracy {final['test_accuracy']:.4f}, data path {100 * final['data_share']:.1f}% of the training time")
sys.exit(0 if final["test_accuracy"] >= 0.97 else 1)
PY
  verdict_code=$?
  check_code "$name ($(tail -1 "$WORK/v"))" "$verdict_code"
}
if FORMATS="$(mnist_formats "$DATA")"; then
  augmented cifar10 1
  augmented cifar10 2
  same_weights "lenet-5-caffe with crops and flips on cifar10-format files: 2 ranks end with the single rank's weights" \
    "$WORK/cifar10-1.safetensors" "$WORK/cifar10-2.safetensors"
  augmented cifar100 2
else
  fail "MNIST written in the CIFAR formats (NumPy)"
fi
finish
