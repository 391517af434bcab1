#!/usr/bin/env bash
# Checkpoints and resume:
# - a run stopped right after a checkpoint and resumed ends bit for bit where the
#   uninterrupted run ends (RigL; SNFS, whose moving averages are state; gradual pruning,
#   whose layers shrink), with the same number of ranks and with another;
# - a loss that turns NaN stops the run with a message naming the step, exit 4, and the
#   last checkpoint stays valid;
# - SIGKILL of the writing rank while checkpoints are written back to back leaves the
#   checkpoint file valid and resumable;
# - SIGTERM under mpirun and SIGINT to one process stop the run after an agreed step with a
#   checkpoint of that step and the command to resume, which ends bit for bit as the
#   uninterrupted run; resuming a complete run writes its weights;
# - a full disk (a small tmpfs; a read-only folder when not root): the run warns, trains on,
#   writes its weights elsewhere, and the checkpoint before still resumes to the same bits;
#   a --weights-out that cannot be written exits non-zero naming the file and the checkpoint
#   that holds the model; a damaged newest checkpoint falls back to the one before;
#   checkpoints by minutes are written;
# - ResNet-20 with batch norm resumes bit for bit, running statistics included.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
DATA="${1:-$ROOT/data/mnist}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# CHECKPOINT_CONFIGS picks the configs (Tests/scripts/mutations.sh runs one).
for config in ${CHECKPOINT_CONFIGS:-rigl-mnist.yaml methods/snfs-98.yaml methods/gmp-98.yaml}; do
  name=$(basename "$config" .yaml)
  common=(--config "$ROOT/configs/$config" --data "$DATA" --epochs 3)
  "$SPRIG" train "${common[@]}" --weights-out "$WORK/$name-full.safetensors" --metrics-out "$WORK/$name-full.jsonl" >"$WORK/log" 2>&1
  code=$?
  check_code "$name: the whole run (3 epochs) ends" "$code" "$(tail -2 "$WORK/log")"
  "$SPRIG" train "${common[@]}" --checkpoint "$WORK/$name.ckpt" --checkpoint-every 500 --stop-after 1000 \
    --metrics-out "$WORK/$name-r1.jsonl" >"$WORK/log" 2>&1
  code=$?
  check_code "$name: a run stopped after step 1000 leaves a checkpoint" "$code" "$(tail -2 "$WORK/log")"
  cp "$WORK/$name-r1.jsonl" "$WORK/$name-r2.jsonl" 2>/dev/null
  for np in 1 2; do
    if [ "$np" = 1 ]; then
      "$SPRIG" train --resume "$WORK/$name.ckpt" --data "$DATA" --weights-out "$WORK/$name-r$np.safetensors" \
        --metrics-out "$WORK/$name-r$np.jsonl" >"$WORK/log" 2>&1
    else
      "$MPIRUN" 2 train --resume "$WORK/$name.ckpt" --data "$DATA" --weights-out "$WORK/$name-r$np.safetensors" \
        --metrics-out "$WORK/$name-r$np.jsonl" >"$WORK/log" 2>&1
    fi
    code=$?
    resumed=$(grep -o 'resuming at step [0-9]*' "$WORK/log")
    check "$name: the resumed run on $np rank(s) ends (exit $code, $resumed)" test "$code" -eq 0 -a "$resumed" = "resuming at step 1000"
    same_weights "$name: stopped at step 1000, resumed on $np rank(s): same weights and masks as the whole run" \
      "$WORK/$name-full.safetensors" "$WORK/$name-r$np.safetensors"
    # The metrics file of the stopped run is continued: every epoch once, one final line,
    # and the losses and accuracies of the whole run.
    python3 - "$WORK/$name-full.jsonl" "$WORK/$name-r$np.jsonl" >"$WORK/m" 2>&1 <<'PY'
import json, sys
def rows(path):
    lines = [json.loads(l) for l in open(path)]
    return [(l["epoch"], l["step"], l["train_loss"], l["test_accuracy"]) for l in lines if not l.get("final")], \
           [l for l in lines if l.get("final")]
