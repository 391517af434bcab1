#!/usr/bin/env bash
# Sprig's whole test suite, from a fresh clone: installs what is missing (system packages,
# MNIST), builds, runs the unit tests (swift test, no MPI), then the script tests: bad
# input through the command line, rank-count invariance under mpirun, a killed rank,
# multi-node runs over network namespaces (root), checkpoints and resume, export read by
# Python (safetensors from PyPI) and pictures, and the accuracy floors on real MNIST.
# Ends with "N passed, M failed" over all of them.
#
#   launch/test.sh            (QUICK=1 skips the 20-epoch accuracy run)
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash launch/install-deps.sh || exit 1
bash launch/fetch-mnist.sh || exit 1
command -v swift >/dev/null || { echo "test.sh: swift not found: install Swift 6.1 or later (swift.org)" >&2; exit 1; }
swift build -c release --product sprig || exit 1

passed=0
failed=0
# suite NAME COMMAND...: runs one suite, which ends with a "N passed, M failed" line, and
# adds its counts. A suite that exits non-zero without counting a failure counts as one.
suite() {
  echo "== $1"
  local log; log="$(mktemp)"
  "${@:2}" 2>&1 | tee "$log"
  local code=${PIPESTATUS[0]} p=0 f=0 counts
  counts="$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)"
  rm -f "$log"
  if [ -n "$counts" ]; then p=$(echo "$counts" | cut -d' ' -f1); f=$(echo "$counts" | cut -d' ' -f3); fi
  if [ "$code" -ne 0 ] && [ "$f" -eq 0 ]; then echo "suite '$1' exited with $code"; f=1; fi
  passed=$((passed + p)); failed=$((failed + f))
}

# swift test, summed up as a "N passed, M failed" line from Swift Testing's report.
unit_tests() {
  local log; log="$(mktemp)"
  swift test 2>&1 | tee "$log"
  local code=${PIPESTATUS[0]} total bad
  total="$(grep -oE 'Test run with [0-9]+ tests' "$log" | grep -oE '[0-9]+' | tail -1)"
  bad="$(grep -E '^✘ Test .* failed' "$log" | grep -vc '^✘ Test run with')"
  rm -f "$log"
  echo "$(( ${total:-0} - bad )) passed, $bad failed"
  return "$code"
}

suite "unit tests" unit_tests
suite "bad input" bash Tests/scripts/bad-input.sh
suite "rank-count invariance (mpirun)" bash Tests/scripts/rank-invariance.sh
suite "faults: a killed rank (mpirun)" bash Tests/scripts/faults.sh
suite "multi-node over namespaces: same model, cut link" bash Tests/scripts/multinode.sh
suite "checkpoints: resume, NaN, SIGKILL mid-write" bash Tests/scripts/checkpoints.sh
suite "export: Python safetensors, eval, pictures" bash Tests/scripts/export.sh
suite "NNrelief on 2 ranks (mpirun)" bash Tests/scripts/nnrelief.sh
[ -n "${QUICK:-}" ] || suite "accuracy on MNIST" bash Tests/scripts/accuracy.sh

echo "== all suites"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
