#!/usr/bin/env bash
# SRigL, Top-KAST and GraNet across ranks (issue 26's floors): for each, on LeNet-300-100
# (300 steps, mask updates every 50) and on LeNet-5 (150 steps, ERK, updates every 25):
# - 2 and 4 ranks (oversubscribed) end with the single process's weights and masks, bit for
#   bit, and its losses, accuracies and mask updates;
# - a run stopped at step 130 on one process and resumed on 2 ranks ends with the single
#   process's bits (their state travels in the checkpoint: Top-KAST's dense theta and
#   forward set, the masks of all three).
# The schedules end at a fixed step (end_step) so that a shorter first run has the same one.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
DATA="${1:-$ROOT/data/mnist}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
METHODS="${METHODS:-srigl topkast granet}"

cat > "$WORK/lenet300.yaml" <<YAML
model: lenet-300-100
batch_size: 100
seed: 1
optimizer: {name: sgd, lr: 0.1, momentum: 0.9, nesterov: true, weight_decay: 0.0001}
sparsity: {distribution: uniform, sparsity: 0.95, delta_t: 50, end_step: 250}
YAML
cat > "$WORK/lenet5.yaml" <<YAML
model: lenet-5
batch_size: 64
seed: 2
optimizer: {name: sgd, lr: 0.05, momentum: 0.9, nesterov: true, weight_decay: 0.0005}
sparsity: {distribution: erk, sparsity: 0.9, delta_t: 25, end_step: 125}
YAML

for model in lenet300 lenet5; do
  steps=300; [ "$model" = lenet5 ] && steps=150
  for method in $METHODS; do
    name="$model-$method"
    flags=(--config "$WORK/$model.yaml" --data "$DATA" --set sparsity.method=$method)
    "$SPRIG" train "${flags[@]}" --max-steps $steps --weights-out "$WORK/$name-1.safetensors" \
      --metrics-out "$WORK/$name-1.jsonl" >"$WORK/$name-1.log" 2>&1
    code=$?
    updates=$(grep -o '"mask_updates": [0-9]*' "$WORK/$name-1.jsonl" 2>/dev/null | tail -1 | grep -o '[0-9]*$')
    check "$name: one process trains $steps steps with mask updates (${updates:-none})" \
      test "$code" -eq 0 -a "${updates:-0}" -ge 2
    for np in 2 4; do
      "$MPIRUN" $np train "${flags[@]}" --max-steps $steps --weights-out "$WORK/$name-$np.safetensors" \
        --metrics-out "$WORK/$name-$np.jsonl" >"$WORK/$name-$np.log" 2>&1
      code=$?
      check_code "$name: $np ranks train $steps steps" "$code" "$(tail -3 "$WORK/$name-$np.log")"
      same_weights "$name: $np ranks end with the single process's weights and masks" \
        "$WORK/$name-1.safetensors" "$WORK/$name-$np.safetensors"
      same_metrics "$name: $np ranks have the single process's losses, accuracies and mask updates" \
        "$WORK/$name-1.jsonl" "$WORK/$name-$np.jsonl"
    done
    "$SPRIG" train "${flags[@]}" --max-steps 130 --checkpoint "$WORK/$name.ckpt" >"$WORK/$name-first.log" 2>&1
    code=$?
    check_code "$name: one process stops at step 130 with a checkpoint" "$code" "$(tail -2 "$WORK/$name-first.log")"
    "$MPIRUN" 2 train --resume "$WORK/$name.ckpt" --data "$DATA" --max-steps $steps \
      --weights-out "$WORK/$name-resumed.safetensors" >"$WORK/$name-resumed.log" 2>&1
    code=$?
    check "$name: 2 ranks resume it at step 130 (exit $code)" \
      test "$code" -eq 0 -a -n "$(grep 'resuming at step 130' "$WORK/$name-resumed.log")"
    same_weights "$name: resumed on 2 ranks, the single uninterrupted process's bits" \
      "$WORK/$name-1.safetensors" "$WORK/$name-resumed.safetensors"
  done
done
finish
