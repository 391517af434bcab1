#!/usr/bin/env bash
# Weak-scaling experiment: trains a config on 1, 2 and 4 ranks (4 oversubscribed on this
# 2-core machine) at several sparsities, with the per-rank batch fixed (global batch =
# per-rank batch x ranks, 4 micro-batches per rank), and writes
#   OUT/scaling.csv  ranks, sparsity, samples_per_second, efficiency, bytes_per_step, ...
#   OUT/samples_per_second.png, OUT/efficiency.png, OUT/bytes_per_step.png
# efficiency = samples/s on n ranks / (n x samples/s on 1 rank). Plots need matplotlib,
# installed from PyPI into runs/.plot-venv on first use.
#
#   launch/scaling.sh [CONFIG] [SPARSITIES] [RANKS]
#   e.g. launch/scaling.sh configs/methods/rigl-98.yaml "0.9 0.95 0.98" "1 2 4"
#   e.g. DATA=data/mnist-formats/cifar10 launch/scaling.sh configs/resnet-20-rigl-cifar10.yaml "0 0.9" "1 2"
#   env: MODEL (override the config's model, e.g. mlp-wide), DATA (override its data),
#        BATCH_PER_RANK (128), STEPS (300), OUT (runs/scaling-NAME)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
CONFIG="${1:-configs/methods/rigl-98.yaml}"
SPARSITIES="${2:-0.9 0.95 0.98 0.99}"
RANKS="${3:-1 2 4}"
BATCH_PER_RANK="${BATCH_PER_RANK:-128}"
STEPS="${STEPS:-300}"
NAME="$(basename "$CONFIG" .yaml)${MODEL:+-$MODEL}"
OUT="${OUT:-runs/scaling-$NAME}"
mkdir -p "$OUT"
[ -x .build/release/sprig ] || swift build -c release --product sprig
bash launch/fetch-mnist.sh >/dev/null

cfg="$CONFIG"
if [ -n "${MODEL:-}" ]; then # the same config with another model
  cfg="$OUT/config.yaml"
  sed "s/^model: .*/model: $MODEL/" "$CONFIG" > "$cfg"
fi

echo "ranks,sparsity,samples_per_second,efficiency,bytes_per_step,dense_bytes_per_step,global_batch,steps,config" > "$OUT/scaling.csv.tmp"
for s in $SPARSITIES; do
  base=""
  for n in $RANKS; do
    batch=$((BATCH_PER_RANK * n))
    metrics="$OUT/np$n-s$s.jsonl"
    bash launch/mpirun.sh "$n" train --config "$cfg" ${DATA:+--data "$DATA"} --sparsity "$s" --batch-size "$batch" --microbatches $((4 * n)) \
      --max-steps "$STEPS" --check-every 0 --metrics-out "$metrics" > "$OUT/np$n-s$s.log" 2>&1 \
      || { echo "scaling: $n ranks at sparsity $s failed; see $OUT/np$n-s$s.log" >&2; exit 1; }
    row=$(python3 - "$metrics" "$n" "$s" "${base:-}" "$batch" "$STEPS" "$CONFIG" <<'PY'
import json, sys
path, n, s, base, batch, steps, config = sys.argv[1:]
final = [json.loads(l) for l in open(path)][-1]
sps = final["samples_per_second"]
eff = sps / (int(n) * float(base)) if base else 1.0
print(f"{n},{s},{sps:.1f},{eff:.4f},{final['bytes_per_step']:.1f},{final['dense_bytes_per_step']},{batch},{steps},{config}")
PY
)
    [ -n "$base" ] || base=$(echo "$row" | cut -d, -f3)
    echo "$row" >> "$OUT/scaling.csv.tmp"
    echo "  $row"
  done
done
mv "$OUT/scaling.csv.tmp" "$OUT/scaling.csv"
echo "scaling: wrote $OUT/scaling.csv"

VENV="runs/.plot-venv"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import matplotlib" 2>/dev/null; then
  python3 -m venv "$VENV" && "$VENV/bin/pip" install --quiet matplotlib || { echo "scaling: matplotlib unavailable; no plots" >&2; exit 0; }
fi
"$VENV/bin/python" - "$OUT" "$NAME" <<'PY'
import csv, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
out, name = sys.argv[1], sys.argv[2]
rows = list(csv.DictReader(open(f"{out}/scaling.csv")))
by_sparsity = {}
for r in rows:
    by_sparsity.setdefault(r["sparsity"], []).append(r)
for key, label in (("samples_per_second", "samples/s"), ("efficiency", "weak-scaling efficiency"), ("bytes_per_step", "bytes per step per rank")):
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for s, rs in by_sparsity.items():
        ax.plot([int(r["ranks"]) for r in rs], [float(r[key]) for r in rs], marker="o", label=f"sparsity {s}")
    ax.set_xlabel("ranks")
    ax.set_ylabel(label)
    ax.set_xticks(sorted({int(r["ranks"]) for r in rows}))
    if key == "bytes_per_step":
        ax.set_yscale("log")
    ax.set_title(f"{name}: {label}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(f"{out}/{key}.png.tmp.png", dpi=100)
    import os
    os.replace(f"{out}/{key}.png.tmp.png", f"{out}/{key}.png")
print(f"scaling: wrote plots to {out}")
PY
