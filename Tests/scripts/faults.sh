#!/usr/bin/env bash
# Faults under mpirun:
# - a rank killed mid-run (SIGKILL) ends the whole job with a non-zero exit within
#   10 seconds, never a hang, and leaves no rank behind;
# - replicas that drift apart (one rank's weight perturbed by a test hook) are caught by
#   the replica check, which names the tensor and the step, and the job exits non-zero;
# - launch/mpirun.sh --max-restarts 3: rank 1, then rank 0, SIGKILLed at two moments; the
#   job restarts twice from its checkpoints, says so, ends exit 0 with the weights and
#   metrics of the uninterrupted run, bit for bit; a run that fails by itself (exit 2) is
#   not restarted; --max-restarts without --checkpoint is refused.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
DATA="${1:-$ROOT/data/mnist}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
# ranks_of JOB: the sprig processes of the job launch/mpirun.sh started as JOB (children of
# its mpirun), not other sprig processes on the machine.
ranks_of() {
  local runner
  runner="$(pgrep -P "$1" -x mpirun | head -1)"
  pgrep -P "${runner:-$1}" -x sprig | tr '\n' ' '
}
for np in 2 4; do
  "$MPIRUN" "$np" train --config "$ROOT/configs/rigl-mnist.yaml" --data "$DATA" --epochs 500 >"$WORK/log" 2>&1 &
  job=$!
  # the victim is killed only once every rank trains (a first epoch ended)
  if ! wait_for_line "$WORK/log" "^epoch 1/" 60 "$job"; then
    fail "$np ranks train before one is killed" "$(grep -v '^-' "$WORK/log" | tail -3)"
    kill -9 $(ranks_of "$job") $(pgrep -P "$job" -x mpirun) "$job" 2>/dev/null; wait "$job" 2>/dev/null
    continue
  fi
  pids=$(ranks_of "$job")
  ranks=$(echo $pids | wc -w)
  victim=$(echo $pids | tr ' ' '\n' | tail -1)
  check "$np ranks train before one is killed ($ranks sprig processes)" test "$ranks" -eq "$np"
  kill -9 "$victim"
  killed=$(date +%s%N)
  for _ in $(seq 1 60); do kill -0 "$job" 2>/dev/null || break; sleep 0.25; done
  if kill -0 "$job" 2>/dev/null; then
    fail "SIGKILL of one of $np ranks ends the job within 10 s" "still running after 15 s"
    kill -9 $pids $(pgrep -P "$job" -x mpirun) "$job" 2>/dev/null
    continue
  fi
  wait "$job"; code=$?
  took=$((($(date +%s%N) - killed) / 1000000))
  check "SIGKILL of one of $np ranks ends the job: exit $code after $took ms" test "$code" -ne 0 -a "$took" -le 10000
  alive() { for p in $pids; do kill -0 "$p" 2>/dev/null && echo "$p"; done; }
  for _ in $(seq 1 20); do [ -z "$(alive)" ] && break; sleep 0.25; done
  left="$(alive | tr '\n' ' ')"
  check "no rank left behind within 5 s (${left:-none left})" test -z "$left"
done

"$MPIRUN" 2 train --config "$ROOT/configs/rigl-mnist.yaml" --data "$DATA" --max-steps 400 --check-every 100 \
  --inject-divergence-at 150 >"$WORK/div.log" 2>&1
code=$?
expected="sprig: error: replica check: ranks diverged at step 200: fc1.weight on rank 1 differs from rank 0"
check "a diverged replica is caught (exit $code: $(grep -o 'replica check: .*' "$WORK/div.log"))" \
  test "$code" -ne 0 -a "$(grep -c "$expected" "$WORK/div.log")" -eq 1

# Automatic restarts. rank_of JOB R: the pid of rank R of the job launch/mpirun.sh started as JOB.
rank_of() {
  local p
  for p in $(ranks_of "$1"); do grep -qz "^OMPI_COMM_WORLD_RANK=$2\$" "/proc/$p/environ" 2>/dev/null && echo "$p"; done
}
run=(train --config "$ROOT/configs/lenet300-dense.yaml" --data "$DATA" --max-steps 6000 --checkpoint-every 500)
"$MPIRUN" 2 "${run[@]}" --weights-out "$WORK/whole.st" --metrics-out "$WORK/whole.jsonl" >"$WORK/whole.log" 2>&1
check_code "reference: LeNet-300-100, 6000 steps on 2 ranks, uninterrupted" $? "$(tail -2 "$WORK/whole.log")"
"$MPIRUN" --max-restarts 3 2 "${run[@]}" --checkpoint "$WORK/r.ckpt" --weights-out "$WORK/r.st" --metrics-out "$WORK/r.jsonl" \
  >"$WORK/r.log" 2>&1 &
job=$!
kills=0
if wait_for_line "$WORK/r.log" "^epoch 2/" 120 "$job"; then
  victim="$(rank_of "$job" 1)"; [ -n "$victim" ] && kill -9 "$victim" && kills=$((kills + 1))
  # rank 0 dies once the restarted job has trained past where the first one was killed
  if wait_for_line "$WORK/r.log" "^epoch 5/" 120 "$job"; then
    victim="$(rank_of "$job" 0)"; [ -n "$victim" ] && kill -9 "$victim" && kills=$((kills + 1))
  fi
fi
timeout 300 tail --pid="$job" -f /dev/null
wait "$job"; code=$?
restarts="$(grep -c '^sprig: restart [0-9] of 3 after rank [01] died (signal 9); resuming at step [1-9][0-9]* from ' "$WORK/r.log")"
check "--max-restarts 3: ranks 1 and 0 SIGKILLed ($kills kills), 2 restarts from a checkpoint ($restarts lines: $(grep -o 'restart [0-9] of 3 after .*step [0-9]*' "$WORK/r.log" | tr '\n' ';')), exit $code" \
  test "$kills" -eq 2 -a "$restarts" -eq 2 -a "$code" -eq 0
same_weights "restarted twice: the weights of the uninterrupted run" "$WORK/whole.st" "$WORK/r.st"
same_metrics "restarted twice: the metrics file of the uninterrupted run" "$WORK/whole.jsonl" "$WORK/r.jsonl"
"$MPIRUN" --max-restarts 3 2 train --data "$WORK/none" --checkpoint "$WORK/bad.ckpt" >"$WORK/bad.log" 2>&1
code=$?
check "a run that fails by itself is not restarted (exit $code, $(grep -c 'restart' "$WORK/bad.log") restart lines: $(grep -m1 -o 'sprig: error: .*' "$WORK/bad.log" | cut -c1-80))" \
  test "$code" -eq 2 -a "$(grep -c 'restart' "$WORK/bad.log")" -eq 0
"$MPIRUN" --max-restarts 3 2 train --max-steps 10 >"$WORK/nock.log" 2>&1
code=$?
check "--max-restarts without --checkpoint is refused (exit $code: $(head -1 "$WORK/nock.log" | cut -c1-90))" \
  test "$code" -eq 2 -a -n "$(grep 'checkpoint PATH' "$WORK/nock.log")"
finish
