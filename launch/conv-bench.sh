#!/usr/bin/env bash
# Conv-net training speed: `sprig bench` against PyTorch (dense) and rigl-torch (RigL) on
# CIFAR-shaped synthetic batches (3 x 32 x 32, batch 128, one thread each), in one run,
# pair by pair: each round runs Sprig's rows, then PyTorch dense, then rigl-torch, so drift of
# a shared machine hits every side. The table gives each round's figures and the median of
# the rounds' ratios; the plot shows samples/s against sparsity.
#
# Then inference: `sprig bench --inference` (the forward pass alone at batch 1 and 128, each
# sparsity of INFERENCE_SPARSITIES beside dense) and PyTorch's model.eval() forward, in turn.
#
#   launch/conv-bench.sh    env: MODELS (resnet-20,wrn-22-2,vgg-16), SPARSITIES (0,0.8,0.9,0.95,0.98),
#                                INFERENCE_MODELS (resnet-20), INFERENCE_SPARSITIES (0.9),
#                                RIGL (0.9: rigl-torch's sparsity), ROUNDS (2), SECONDS_PER_ROW (8),
#                                TORCH_STEPS (10 per timed block), OUT (runs/conv-bench),
#                                UPDATE_README (0), UPDATE_RESULTS (0, the same)
#
# Sprig's sparse rows are RigL with ERK, mask updates every 100 steps (amortised: `sprig bench`
# times the update step apart). cifar_bench.py's rigl-torch spreads sparsity uniformly.
# Writes OUT/conv-bench.jsonl (every measurement), OUT/conv-bench.md (the table) and
# OUT/conv-bench.svg (the plot); with UPDATE_README=1 the table goes into docs/results.md
# (its conv-speed-table block, under a stamp naming this command, the commit and the day)
# and the plot to docs/conv-bench.svg.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
source "$ROOT/launch/results-stamp.sh"
STAMP="$(stamp_command launch/conv-bench.sh MODELS SPARSITIES INFERENCE_MODELS INFERENCE_SPARSITIES RIGL ROUNDS \
         SECONDS_PER_ROW TORCH_STEPS SPRIG_PEER)"
MODELS="${MODELS:-resnet-20,wrn-22-2,vgg-16}"
SPARSITIES="${SPARSITIES:-0,0.8,0.9,0.95,0.98}"
RIGL="${RIGL:-0.9}"
INFERENCE_MODELS="${INFERENCE_MODELS:-resnet-20}"
INFERENCE_SPARSITIES="${INFERENCE_SPARSITIES:-0.9}"
ROUNDS="${ROUNDS:-2}"
ROW_SECONDS="${SECONDS_PER_ROW:-8}"
TORCH_STEPS="${TORCH_STEPS:-10}"
OUT="${OUT:-runs/conv-bench}"
VENV="${SPRIG_PY_VENV:-$ROOT/runs/.py-venv}"
PEER="${SPRIG_PEER:-$ROOT/python/bench_cifar_torch.py}"   # or another peer printing "RESULT {json}"
mkdir -p "$OUT"
[ -x .build/release/sprig ] || swift build -c release --product sprig
bash launch/install-torch.sh "$VENV" >/dev/null
PY="$VENV/bin/python"
"$PY" -c "import rigl_torch" 2>/dev/null || "$PY" -m pip install --quiet --no-deps rigl-torch==0.5.2
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
LOG="$OUT/conv-bench.jsonl.tmp"
: > "$LOG"

# record KIND ROUND MODEL JSON-LINES...: tags each JSON object with what it measured.
record() {
  local kind=$1 round=$2 model=$3; shift 3
  printf '%s\n' "$@" | sed -n 's/^RESULT //; /^{/p' | "$PY" -c '
import json, sys
for line in sys.stdin:
    o = json.loads(line)
    if o.get("kernel", "inference") != "inference": continue  # sgemm and kernel rows
    o.setdefault("samples_per_second", o.get("samples_per_s"))  # cifar_bench.py names it so
    o["measure"] = sys.argv[1]; o["round"] = int(sys.argv[2]); o["model"] = sys.argv[3]; print(json.dumps(o))' "$kind" "$round" "$model" >> "$LOG"
}

for r in $(seq 1 "$ROUNDS"); do
  for model in ${MODELS//,/ }; do
    echo "conv-bench: round $r of $ROUNDS, $model"
    record sprig "$r" "$model" "$(.build/release/sprig bench --json --models "$model" --sparsities "$SPARSITIES" \
                                   --distribution erk --seconds "$ROW_SECONDS")"
    record torch "$r" "$model" "$("$PY" "$PEER" --model "$model" --steps "$TORCH_STEPS")"
    record rigl-torch "$r" "$model" "$("$PY" "$PEER" --model "$model" --steps "$TORCH_STEPS" --rigl "$RIGL")"
  done
  for model in ${INFERENCE_MODELS//,/ }; do
    echo "conv-bench: round $r of $ROUNDS, $model inference"
    record sprig-inference "$r" "$model" "$(.build/release/sprig bench --json --inference --models "$model" \
                                             --sparsities "$INFERENCE_SPARSITIES" --distribution erk --seconds 2)"
    for b in 1 128; do
      record torch-inference "$r" "$model" "$("$PY" "$PEER" --model "$model" --inference --batch "$b")"
    done
  done
done
mv "$LOG" "$OUT/conv-bench.jsonl"
"$PY" launch/conv_bench_table.py "$OUT/conv-bench.jsonl" "$OUT/conv-bench.md" "$OUT/conv-bench.svg" "$RIGL"
if [ "${UPDATE_README:-0}" = 1 ] || [ "${UPDATE_RESULTS:-0}" = 1 ]; then
  python3 launch/readme_block.py conv-speed-table docs/results.md --command "$STAMP" --commit "$STAMP_COMMIT" < "$OUT/conv-bench.md"
  cp "$OUT/conv-bench.svg" docs/conv-bench.svg.tmp && mv docs/conv-bench.svg.tmp docs/conv-bench.svg
fi
