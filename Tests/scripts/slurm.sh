#!/usr/bin/env bash
# Slurm for real: a one-node Slurm 22.05 cluster on this machine (launch/slurm-cluster.sh
# installs slurm-wlm and munge from apt and starts munged, slurmctld and slurmd), and the
# project's own batch script submitted to it:
# - `sbatch -N1 -n2 launch/slurm.sbatch` (srun --mpi=pmix) completes on 2 ranks with the
#   weights of the same run under launch/mpirun.sh 2, bit for bit; so does
#   SPRIG_LAUNCH=mpirun as root;
# - sprig run directly by a batch script of 2 tasks runs alone (it is in no srun step);
# - a plain `srun -n 2 sprig train` (no PMI) is refused: exit 2, one `sprig: error:` line
#   naming `srun --mpi=pmix`, no weights written;
# - scancel of a job training with --checkpoint: the job leaves a checkpoint and a log that
#   says where training stopped and how to resume; the run resumed from it (sbatch
#   --resume) ends with the weights of the uninterrupted run, bit for bit;
# - a job with a time limit (1 minute) far shorter than its run (120 epochs, about 100 s of training):
#   warned by SIGUSR1 before the limit, it checkpoints and requeues itself, at least twice,
#   each requeue says where it resumes, and the job ends COMPLETED with the weights and
#   metrics of the uninterrupted run, bit for bit.
# Needs root. Builds nothing: uses .build/release/sprig (SPRIG). Stops the daemons at the end.
# SLURM_PARTS picks the parts (default "launch scancel requeue"; Tests/scripts/mutations.sh runs one).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
DATA="${1:-$ROOT/data/mnist}"
CLUSTER="$ROOT/launch/slurm-cluster.sh"
SBATCH_SCRIPT="$ROOT/launch/slurm.sbatch"
WORK="$(mktemp -d)"
JOBS=()
cleanup() {
  [ ${#JOBS[@]} -gt 0 ] && scancel "${JOBS[@]}" 2>/dev/null
  bash "$CLUSTER" stop >/dev/null
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
export SPRIG

if [ "$(id -u)" -ne 0 ]; then fail "the Slurm suite runs as root (it installs and starts the daemons)"; finish; exit; fi
bash "$CLUSTER" start >"$WORK/cluster.log" 2>&1
code=$?
check_code "a one-node cluster starts (launch/slurm-cluster.sh: $(tail -1 "$WORK/cluster.log"))" "$code" "$(tail -5 "$WORK/cluster.log")"
[ "$code" -eq 0 ] || { finish; exit; }

# job_state ID: PENDING, RUNNING, COMPLETED, CANCELLED, FAILED... (empty when unknown)
job_state() { scontrol show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2; }
# wait_job ID SECONDS: waits until job ID has ended; prints its final state (TIMEOUT when
# it has not ended in time, and then cancels it).
wait_job() {
  local deadline=$((SECONDS + $2)) state
  while [ "$SECONDS" -lt "$deadline" ]; do
    state="$(job_state "$1")"
    case "$state" in
      ""|PENDING|CONFIGURING|RUNNING|COMPLETING|SUSPENDED|REQUEUED|RESIZING) sleep 0.5 ;;
      *) echo "$state"; return ;;
    esac
  done
  echo "TIMEOUT ($(job_state "$1"), $(squeue -h -j "$1" -o %r 2>/dev/null))"
  scancel "$1" 2>/dev/null
}
# submit NAME [sbatch flags] -- ARGS: submits launch/slurm.sbatch ARGS from $WORK (its
# runs/ go there) with the log in $WORK/NAME.out; prints the job id
submit() {
  local name="$1"; shift
  local flags=()
  while [ "$1" != "--" ]; do flags+=("$1"); shift; done
  shift
  (cd "$WORK" && sbatch --parsable "${flags[@]}" -o "$WORK/$name.out" "$SBATCH_SCRIPT" "$@")
}

PARTS="${SLURM_PARTS:-launch scancel requeue}"
# launch: srun+PMIx and mpirun under sbatch against launch/mpirun.sh, a batch script's own
# sprig, srun without PMI
part_launch() {
  short=(--config "$ROOT/configs/rigl-mnist.yaml" --data "$DATA" --max-steps 300)
  "$MPIRUN" 2 train "${short[@]}" --weights-out "$WORK/mpirun.safetensors" >"$WORK/mpirun.log" 2>&1
  code=$?
  check_code "reference: RigL LeNet-300-100, 300 steps under launch/mpirun.sh 2" "$code" "$(tail -2 "$WORK/mpirun.log")"

  # srun --mpi=pmix (the batch script's default), geometry from sbatch -N1 -n2
  job="$(submit srun -N1 -n2 -- "${short[@]}" --weights-out "$WORK/srun.safetensors")"
  JOBS+=("$job")
  state="$(wait_job "$job" 300)"
  ranks="$(grep -o '[0-9]* ranks\? x batch' "$WORK/srun.out" | head -1)"
  check "sbatch -N1 -n2 launch/slurm.sbatch: job $job ends COMPLETED on 2 ranks (state $state, ${ranks:-no rank line})" \
    test "$state" = COMPLETED -a "$ranks" = "2 ranks x batch"
  [ "$state" = COMPLETED ] || tail -5 "$WORK/srun.out"
  same_weights "srun --mpi=pmix under sbatch: the weights of launch/mpirun.sh 2" "$WORK/mpirun.safetensors" "$WORK/srun.safetensors"

  # SPRIG_LAUNCH=mpirun inside the allocation, as root
  job="$(SPRIG_LAUNCH=mpirun submit mpirun -N1 -n2 -- "${short[@]}" --weights-out "$WORK/sbatch-mpirun.safetensors")"
  JOBS+=("$job")
  state="$(wait_job "$job" 300)"
  ranks="$(grep -o '[0-9]* ranks\? x batch' "$WORK/mpirun.out" | head -1)"
  check "SPRIG_LAUNCH=mpirun as root: job $job ends COMPLETED on 2 ranks (state $state, ${ranks:-no rank line})" \
    test "$state" = COMPLETED -a "$ranks" = "2 ranks x batch"
  [ "$state" = COMPLETED ] || tail -5 "$WORK/mpirun.out"
  same_weights "mpirun under sbatch: the weights of launch/mpirun.sh 2" "$WORK/mpirun.safetensors" "$WORK/sbatch-mpirun.safetensors"

  # sprig run directly by a batch script of 2 tasks: not an srun step, so it runs alone
  job="$(cd "$WORK" && sbatch --parsable -N1 -n2 -o "$WORK/direct.out" \
    --wrap "$(printf '%q ' "$SPRIG" train "${short[@]}" --max-steps 20)")"
  JOBS+=("$job")
  state="$(wait_job "$job" 300)"
  ranks="$(grep -o '[0-9]* ranks\? x batch' "$WORK/direct.out" | head -1)"
  check "sprig run directly by a batch script of 2 tasks trains alone (state $state, ${ranks:-no rank line})" \
    test "$state" = COMPLETED -a "$ranks" = "1 rank x batch"

  # srun without PMI: refused, on every task, with one line from the first
  (cd "$WORK" && timeout 120 srun -N1 -n2 "$SPRIG" train "${short[@]}" --weights-out "$WORK/plain.safetensors" \
    >"$WORK/plain.out" 2>"$WORK/plain.err")
  code=$?
  errors="$(grep -c '^sprig: error:' "$WORK/plain.err")"
  message="$(grep -m1 '^sprig: error:' "$WORK/plain.err")"
  check "srun -n 2 sprig train without --mpi=pmix is refused: exit $code, $errors error line(s): ${message:0:110}..." \
    test "$code" -eq 2 -a "$errors" -eq 1 -a -n "$(echo "$message" | grep -F 'srun --mpi=pmix')" -a ! -e "$WORK/plain.safetensors"
  [ "$code" -eq 2 ] || cat "$WORK/plain.out" "$WORK/plain.err" | tail -5
}

# scancel: a longer run with --checkpoint (and no periodic checkpoint, so that only the
# signal can leave one), cancelled once training is under way. scancel sends each task
# SIGCONT and one SIGTERM, and SIGKILL after KillWait (60 s in launch/slurm-cluster.sh).
part_scancel() {
  long=(--config "$ROOT/configs/rigl-mnist.yaml" --data "$DATA")
  "$MPIRUN" 2 train "${long[@]}" --weights-out "$WORK/whole.safetensors" >"$WORK/whole.log" 2>&1
  code=$?
  check_code "reference: the same run uninterrupted (30 epochs, launch/mpirun.sh 2)" "$code" "$(tail -2 "$WORK/whole.log")"
  job="$(submit long -N1 -n2 -- "${long[@]}" --checkpoint "$WORK/long.ckpt" --checkpoint-every 0)"
  JOBS+=("$job")
  if wait_for_line "$WORK/long.out" '^epoch 2/' 300; then
    scancel "$job"
    state="$(wait_job "$job" 180)"
    stopped="$(grep -m1 -o '^sprig: stopped by SIGTERM after step [0-9]*' "$WORK/long.out")"
    hint="$(grep -m1 -o 'resume with: sprig train --resume [^ ]*' "$WORK/long.out")"
    exits="$(grep -m1 -o 'tasks 0-1: .*' "$WORK/long.out")"
    check "scancel of job $job once training is under way: state $state, '${stopped:-no stop line}', ${exits:-no srun exit line}" \
      test "$state" = CANCELLED -a -n "$stopped" -a "$exits" = "tasks 0-1: Exited with exit code 143"
    check "the log says how to resume: '${hint:-no resume line}'" test "$hint" = "resume with: sprig train --resume $WORK/long.ckpt"
    "$REFERENCE_SPRIG" train --resume "$WORK/long.ckpt" --data "$DATA" --stop-after 0 >"$WORK/probe.log" 2>&1
    at="$(grep -o 'resuming at step [0-9]*' "$WORK/probe.log" | grep -o '[0-9]*$')"
    check "the signal left a valid checkpoint of the step it names (step ${at:-none}, ${stopped:-no stop line})" \
      test -n "$at" -a "$at" = "${stopped##* }"
    job="$(submit resumed -N1 -n2 -- --resume "$WORK/long.ckpt" --data "$DATA" --weights-out "$WORK/resumed.safetensors")"
    JOBS+=("$job")
    state="$(wait_job "$job" 300)"
    resumed="$(grep -o 'resuming at step [0-9]*' "$WORK/resumed.out")"
    check "sbatch launch/slurm.sbatch --resume: job $job ends COMPLETED (state $state, ${resumed:-no resume line})" \
      test "$state" = COMPLETED -a -n "$resumed"
    same_weights "cancelled, resumed under sbatch: the weights of the uninterrupted run" \
      "$WORK/whole.safetensors" "$WORK/resumed.safetensors"
  else
    fail "the job with --checkpoint reached epoch 2" "state $(job_state "$job"); $(tail -3 "$WORK/long.out" 2>/dev/null)"
  fi
}
# requeue: a job whose run is longer than its time limit. Slurm holds a requeued job for
# about two minutes before it may start again (its BeginTime); the test releases it at once
# (scontrol update StartTime=now), as an administrator could, to keep the suite short.
part_requeue() {
  long=(--config "$ROOT/configs/lenet300-dense.yaml" --data "$DATA" --epochs 120)
  "$MPIRUN" 2 train "${long[@]}" --weights-out "$WORK/requeue-whole.st" --metrics-out "$WORK/requeue-whole.jsonl" \
    >"$WORK/requeue-whole.log" 2>&1
  code=$?
  check_code "reference: LeNet-300-100, 120 epochs on 2 ranks, uninterrupted ($(grep -o 'after [0-9]* steps in [0-9.]* s' "$WORK/requeue-whole.log"))" \
    "$code" "$(tail -2 "$WORK/requeue-whole.log")"
  job="$(submit requeue -N1 -n2 --time=1 --signal=B:USR1@55 -- "${long[@]}" --weights-out "$WORK/requeue.st")"
  JOBS+=("$job")
  local deadline=$((SECONDS + 900)) state
  while [ "$SECONDS" -lt "$deadline" ]; do
    state="$(job_state "$job")"
    case "$state" in
      COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY) break ;;
    esac
    # released once the node is idle again (its last run cleaned up), or the job would fail
    if scontrol show job "$job" 2>/dev/null | grep -q 'Reason=BeginTime' && scontrol show node 2>/dev/null | grep -q 'State=IDLE '; then
      sleep 2; scontrol update JobId="$job" StartTime=now 2>/dev/null
    fi
    sleep 1
  done
  requeues="$(grep -c '^slurm.sbatch: the time limit is near: job [0-9]* stopped (exit [0-9]*) and is requeued' "$WORK/requeue.out")"
  resumed="$(grep -c "^sprig: Slurm requeue [0-9]* of job $job; resuming at step [1-9][0-9]* from " "$WORK/requeue.out")"
  check "a job with a 1-minute limit finishes through requeues: state ${state:-none}, $requeues requeues, $resumed resumed ($(grep -o 'requeue [0-9]* of job [0-9]*; resuming at step [0-9]*' "$WORK/requeue.out" | sed 's/ of job [0-9]*;//' | tr '\n' ','))" \
    test "$state" = COMPLETED -a "$requeues" -ge 2 -a "$resumed" -eq "$requeues"
  [ "$state" = COMPLETED ] || tail -5 "$WORK/requeue.out"
  same_weights "finished through requeues: the weights of the uninterrupted run" "$WORK/requeue-whole.st" "$WORK/requeue.st"
  same_metrics "finished through requeues: the metrics of the uninterrupted run" "$WORK/requeue-whole.jsonl" "$WORK/runs/slurm-$job.jsonl"
}
for part in $PARTS; do "part_$part"; done
finish
