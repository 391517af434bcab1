#!/usr/bin/env bash
# The project's launch scripts do what the README says: launch/train.sh sets up and runs the
# main job, RigL sparse training (configs/rigl-mnist.yaml), as one process and with NP=2
# under mpirun, passing extra flags on to `sprig train`.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

for np in 1 2; do
  NP=$np bash "$ROOT/launch/train.sh" --max-steps 300 --metrics-out "$WORK/train-$np.jsonl" >"$WORK/log" 2>&1
  code=$?
  method="$(grep -o 'method [a-z]*' "$WORK/log" | head -1)"
  ranks="$(grep -o '[0-9]* ranks\? x batch' "$WORK/log" | head -1)"
  check "NP=$np launch/train.sh runs RigL ('$method', '$ranks', exit $code) and passes its flags on" \
    test "$code" -eq 0 -a "$method" = "method rigl" -a "${ranks%% *}" = "$np" \
    -a -n "$(grep '"final": true' "$WORK/train-$np.jsonl" 2>/dev/null | grep '"steps": 300')"
done
finish
