#!/usr/bin/env bash
# launch/suite-runner.sh, the runner of launch/test.sh, against deliberately bad suites:
# - a suite that hangs in a process group of its own (as mpirun does under mpirun.sh's
#   job control) past its time limit: the whole job is killed, the hung process included,
#   and the suite counts a failure;
# - a suite that passes but leaves a process running in another process group: the stray
#   is named and killed, and the suite counts a failure;
# - a well-behaved suite counts its passes and nothing else.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cp /bin/sleep "$WORK/sprig-hung"
cp /bin/sleep "$WORK/sprig-stray"
cat > "$WORK/hangs.sh" <<SH
set -m
"$WORK/sprig-hung" 300 &
wait
SH
cat > "$WORK/leaves.sh" <<SH
set -m
"$WORK/sprig-stray" 300 &
echo "1 passed, 0 failed"
SH
printf 'echo "2 passed, 0 failed"\n' > "$WORK/good.sh"
# gone NAME: no process NAME within 5 s (a killed process is reaped by init shortly after)
# run_suite NAME SECONDS: the runner on $WORK/NAME.sh alone; its output and its totals
# ("totals PASSED FAILED") in $WORK/NAME.log
run_suite() {
  (cd "$ROOT" && source launch/suite-runner.sh && suite "$1" "$2" bash "$WORK/$1.sh"; echo "totals $passed $failed") >"$WORK/$1.log" 2>&1
}
gone() { local i; for i in $(seq 1 25); do pgrep -x "$1" >/dev/null || return 0; sleep 0.2; done; return 1; }

run_suite hangs 2
check "a suite hung in another process group past its time limit fails, hung process killed ($(grep -o "totals.*\|ran out[^)]*\|left processes running[^)]*" "$WORK/hangs.log" | tr '\n' ' '))" \
  test -n "$(grep -x 'totals 0 [1-9]' "$WORK/hangs.log")" -a -n "$(grep 'ran out of its 2 s' "$WORK/hangs.log")"
check "nothing of the hung suite is left running" gone sprig-hung
run_suite leaves 60
check "a suite that leaves a process running fails, naming it ($(grep -o "totals.*\|left processes running.*" "$WORK/leaves.log" | tr '\n' ' '))" \
  test -n "$(grep -x 'totals 1 1' "$WORK/leaves.log")" -a -n "$(grep 'left processes running:.*sprig-stray' "$WORK/leaves.log")"
check "the stray is killed" gone sprig-stray
run_suite good 60
check "a well-behaved suite counts its passes only ($(grep -o 'totals.*' "$WORK/good.log"))" test -n "$(grep -x 'totals 2 0' "$WORK/good.log")"
pkill -x sprig-hung; pkill -x sprig-stray
finish