full, full_final = rows(sys.argv[1])
resumed, resumed_final = rows(sys.argv[2])
assert len(resumed_final) == 1, f"{len(resumed_final)} final lines"
assert resumed == full, f"epoch lines differ: {resumed} vs {full}"
assert resumed_final[0]["test_accuracy"] == full_final[0]["test_accuracy"]
print(f"epochs {[r[0] for r in resumed]}, final accuracy {resumed_final[0]['test_accuracy']}")
PY
    code=$?
    check_code "$name: --metrics-out after --resume on $np rank(s) continues the file ($(tail -1 "$WORK/m"))" "$code"
  done
done

# A pause (--stop-after) between periodic checkpoints, on 2 ranks: every rank ends after
# that step, with exit 0, and the checkpoint of that very step resumes to the whole run.
if [ -z "${SIGNALS_ONLY:-}" ] && [ -s "$WORK/rigl-mnist-full.safetensors" ]; then
  "$MPIRUN" 2 train --config "$ROOT/configs/rigl-mnist.yaml" --data "$DATA" --epochs 3 --checkpoint "$WORK/pause.ckpt" \
    --stop-after 1234 >"$WORK/log" 2>&1
  code=$?
  check_code "a pause after step 1234 on 2 ranks (--stop-after between checkpoints every 1000) ends every rank" "$code" "$(tail -2 "$WORK/log")"
  "$SPRIG" train --resume "$WORK/pause.ckpt" --data "$DATA" --weights-out "$WORK/pause.safetensors" >"$WORK/log" 2>&1
  check "the pause's checkpoint is of step 1234 ($(grep -o 'resuming at step [0-9]*' "$WORK/log"))" grep -q "resuming at step 1234" "$WORK/log"
  same_weights "resumed from the pause, the run ends with the whole run's weights and masks" \
    "$WORK/rigl-mnist-full.safetensors" "$WORK/pause.safetensors"
elif [ -z "${SIGNALS_ONLY:-}" ]; then
  fail "a pause on 2 ranks" "no whole rigl-mnist run to compare with (CHECKPOINT_CONFIGS without rigl-mnist.yaml?)"
fi

if [ -n "${RESUME_ONLY:-}" ]; then finish; exit; fi

# A stop signal: SIGTERM to mpirun (what scancel, a preemption or a time limit sends) and
# SIGINT to one process (Ctrl-C), each after the first epoch of the 3-epoch RigL run above.
# The ranks stop after one agreed step, rank 0 writes the checkpoint (--checkpoint, or
# sprig-interrupted.ckpt in the working directory) and says how to resume, the exit code is
# 128 + the signal, and the resumed run ends bit for bit as the uninterrupted one.
full="$WORK/rigl-mnist-full.safetensors"
for how in "SIGTERM 2" "SIGINT 1"; do
  set -- $how
  sig=$1 np=$2
  rm -rf "$WORK/sig" && mkdir -p "$WORK/sig"
  if [ "$np" = 2 ]; then
    (cd "$WORK/sig" && exec "$MPIRUN" 2 train --config "$ROOT/configs/rigl-mnist.yaml" --data "$DATA" --epochs 3 \
      --checkpoint "$WORK/sig/run.ckpt" --metrics-out "$WORK/sig/run.jsonl") >"$WORK/sig.log" 2>&1 &
    ckpt="$WORK/sig/run.ckpt"
  else
    (cd "$WORK/sig" && exec "$SPRIG" train --config "$ROOT/configs/rigl-mnist.yaml" --data "$DATA" --epochs 3 \
      --metrics-out "$WORK/sig/run.jsonl") >"$WORK/sig.log" 2>&1 &
    ckpt="$WORK/sig/sprig-interrupted.ckpt"
  fi
  job=$!
  wait_for_line "$WORK/sig.log" '^epoch 1/3' 120 "$job"
  started=$?
  kill -"${sig#SIG}" "$job" 2>/dev/null
  wait "$job"
  code=$?
  stopped="$(grep -o "stopped by $sig after step [0-9]*" "$WORK/sig.log")"
  resume="$(grep -o 'resume with: sprig train --resume [^ ]*' "$WORK/sig.log")"
  # 128 + the signal: from sprig alone, and from launch/mpirun.sh, which relays the signal
  # through mpirun as SIGUSR1 or SIGUSR2.
  want=$((128 + $(kill -l "${sig#SIG}")))
  check "$sig to $np rank(s) after epoch 1: '$stopped', exit $code, a checkpoint and the command to resume" \
    test "$started" -eq 0 -a -n "$stopped" -a "$code" -eq "$want" -a -s "$ckpt" \
    -a "$resume" = "resume with: sprig train --resume $ckpt"
  # the checkpoint is the stop's, not an earlier periodic one (checkpoint_every is 1000)
  "$REFERENCE_SPRIG" train --resume "$ckpt" --data "$DATA" --stop-after 0 >"$WORK/sig-probe.log" 2>&1
  at="$(grep -o 'resuming at step [0-9]*' "$WORK/sig-probe.log" | grep -o '[0-9]*$')"
  check "$sig: the checkpoint is of the step the run stopped after (step ${at:-none}; ${stopped:-no stop line})" \
    test -n "$at" -a -n "$stopped" -a "$at" = "${stopped##* }"
  "$SPRIG" train --resume "$ckpt" --data "$DATA" --weights-out "$WORK/sig/resumed.safetensors" \
    --metrics-out "$WORK/sig/run.jsonl" --checkpoint "$WORK/sig/end.ckpt" >"$WORK/sig2.log" 2>&1
  code=$?
  check_code "$sig: the resumed run ends" "$code" "$(tail -2 "$WORK/sig2.log")"
  same_weights "$sig to $np rank(s), resumed on 1: same weights and masks as the uninterrupted run" "$full" "$WORK/sig/resumed.safetensors"
