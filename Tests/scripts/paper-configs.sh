#!/usr/bin/env bash
# The papers' setups under configs/paper/ start and run (their full runs are
# launch/reproduce.sh's, tens of minutes each):
# - rigl-lenet300.yaml trains 20 steps on real MNIST and prints the connected architecture;
# - rigl-wrn-22-2-cifar10.yaml trains 20 steps on CIFAR-10-format files (made from MNIST:
#   real CIFAR-10 cannot be downloaded here);
# - nnrelief-lenet300.yaml and nnrelief-lenet5-caffe.yaml run a shortened prune (2 epochs,
#   1 round of 4 retraining epochs; 1 and 1 for the Caffe LeNet-5), and each round keeps the
#   retraining epoch of best validation accuracy: the model it ends with has that epoch's
#   test accuracy, and 2 ranks end with the single process's weights. For LeNet-300-100
#   that epoch is not the last one (epoch 5 of 3-6, with these settings' bits), so the check
#   sees the weights put back.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
DATA="${1:-$ROOT/data/mnist}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
export OPENBLAS_NUM_THREADS=1

"$SPRIG" train --config "$ROOT/configs/paper/rigl-lenet300.yaml" --data "$DATA" --max-steps 20 \
  --metrics-out "$WORK/rigl.jsonl" > "$WORK/rigl.log" 2>&1
code=$?
check_code "configs/paper/rigl-lenet300.yaml trains 20 steps" "$code" "$(tail -2 "$WORK/rigl.log")"
check "... and prints its connected architecture ($(grep -o 'connected architecture [0-9-]*' "$WORK/rigl.log"))" \
  grep -qE '^connected architecture [0-9]+-[0-9]+-[0-9]+-10 ' "$WORK/rigl.log"

if FORMATS="$(mnist_formats "$DATA")"; then
  "$SPRIG" train --config "$ROOT/configs/paper/rigl-wrn-22-2-cifar10.yaml" --data "$FORMATS/cifar10" --max-steps 20 \
    --metrics-out "$WORK/wrn.jsonl" > "$WORK/wrn.log" 2>&1
  code=$?
  check_code "configs/paper/rigl-wrn-22-2-cifar10.yaml trains 20 steps on CIFAR-10-format files" "$code" "$(tail -2 "$WORK/wrn.log")"
  check "... with the first layer dense and the rest at 90% on ERK" \
    python3 -c "
import json, sys
f = [json.loads(l) for l in open('$WORK/wrn.jsonl')][-1]
a, d = f['active_per_layer'], f['dense_per_layer']
sys.exit(0 if f['steps'] == 20 and a['conv1'] == d['conv1'] and 0.095 < f['active_weights'] / f['dense_weights'] < 0.12 else 1)"
else
  fail "MNIST written in the CIFAR formats (NumPy)"
fi

# prune NAME CONFIG NP FLAGS...: a shortened sprig prune of CONFIG on NP ranks
prune() {
  local name="$1" config="$2" np="$3"; shift 3
  local launch=("$SPRIG")
  [ "$np" -gt 1 ] && launch=(env SPRIG="$SPRIG" "$MPIRUN" "$np")
  "${launch[@]}" prune --config "$ROOT/configs/paper/$config" --data "$DATA" "$@" \
    --metrics-out "$WORK/$name.jsonl" --weights-out "$WORK/$name.safetensors" > "$WORK/$name.log" 2>&1
}
# kept NAME: the round kept the epoch of best validation accuracy (the first of equals) and
# the model has its test accuracy; prints what it found
kept() {
  python3 - "$WORK/$1.jsonl" "$2" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
must_restore = sys.argv[2] == "restored"
start = next(i for i, l in enumerate(lines) if l.get("stage") == "round 1 pruned")
epochs = [l for l in lines[start:] if "epoch" in l and "stage" not in l and not l.get("final")]
retrained = next(l for l in lines if l.get("stage") == "round 1 retrained")
best = max(epochs, key=lambda e: (e["validation_accuracy"], -e["epoch"]))
print(f"validation by epoch {[(e['epoch'], round(100 * e['validation_accuracy'], 2)) for e in epochs]}; "
      f"kept {retrained['kept_epoch']}, test {100 * retrained['test_accuracy']:.2f}%")
ok = (retrained["kept_epoch"] == best["epoch"] and retrained["test_accuracy"] == best["test_accuracy"]
      and retrained["best_test_accuracy"] == max(e["test_accuracy"] for e in epochs)
      and (not must_restore or best["epoch"] != epochs[-1]["epoch"]))
sys.exit(0 if ok else 1)
PY
}
prune lenet300-1 nnrelief-lenet300.yaml 1 --epochs 2 --iterations 1 --retrain-epochs 4
code=$?
check_code "configs/paper/nnrelief-lenet300.yaml: a shortened prune runs" "$code" "$(tail -2 "$WORK/lenet300-1.log")"
kept lenet300-1 restored > "$WORK/v" 2>&1; code=$?
check_code "... and keeps the retraining epoch of best validation accuracy, an earlier one ($(tail -1 "$WORK/v"))" "$code"
prune lenet300-2 nnrelief-lenet300.yaml 2 --epochs 2 --iterations 1 --retrain-epochs 4
code=$?
check_code "... on 2 ranks too" "$code" "$(tail -2 "$WORK/lenet300-2.log")"
same_weights "... which end with the single process's weights" "$WORK/lenet300-1.safetensors" "$WORK/lenet300-2.safetensors"
prune caffe nnrelief-lenet5-caffe.yaml 2 --epochs 1 --iterations 1 --retrain-epochs 1
code=$?
check_code "configs/paper/nnrelief-lenet5-caffe.yaml: a shortened prune runs on 2 ranks" "$code" "$(tail -2 "$WORK/caffe.log")"
kept caffe any > "$WORK/v" 2>&1; code=$?
check_code "... and keeps its retraining epoch ($(tail -1 "$WORK/v"))" "$code"
finish
