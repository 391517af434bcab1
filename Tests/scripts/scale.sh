#!/usr/bin/env bash
# Sparse at scale (about 2 minutes on 2 cores):
# - RigL on 784-8192-8192-10 at 99.5% (configs/scale/rigl-8192.yaml, 120 steps, updates at
#   50 and 100) ends bitwise on 2 ranks as on 1, and its update steps move at most 10% of
#   the bytes of its sparse layers' dense gradients (4 in out per update; the run's
#   "update steps:" line). Negative control: the same run with dense gradients reduced to
#   rank 0 (`dense_gradient_reduction: reduce`) moves more than 10%, so the check can fail.
# - RigL on 784-32768-32768-10 at 99.9% ER (configs/scale/rigl-32768.yaml: 1.1e9 potential
#   connections, 4.4 GB as dense fp32; 250 steps, 2 mask updates) peaks at most 1.25 GB of
#   resident memory and reaches at least 80% test accuracy; no measurement fails.
# SCALE_ONLY=memory runs only the second, and TIME_BIN names the timer (default GNU time;
# Tests/scripts/mutations.sh gives one that measures nothing).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
DATA="${1:-$ROOT/data/mnist}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# update_percent LOG: the percentage of the "update steps:" line of a run's log.
update_percent() { grep -o 'bytes each = [0-9.]*%' "$1" | grep -o '[0-9.]*' | head -1; }
# at_most NAME VALUE LIMIT: passes when VALUE (a number) is at most LIMIT.
at_most() { check "$1 (${2:-none}, at most $3)" python3 -c "import sys; sys.exit(0 if '$2' and float('$2') <= $3 else 1)"; }

if [ "${SCALE_ONLY:-}" != memory ]; then
  for np in 1 2; do
    "$MPIRUN" "$np" train --config "$ROOT/configs/scale/rigl-8192.yaml" --data "$DATA" \
      --weights-out "$WORK/r$np.safetensors" > "$WORK/r$np.log" 2>&1
    code=$?
    check_code "rigl-8192 on $np rank(s) trains 120 steps" "$code" "$(tail -2 "$WORK/r$np.log" | tr '\n' ' ')"
    check "rigl-8192 on $np rank(s) grows from factors with 2 mask updates" grep -q "update steps: 2, .* path factors" "$WORK/r$np.log"
  done
  same_weights "rigl-8192: 2 ranks end bitwise as 1 rank (weights and masks)" "$WORK/r1.safetensors" "$WORK/r2.safetensors"
  at_most "rigl-8192 on 2 ranks: update-step bytes in % of the sparse layers' dense gradients" "$(update_percent "$WORK/r2.log")" 10

  sed 's/^  end_fraction: 1$/  end_fraction: 1\n  dense_gradient_reduction: reduce/' "$ROOT/configs/scale/rigl-8192.yaml" > "$WORK/reduce.yaml"
  "$MPIRUN" 2 train --config "$WORK/reduce.yaml" --data "$DATA" > "$WORK/reduce.log" 2>&1
  code=$?
  check_code "rigl-8192 with dense gradients reduced to rank 0 trains (negative control)" "$code" "$(tail -2 "$WORK/reduce.log" | tr '\n' ' ')"
  p="$(update_percent "$WORK/reduce.log")"
  check "negative control: reducing dense gradients moves more than 10% per update (${p:-none}%, path reduce)" \
    python3 -c "import sys; sys.exit(0 if '$p' and float('$p') > 10 else 1)"
fi

"${TIME_BIN:-/usr/bin/time}" -f "peak %M kB" -o "$WORK/peak" "$SPRIG" train --config "$ROOT/configs/scale/rigl-32768.yaml" --data "$DATA" \
  --metrics-out "$WORK/32768.jsonl" > "$WORK/32768.log" 2>&1
code=$?
check_code "rigl-32768 (1.1e9 connections, 0.1% active) trains 250 steps" "$code" "$(tail -2 "$WORK/32768.log" | tr '\n' ' ')"
check "rigl-32768 updates masks twice" grep -q '"mask_updates": 2' "$WORK/32768.jsonl"
# No measurement is a failure, never a peak of 0 (GNU time missing: launch/install-deps.sh
# installs it).
peak="$(grep -o 'peak [0-9]*' "$WORK/peak" 2>/dev/null | grep -o '[0-9]*')"
at_most "rigl-32768: peak resident memory in GB (/usr/bin/time: $(head -c 80 "$WORK/peak" 2>/dev/null | tr '\n' ' '))" \
  "$([ -n "$peak" ] && python3 -c "print($peak * 1024 / 1e9)")" 1.25
accuracy="$(grep -o '"test_accuracy": [0-9.]*' "$WORK/32768.jsonl" | tail -1 | grep -o '[0-9.]*$')"
check "rigl-32768: test accuracy at least 80% (${accuracy:-none})" python3 -c "import sys; sys.exit(0 if '$accuracy' and float('$accuracy') >= 0.8 else 1)"
finish
