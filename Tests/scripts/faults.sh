#!/usr/bin/env bash
# Faults under mpirun:
# - a rank killed mid-run (SIGKILL) ends the whole job with a non-zero exit within
#   10 seconds, never a hang, and leaves no rank behind;
# - replicas that drift apart (one rank's weight perturbed by a test hook) are caught by
#   the replica check, which names the tensor and the step, and the job exits non-zero.
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
finish
