#!/usr/bin/env bash
# NNrelief under mpirun: the same prune-retrain run on one process and on 2 ranks ends
# with the same masks and weights (bitwise), for LeNet-300-100, LeNet-5 and the Caffe LeNet-5
# (whole kernels pruned), and ResNet-20 (batch norm, residual blocks) on CIFAR-10-format
# files made from MNIST, retraining from the initial weights (sprig prune's default, the reset
# mode) and, for LeNet-300-100, fine-tuning; the two modes end with different weights.
# Short runs: the statistics and decisions are what is checked.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
DATA="${1:-$ROOT/data/mnist}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
# prune_both NAME MODEL [FLAGS...]: one process and 2 ranks, the same pruning run
prune_both() {
  local name="$1" model="$2" code1 code2 pruned; shift 2
  local args=(prune --config "$ROOT/configs/nnrelief-$model.yaml" --data "${PRUNE_DATA:-$DATA}" --epochs 1 --iterations 2 --retrain-epochs 1 "$@")
  "$SPRIG" "${args[@]}" --weights-out "$WORK/$name-1.safetensors" >"$WORK/$name-1.log" 2>&1
  code1=$?
  "$MPIRUN" 2 "${args[@]}" --weights-out "$WORK/$name-2.safetensors" >"$WORK/$name-2.log" 2>&1
  code2=$?
  check_code "$name: sprig prune ends on one process and on 2 ranks" $((code1 | code2)) \
    "$(tail -2 "$WORK/$name-1.log") $(tail -2 "$WORK/$name-2.log")"
  pruned=$(grep -o "round 2 pruned: .*%)" "$WORK/$name-1.log" | grep -o "weights [0-9]* of [0-9]*")
  check "$name: two rounds pruned weights ($pruned)" test -n "$pruned"
  same_weights "$name: NNrelief on 2 ranks gives the single process's masks and weights" \
    "$WORK/$name-1.safetensors" "$WORK/$name-2.safetensors"
}
prune_both lenet300-reset lenet300
prune_both lenet5-reset lenet5
# The Caffe LeNet-5, and ResNet-20 (batch norm, residual blocks, 1x1 shortcuts) on the small
# CIFAR-10-format files (SKIP_CONV_NETS: Tests/scripts/mutations.sh runs without them)
if [ -z "${SKIP_CONV_NETS:-}" ]; then
  prune_both lenet5-caffe-reset lenet5-caffe
  if PRUNE_DATA="$(mnist_formats "$DATA")/cifar10-small"; then
    prune_both resnet20-reset resnet20 --pruning-set 1000
  else
    fail "MNIST written in the CIFAR-10 format (NumPy)"
  fi
  PRUNE_DATA=""
fi
prune_both lenet300-fine-tune lenet300 --fine-tune
"$REFERENCE_SPRIG" compare "$WORK/lenet300-reset-1.safetensors" "$WORK/lenet300-fine-tune-1.safetensors" --tolerance 0 >"$WORK/cmp" 2>&1
code=$?
check "retraining from the initial weights and fine-tuning end differently ($(tail -1 "$WORK/cmp"))" \
  test "$code" -eq 1 -a -n "$(grep '^max relative difference' "$WORK/cmp")"
finish
