#!/usr/bin/env bash
# NNrelief under mpirun: the same prune-retrain run on one process and on 2 ranks ends
# with the same masks and weights (bitwise), for LeNet-300-100 and for LeNet-5 (whole
# kernels pruned). Short runs: the statistics and decisions are what is checked.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
DATA="${1:-$ROOT/data/mnist}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
for model in lenet300 lenet5; do
  args=(prune --config "$ROOT/configs/nnrelief-$model.yaml" --data "$DATA" --epochs 1 --iterations 2 --retrain-epochs 1)
  "$SPRIG" "${args[@]}" --weights-out "$WORK/$model-1.safetensors" >"$WORK/$model-1.log" 2>&1
  "$MPIRUN" 2 "${args[@]}" --weights-out "$WORK/$model-2.safetensors" >"$WORK/$model-2.log" 2>&1
  pruned=$(grep -o "round 2 pruned: .*%)" "$WORK/$model-1.log" | grep -o "weights [0-9]* of [0-9]*")
  "$SPRIG" compare "$WORK/$model-1.safetensors" "$WORK/$model-2.safetensors" --tolerance 0 >"$WORK/cmp" 2>&1
  check "$model: NNrelief on 2 ranks gives the single process's masks and weights ($pruned; $(tail -1 "$WORK/cmp"))" test $? -eq 0
done
finish
