#!/usr/bin/env bash
# The conv nets with batch norm and residual blocks, on the small CIFAR-10-format files made
# from MNIST (6000 training, 1000 test images), with crops and flips:
# - every sparse method (static, SET, SNFS, SNIP, RigL, gradual pruning, SRigL, Top-KAST,
#   GraNet) trains resnet-20 on ERK at 90% for 30 steps (mask updates every 10), ends at the
#   sparsity asked for (gradual pruning and GraNet: their schedule's; Top-KAST: its forward
#   set) with only the weight layers sparse, and its metrics count the
#   batch-norm statistics traffic;
# - a model written as a list of layers and blocks in the config (configs/models/resnet-20.yaml)
# trains to the bits of the zoo model it spells out (resnet-20): 30 steps with crops and
# flips on the small CIFAR-10-format files, dense and with RigL on ERK at 90%, on one process;
# weights, masks, running statistics and the losses are compared bitwise. A list that
# differs by one layer (no ReLU after the first block's addition) ends elsewhere: the check
# can fail.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
DATA="${1:-$ROOT/data/mnist}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
SMALL="$(mnist_formats "$DATA")/cifar10-small" || { fail "MNIST written in the CIFAR-10 format (NumPy)"; finish; exit 1; }
sed -n '/^model:/,/^data:/p' "$ROOT/configs/models/resnet-20.yaml" | sed '$d' > "$WORK/list.yaml"
sed '0,/after: \[relu\]/s//after: []/' "$WORK/list.yaml" > "$WORK/list-norelu.yaml"
check "the layer list has 9 residual blocks, the variant one ReLU less" \
  test "$(grep -c -- '- residual:' "$WORK/list.yaml")" -eq 9 -a "$(grep -c 'after: \[relu\]' "$WORK/list-norelu.yaml")" -eq 8
printf 'model: resnet-20\n' > "$WORK/zoo.yaml"
for f in list list-norelu zoo; do
  cat >> "$WORK/$f.yaml" <<YAML
batch_size: 64
init: he_normal
optimizer: {name: sgd, lr: 0.05, momentum: 0.9, nesterov: true, weight_decay: 0.0005}
augment: {random_crop: {padding: 4}, horizontal_flip: true}
YAML
done
for method in dense rigl; do
  flags=(--data "$SMALL" --max-steps 30)
  [ "$method" = rigl ] && flags+=(--set sparsity.method=rigl --set sparsity.distribution=erk --set sparsity.sparsity=0.9 --set sparsity.delta_t=10)
  for f in list list-norelu zoo; do
    "$SPRIG" train --config "$WORK/$f.yaml" "${flags[@]}" --weights-out "$WORK/$f-$method.safetensors" \
      --metrics-out "$WORK/$f-$method.jsonl" >"$WORK/$f-$method.log" 2>&1
    code=$?
    check_code "$method: $f trains 30 steps" "$code" "$(tail -2 "$WORK/$f-$method.log")"
  done
  same_weights "$method: the layer list trains to the zoo resnet-20's weights, masks and running statistics" \
    "$WORK/zoo-$method.safetensors" "$WORK/list-$method.safetensors"
  same_metrics "$method: the layer list's losses and accuracy are the zoo resnet-20's" "$WORK/zoo-$method.jsonl" "$WORK/list-$method.jsonl"
  "$REFERENCE_SPRIG" compare "$WORK/zoo-$method.safetensors" "$WORK/list-norelu-$method.safetensors" --tolerance 0 >"$WORK/cmp" 2>&1
  code=$?
  check "$method: a list without one ReLU is told apart by value ($(tail -1 "$WORK/cmp"))" \
    test "$code" -eq 1 -a -n "$(grep '^max relative difference' "$WORK/cmp")"
done

# Every method on resnet-20: 30 steps, ERK at 90%, mask updates (or pruning steps) every 10
for method in static set snfs snip rigl gmp srigl topkast granet; do
  extra=()
  [ "$method" = gmp ] || [ "$method" = granet ] && extra=(--set sparsity.begin_step=0 --set sparsity.end_step=20)
  "$SPRIG" train --config "$WORK/zoo.yaml" --data "$SMALL" --max-steps 30 --set sparsity.method=$method \
    --set sparsity.distribution=erk --set sparsity.sparsity=0.9 --set sparsity.delta_t=10 "${extra[@]}" \
    --metrics-out "$WORK/$method.jsonl" >"$WORK/$method.log" 2>&1
  code=$?
  python3 - "$WORK/$method.jsonl" "$method" >"$WORK/$method.check" 2>&1 <<'PY'
import json, sys
final = [json.loads(l) for l in open(sys.argv[1]) if '"final": true' in l][0]
density = final["active_weights"] / final["dense_weights"]
assert abs(density - 0.1) < 0.005, f"density {density:.4f} of the weight layers, not 0.1"
assert final["parameters"] > final["active_weights"], "batch-norm parameters and biases are parameters beside the weights"
assert final["bytes_per_step_by_kind"].get("bn_statistics", 0) > 0, "no batch-norm statistics traffic"
assert 0.05 < final["training_flops_vs_dense"] < 1 and final["inference_flops_vs_dense"] < 0.3, final
print(f"density {density:.4f}, {final['mask_updates']} mask updates, training FLOPs {final['training_flops_vs_dense']:.3f} x dense, "
      f"test accuracy {final['test_accuracy']:.4f}")
PY
  checked=$?
  check_code "resnet-20 with $method on ERK at 90%: 30 steps ($(tail -1 "$WORK/$method.check"))" $((code | checked)) \
    "$(tail -2 "$WORK/$method.log") $(tail -1 "$WORK/$method.check")"
done
finish
