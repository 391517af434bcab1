#!/usr/bin/env bash
# Checkpoints and resume:
# - a run stopped right after a checkpoint and resumed ends bit for bit where the
#   uninterrupted run ends (RigL; SNFS, whose moving averages are state; gradual pruning,
#   whose layers shrink), with the same number of ranks and with another;
# - a loss that turns NaN stops the run with a message naming the step, exit 4, and the
#   last checkpoint stays valid;
# - SIGKILL of the writing rank while checkpoints are written back to back leaves the
#   checkpoint file valid and resumable.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
DATA="${1:-$ROOT/data/mnist}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

for config in rigl-mnist.yaml methods/snfs-98.yaml methods/gmp-98.yaml; do
  name=$(basename "$config" .yaml)
  common=(--config "$ROOT/configs/$config" --data "$DATA" --epochs 3)
  "$SPRIG" train "${common[@]}" --weights-out "$WORK/$name-full.safetensors" >"$WORK/log" 2>&1
  "$SPRIG" train "${common[@]}" --checkpoint "$WORK/$name.ckpt" --checkpoint-every 500 --stop-after 1000 >>"$WORK/log" 2>&1
  for np in 1 2; do
    if [ "$np" = 1 ]; then
      "$SPRIG" train --resume "$WORK/$name.ckpt" --data "$DATA" --weights-out "$WORK/$name-r$np.safetensors" >>"$WORK/log" 2>&1
    else
      "$MPIRUN" 2 train --resume "$WORK/$name.ckpt" --data "$DATA" --weights-out "$WORK/$name-r$np.safetensors" >>"$WORK/log" 2>&1
    fi
    "$SPRIG" compare "$WORK/$name-full.safetensors" "$WORK/$name-r$np.safetensors" --tolerance 0 >"$WORK/cmp" 2>&1
    check "$name: stopped at step 1000, resumed on $np rank(s): same weights and masks as the whole run ($(tail -1 "$WORK/cmp"))" test $? -eq 0
  done
done

# NaN: a learning rate that blows up
"$SPRIG" train --config "$ROOT/configs/lenet300-dense.yaml" --data "$DATA" --lr 1000 --epochs 2 \
  --checkpoint "$WORK/nan.ckpt" --checkpoint-every 1 >"$WORK/nan.log" 2>&1
code=$?
message=$(grep "sprig: error:" "$WORK/nan.log")
check "a NaN loss stops the run naming the step (exit $code: ${message#sprig: error: })" \
  test "$code" -eq 4 -a -n "$(echo "$message" | grep -E 'the loss of step [0-9]+ is -?(nan|inf)')"
"$SPRIG" train --resume "$WORK/nan.ckpt" --data "$DATA" --max-steps 1 >"$WORK/nan2.log" 2>&1
check "the last checkpoint before the NaN is valid ($(grep -o 'resuming at step [0-9]*' "$WORK/nan2.log"))" grep -q "resuming at step" "$WORK/nan2.log"

# SIGKILL while writing: wide dense model (46 MB checkpoints), one after every step
printf 'model: mlp-wide\ndata: %s\nepochs: 1\nbatch_size: 128\n' "$DATA" > "$WORK/wide.yaml"
# Kill the run the moment a checkpoint write is under way (its temporary file exists),
# after at least one checkpoint is complete; at most 10 tries.
midwrite=0
for attempt in $(seq 1 10); do
  rm -f "$WORK/big.ckpt" "$WORK"/.big.ckpt.tmp-*
  "$SPRIG" train --config "$WORK/wide.yaml" --checkpoint "$WORK/big.ckpt" --checkpoint-every 1 >"$WORK/big.log" 2>&1 &
  job=$!
  for _ in $(seq 1 200); do [ -f "$WORK/big.ckpt" ] && break; sleep 0.05; done
  deadline=$((SECONDS + 10))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if compgen -G "$WORK/.big.ckpt.tmp-*" >/dev/null; then kill -9 "$job"; break; fi
    kill -0 "$job" 2>/dev/null || break
  done
  kill -9 "$job" 2>/dev/null; wait "$job" 2>/dev/null
  if compgen -G "$WORK/.big.ckpt.tmp-*" >/dev/null; then midwrite=1; break; fi
done
"$SPRIG" train --resume "$WORK/big.ckpt" --data "$DATA" --stop-after 0 >"$WORK/big2.log" 2>&1
step=$(grep -o 'resuming at step [0-9]*' "$WORK/big2.log" | grep -o '[0-9]*$')
"$SPRIG" train --resume "$WORK/big.ckpt" --data "$DATA" --max-steps $((${step:-0} + 2)) >"$WORK/big3.log" 2>&1
check "SIGKILL during a checkpoint write (try $attempt, mid-write: $midwrite) leaves a valid checkpoint of step ${step:-?} that resumes" \
  test -n "$step" -a "$midwrite" -eq 1 -a "$(grep -c '^done:' "$WORK/big3.log")" -eq 1
finish
