#!/usr/bin/env bash
# Speed benchmark: the figures docs/results.md's speed table shows ("Speed against PyTorch,
# and MNIST to 98% in under 3 s"), measured in one run on this
# machine, each pair alternated ROUNDS times so that drift of a shared machine hits both
# sides; the table gives the median of the pairs' ratios, and every figure behind it.
#
#   1. RigL 98% LeNet-300-100: `sprig bench` against rigl-torch 0.5.2 (PyTorch CPU), one
#      thread each, batch 128, every layer 98% sparse, mask updates every 100 steps
#      (python/bench_rigl_torch.py);
#   2. dense LeNet-300-100 and LeNet-5: `sprig bench` against plain PyTorch;
#   3. dense LeNet-300-100 with 4 micro-batches (exact rank-count invariance) against 1, both in
#      one process, block by block in turn (`sprig bench --versus-microbatches 1`);
#   4. LeNet-5 RigL 95% ERK against Sprig's dense LeNet-5 (one `sprig bench` call);
#   5. configs/fast-mnist.yaml on 2 ranks (launch/mpirun.sh 2), seeds 1-5: wall time of the
#      whole command (start-up included) and test accuracy.
#
#   launch/speed-bench.sh     env: ROUNDS (3), SECONDS_PER_ROW (2), TORCH_STEPS (2000), SEEDS
#                                  ("1 2 3 4 5"), OUT (runs/speed), UPDATE_README (0),
#                                  UPDATE_RESULTS (0, the same)
#
# Installs PyTorch (launch/install-torch.sh) and rigl-torch from PyPI on first use. Writes
# OUT/speed.jsonl (every measurement) and OUT/speed.md (the table), and with UPDATE_README=1
# the table into docs/results.md between its speed-table markers, under a stamp naming this
# command, the commit and the day (launch/readme_block.py). Takes about 6 minutes.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source "$ROOT/launch/results-stamp.sh"
STAMP="$(stamp_command launch/speed-bench.sh ROUNDS SECONDS_PER_ROW TORCH_STEPS SEEDS)"
ROUNDS="${ROUNDS:-3}"
ROW_SECONDS="${SECONDS_PER_ROW:-2}"
TORCH_STEPS="${TORCH_STEPS:-2000}"   # rigl-torch; PyTorch dense LeNet-300-100 half, LeNet-5 a tenth
SEEDS="${SEEDS:-1 2 3 4 5}"
OUT="${OUT:-runs/speed}"
VENV="${SPRIG_PY_VENV:-$ROOT/runs/.py-venv}"
mkdir -p "$OUT"
[ -x .build/release/sprig ] || swift build -c release --product sprig
bash launch/fetch-mnist.sh >/dev/null
bash launch/install-torch.sh "$VENV" >/dev/null
PY="$VENV/bin/python"
"$PY" -c "import rigl_torch" 2>/dev/null || "$PY" -m pip install --quiet --no-deps rigl-torch==0.5.2
SPRIG="$ROOT/.build/release/sprig"
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
LOG="$OUT/speed.jsonl.tmp"
: > "$LOG"

# record KIND ROUND JSON-LINES...: tags each JSON object with what it measured.
record() {
  local kind=$1 round=$2; shift 2
  printf '%s\n' "$@" | grep '^{' | "$PY" -c '
import json, sys
for line in sys.stdin:
    o = json.loads(line); o["measure"] = sys.argv[1]; o["round"] = int(sys.argv[2]); print(json.dumps(o))' "$kind" "$round" >> "$LOG"
}
bench() { "$SPRIG" bench --json --seconds "$ROW_SECONDS" "$@" | grep -v '"kernel"'; }

for r in $(seq 1 "$ROUNDS"); do
  echo "speed-bench: round $r of $ROUNDS"
  record rigl98-sprig "$r" "$(bench --models lenet-300-100 --sparsities 0.98)"
  record rigl98-torch "$r" "$("$PY" python/bench_rigl_torch.py --sparsity 0.98 --steps "$TORCH_STEPS")"
  # 4 micro-batches and 1 in one process, block by block in turn (bench --versus-microbatches).
  dense=$(bench --models lenet-300-100 --sparsities 0 --microbatches 4 --versus-microbatches 1)
  record dense300-sprig "$r" "$dense"
  record dense300-mb1 "$r" "$(printf '%s\n' "$dense" | "$PY" -c '
import json, sys
for line in sys.stdin:
    if line.startswith("{"):
        o = json.loads(line); print(json.dumps({"samples_per_second": o["versus_samples_per_second"], "microbatches": o["versus_microbatches"]}))')"
  record dense300-torch "$r" "$("$PY" python/bench_rigl_torch.py --sparsity 0 --steps $((TORCH_STEPS / 2)))"
  record lenet5-sprig "$r" "$(bench --models lenet-5 --sparsities 0,0.95 --distribution erk)"
  record lenet5-torch "$r" "$("$PY" python/bench_rigl_torch.py --model lenet-5 --sparsity 0 --steps $((TORCH_STEPS / 10)))"
done
for seed in $SEEDS; do
  echo "speed-bench: fast-mnist seed $seed"
  start=$(date +%s.%N)
  out=$(bash launch/mpirun.sh 2 train --config configs/fast-mnist.yaml --seed "$seed" 2>&1)
  end=$(date +%s.%N)
  accuracy=$(printf '%s\n' "$out" | sed -n 's/^done: test_accuracy \([0-9.]*\)%.*/\1/p')
  [ -n "$accuracy" ] || { printf '%s\n' "$out" >&2; echo "speed-bench: fast-mnist seed $seed failed" >&2; exit 1; }
  record fast-mnist "$seed" "{\"seed\": $seed, \"wall_seconds\": $(echo "$end - $start" | bc), \"test_accuracy\": $accuracy}"
done
mv "$LOG" "$OUT/speed.jsonl"

# The table, and whether each floor is met: a missed floor ends the script with exit 1
# (after the table is written), unless FLOORS=report (a short run, too short to judge speed).
code=0
"$PY" launch/speed_table.py "$OUT/speed.jsonl" "$OUT/speed.md" || code=$?
[ "$code" -le 1 ] || exit "$code"
if [ "${UPDATE_README:-0}" = 1 ] || [ "${UPDATE_RESULTS:-0}" = 1 ]; then
  python3 launch/readme_block.py speed-table docs/results.md --command "$STAMP" --commit "$STAMP_COMMIT" < "$OUT/speed.md"
fi
if [ "$code" -ne 0 ]; then
  if [ "${FLOORS:-enforce}" = report ]; then echo "speed-bench: floors missed (FLOORS=report: not an error)"; else exit 1; fi
fi