done

# Resuming a run that is already complete trains nothing but still writes --weights-out.
"$SPRIG" train --resume "$WORK/sig/end.ckpt" --data "$DATA" --weights-out "$WORK/sig/again.safetensors" >"$WORK/again.log" 2>&1
code=$?
check "resuming a complete run says so and exits 0 (exit $code: $(grep -o 'the run is complete[^:]*' "$WORK/again.log"))" \
  test "$code" -eq 0 -a -n "$(grep 'the run is complete' "$WORK/again.log")"
same_weights "resuming a complete run writes --weights-out, the run's weights" "$full" "$WORK/sig/again.safetensors"

# SIGNALS_ONLY (Tests/scripts/mutations.sh) ends here.
if [ -n "${SIGNALS_ONLY:-}" ]; then finish; exit; fi

# NaN: a learning rate that blows up
"$SPRIG" train --config "$ROOT/configs/lenet300-dense.yaml" --data "$DATA" --lr 1000 --epochs 2 \
  --checkpoint "$WORK/nan.ckpt" --checkpoint-every 1 >"$WORK/nan.log" 2>&1
code=$?
message=$(grep "sprig: error:" "$WORK/nan.log")
check "a NaN loss stops the run naming the step (exit $code: ${message#sprig: error: })" \
  test "$code" -eq 4 -a -n "$(echo "$message" | grep -E 'the loss of step [0-9]+ is -?(nan|inf)')"
nan_step="$(echo "$message" | grep -oE 'the loss of step [0-9]+' | grep -o '[0-9]*$')"
# The checkpoint (one after every step) is of the step before, and its weights are finite:
# the run is complete at max_steps 1, so resuming it only writes the weights.
"$SPRIG" train --resume "$WORK/nan.ckpt" --data "$DATA" --max-steps 1 --weights-out "$WORK/nan.st" >"$WORK/nan2.log" 2>&1
code=$?
at="$(grep -o 'resuming at step [0-9]*' "$WORK/nan2.log" | grep -o '[0-9]*$')"
finite="$("$(numpy_python)" -c "
import sys, numpy as np
from safetensors.numpy import load_file
d = load_file(sys.argv[1])
print(sum(int(np.isfinite(v).all()) for v in d.values()), 'of', len(d))" "$WORK/nan.st" 2>&1 | tail -1)"
tensors="${finite##* }"
check "the last checkpoint before the NaN is of step $((${nan_step:-1} - 1)) with finite weights (exit $code, step ${at:-none}, finite tensors: $finite)" \
  test "$code" -eq 0 -a -n "$at" -a "$at" = "$((${nan_step:-0} - 1))" -a "$finite" = "$tensors of $tensors"

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
# Full disks and damaged files. A small tmpfs holds two checkpoints and a temporary file of
# RigL LeNet-300-100 (113 kB each), so the third write finds no space; without root, a
# folder made read-only refuses the writes after the first checkpoints instead.
common=(--config "$ROOT/configs/rigl-mnist.yaml" --data "$DATA" --max-steps 1000)
"$SPRIG" train "${common[@]}" --weights-out "$WORK/disk-ref.st" >"$WORK/disk-ref.log" 2>&1
code=$?
check_code "full disk: the reference run (1000 steps, no checkpoint) ends" "$code" "$(tail -2 "$WORK/disk-ref.log")"
FULL="$WORK/full"
mkdir -p "$FULL"
if [ "$(id -u)" -eq 0 ]; then
  mount -t tmpfs -o size=300k sprig-full "$FULL" && trap 'umount "$FULL" 2>/dev/null; rm -rf "$WORK"' EXIT
  how="a 300 kB tmpfs"
  "$SPRIG" train "${common[@]}" --checkpoint "$FULL/run.ckpt" --checkpoint-every 200 --weights-out "$WORK/disk.st" \
    >"$WORK/disk.log" 2>&1
  code=$?
else
  how="a folder made read-only after step 400"
  "$SPRIG" train "${common[@]}" --checkpoint "$FULL/run.ckpt" --checkpoint-every 200 --weights-out "$WORK/disk.st" \
    >"$WORK/disk.log" 2>&1 &
  job=$!
  for _ in $(seq 1 400); do [ -e "$FULL/run.ckpt.1" ] && break; sleep 0.01; done
  chmod 500 "$FULL"; wait "$job"; code=$?; chmod 700 "$FULL"
fi
warnings="$(grep -c "^sprig: warning: $FULL/run.ckpt: cannot write: .* (step [0-9]*); the checkpoint of step [0-9]* in $FULL/run.ckpt is kept" "$WORK/disk.log")"
kept="$(grep -m1 -o 'the checkpoint of step [0-9]*' "$WORK/disk.log" | grep -o '[0-9]*$')"
check "checkpoints on $how: the run warns ($warnings warning lines: $(grep -m1 -o "cannot write: [^(]*" "$WORK/disk.log")), trains on, exit $code" \
  test "$code" -eq 0 -a "$warnings" -ge 1 -a "$(grep -c '^done:' "$WORK/disk.log")" -eq 1
same_weights "full disk: the weights written elsewhere are the uninterrupted run's" "$WORK/disk-ref.st" "$WORK/disk.st"
"$SPRIG" train --resume "$FULL/run.ckpt" --data "$DATA" --weights-out "$WORK/disk-resumed.st" >"$WORK/disk-resumed.log" 2>&1
code=$?
at="$(grep -o 'resuming at step [0-9]*' "$WORK/disk-resumed.log" | grep -o '[0-9]*$')"
check "full disk: the checkpoint kept (step ${kept:-?}) resumes (exit $code, step ${at:-none})" \
  test "$code" -eq 0 -a -n "$at" -a "$at" = "${kept:-x}"
same_weights "full disk: resumed from the kept checkpoint, the uninterrupted run's weights" "$WORK/disk-ref.st" "$WORK/disk-resumed.st"
# --weights-out that cannot be written: exit non-zero, naming the file and the checkpoint
# that holds the trained model, which then gives the weights.
[ "$(id -u)" -eq 0 ] || chmod 500 "$FULL"
"$SPRIG" train "${common[@]}" --checkpoint "$WORK/held.ckpt" --weights-out "$FULL/w.safetensors" >"$WORK/wout.log" 2>&1
code=$?
[ "$(id -u)" -eq 0 ] || chmod 700 "$FULL"
message="$(grep -m1 '^sprig: error:' "$WORK/wout.log")"
check "a --weights-out that cannot be written: exit $code, '${message:0:150}'" \
  test "$code" -ne 0 -a -n "$(echo "$message" | grep -F "$FULL/w.")" \
  -a -n "$(echo "$message" | grep -F "the trained model is in the checkpoint $WORK/held.ckpt (step 1000)")"
"$SPRIG" train --resume "$WORK/held.ckpt" --data "$DATA" --weights-out "$WORK/held.st" >"$WORK/held.log" 2>&1
same_weights "the checkpoint that holds the model gives the run's weights" "$WORK/disk-ref.st" "$WORK/held.st"
# A damaged newest checkpoint: the one before (PATH.1) is used, with a warning naming both.
"$SPRIG" train "${common[@]}" --checkpoint "$WORK/keep.ckpt" --checkpoint-every 200 >"$WORK/keep.log" 2>&1
printf 'XXXX' | dd of="$WORK/keep.ckpt" bs=1 seek=5000 conv=notrunc 2>/dev/null
"$SPRIG" train --resume "$WORK/keep.ckpt" --data "$DATA" --weights-out "$WORK/keep.st" >"$WORK/keep2.log" 2>&1
code=$?
warning="$(grep -m1 '^sprig: warning:' "$WORK/keep2.log")"
check "a damaged newest checkpoint falls back to the one before (exit $code, $(grep -o 'resuming at step [0-9]* from [^ ]*' "$WORK/keep2.log"); ${warning:0:120})" \
  test "$code" -eq 0 -a -n "$(grep -F "resuming at step 800 from $WORK/keep.ckpt.1" "$WORK/keep2.log")" \
  -a -n "$(echo "$warning" | grep -F "$WORK/keep.ckpt: not a valid checkpoint")"
same_weights "resumed from the one before: the uninterrupted run's weights" "$WORK/disk-ref.st" "$WORK/keep.st"
# Checkpoints by minutes (0.3 s here), none by steps: one is written before the end's.
"$SPRIG" train --config "$ROOT/configs/lenet300-dense.yaml" --data "$DATA" --max-steps 3000 --checkpoint "$WORK/timed.ckpt" \
  --checkpoint-every 0 --checkpoint-every-minutes 0.005 >"$WORK/timed.log" 2>&1
code=$?
"$REFERENCE_SPRIG" train --resume "$WORK/timed.ckpt.1" --data "$DATA" --stop-after 0 >"$WORK/timed2.log" 2>&1
at="$(grep -o 'resuming at step [0-9]*' "$WORK/timed2.log" | grep -o '[0-9]*$')"
check "--checkpoint-every-minutes 0.005 writes checkpoints during the run (exit $code; the one before the end's is of step ${at:-none})" \
  test "$code" -eq 0 -a -n "$at" -a "${at:-0}" -gt 0 -a "${at:-3000}" -lt 3000

# ResNet-20 with batch norm (running statistics are state) and RigL on ERK, on the small
# CIFAR-10-format files with crops and flips: stopped at step 20 of 40 and resumed on one
# process and on 2 ranks, it ends bit for bit as the whole run, running statistics included.
cat > "$WORK/resnet20.yaml" <<YAML
model: resnet-20
batch_size: 64
init: he_normal
optimizer: {name: sgd, lr: 0.05, momentum: 0.9, nesterov: true, weight_decay: 0.0005}
augment: {random_crop: {padding: 4}, horizontal_flip: true}
sparsity: {method: rigl, distribution: erk, sparsity: 0.9, delta_t: 10}
YAML
if SMALL="$(mnist_formats "$DATA")/cifar10-small"; then
  common=(--config "$WORK/resnet20.yaml" --data "$SMALL" --max-steps 40)
  "$SPRIG" train "${common[@]}" --weights-out "$WORK/resnet20-full.safetensors" >"$WORK/log" 2>&1
  code=$?
  check_code "resnet-20: the whole run (40 steps) ends" "$code" "$(tail -2 "$WORK/log")"
  "$SPRIG" train "${common[@]}" --checkpoint "$WORK/resnet20.ckpt" --stop-after 20 >"$WORK/log" 2>&1
  code=$?
  check_code "resnet-20: a run stopped after step 20 leaves a checkpoint" "$code" "$(tail -2 "$WORK/log")"
  for np in 1 2; do
    if [ "$np" = 1 ]; then
      "$SPRIG" train --resume "$WORK/resnet20.ckpt" --data "$SMALL" --weights-out "$WORK/resnet20-r$np.safetensors" >"$WORK/log" 2>&1
    else
      "$MPIRUN" 2 train --resume "$WORK/resnet20.ckpt" --data "$SMALL" --weights-out "$WORK/resnet20-r$np.safetensors" >"$WORK/log" 2>&1
    fi
    code=$?
    resumed=$(grep -o 'resuming at step [0-9]*' "$WORK/log")
    check "resnet-20: the resumed run on $np rank(s) ends (exit $code, $resumed)" test "$code" -eq 0 -a "$resumed" = "resuming at step 20"
    same_weights "resnet-20: stopped at step 20, resumed on $np rank(s): same weights, masks and running statistics as the whole run" \
      "$WORK/resnet20-full.safetensors" "$WORK/resnet20-r$np.safetensors"
  done
else
  fail "MNIST written in the CIFAR-10 format (NumPy)"
fi
finish
