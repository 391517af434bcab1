#!/usr/bin/env bash
# Scale benchmark: RigL on MLPs 784-W-W-10 for growing W at a constant number of active
# weights (about 1M, ER distribution), so that the dense size grows with W^2 while the
# sparse model does not. Per W: samples/s, the process's peak RSS, and the bytes one mask
# update moves, against the dense fp32 size of the model and of its sparse layers' dense
# gradients (what a trainer that reduces dense gradients would move per update). Writes
#   OUT/scale.csv, OUT/scale.md (the table of docs/results.md, "Sparse at scale"), OUT/peak_rss.png, OUT/samples_per_second.png
# Plots need matplotlib, installed from PyPI into runs/.plot-venv on first use.
#
#   launch/scale-bench.sh [WIDTHS] [RANKS]
#   e.g. launch/scale-bench.sh "1024 4096 16384 65536" 1
#   env: ACTIVE (1000000), STEPS (60: one mask update at step 50), OUT (runs/scale)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
WIDTHS="${1:-1024 4096 16384 65536}"
RANKS="${2:-1}"
ACTIVE="${ACTIVE:-1000000}"
STEPS="${STEPS:-60}"
OUT="${OUT:-runs/scale}"
mkdir -p "$OUT"
[ -x .build/release/sprig ] || swift build -c release --product sprig
bash launch/fetch-mnist.sh >/dev/null
SPRIG_BIN="$ROOT/.build/release/sprig"

echo "width,dense_weights,dense_fp32_bytes,active_weights,samples_per_second,peak_rss_bytes,update_bytes,sparse_dense_gradient_bytes,test_accuracy,ranks" > "$OUT/scale.csv.tmp"
for w in $WIDTHS; do
  dense=$((784 * w + w * w + w * 10))
  sparsity=$(python3 -c "print(f'{1 - $ACTIVE / $dense:.8f}')")
  cfg="$OUT/w$w.yaml"
  cat > "$cfg" <<YAML
model: {mlp: [784, $w, $w, 10]}
data: data/mnist
epochs: 1
batch_size: 128
microbatches: 2
seed: 1
optimizer: {name: sgd, lr: 0.1, momentum: 0.9, nesterov: true, weight_decay: 0.0001}
sparsity: {method: rigl, distribution: er, sparsity: $sparsity, delta_t: 50, end_fraction: 1}
YAML
  metrics="$OUT/w$w.jsonl"
  rm -f "$OUT/w$w.peak"
  # each rank's peak RSS, by GNU time around the binary
  printf '#!/bin/sh\nexec /usr/bin/time -f %%M -a -o "%s" "%s" "$@"\n' "$OUT/w$w.peak" "$SPRIG_BIN" > "$OUT/timed-sprig"
  chmod +x "$OUT/timed-sprig"
  SPRIG="$OUT/timed-sprig" bash launch/mpirun.sh "$RANKS" train --config "$cfg" --max-steps "$STEPS" --check-every 0 \
    --metrics-out "$metrics" > "$OUT/w$w.log" 2>&1 || { echo "scale-bench: W=$w failed; see $OUT/w$w.log" >&2; exit 1; }
  row=$(python3 - "$metrics" "$w" "$dense" "$OUT/w$w.peak" "$RANKS" <<'PY'
import json, sys
path, w, dense, peaks, ranks = sys.argv[1:]
final = [json.loads(l) for l in open(path)][-1]
kinds = final["bytes_per_step_by_kind"]
update = sum(kinds.get(k, 0) for k in ("dense_gradients", "growth_factors", "growth_candidates", "mask_diffs"))
update = update * final["steps"] / max(final["mask_updates"], 1)
peak = max(int(l) for l in open(peaks) if l.strip().isdigit()) * 1024
sparse_dense = 4 * sum(final["dense_per_layer"].values())
print(f"{w},{dense},{4 * int(dense)},{final['active_weights']},{final['samples_per_second']:.1f},{peak},{update:.0f},"
      f"{sparse_dense},{final['test_accuracy']:.4f},{ranks}")
PY
)
  echo "$row" >> "$OUT/scale.csv.tmp"
  echo "  $row"
done
mv "$OUT/scale.csv.tmp" "$OUT/scale.csv"
python3 - "$OUT/scale.csv" > "$OUT/scale.md" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print("| W | dense weights | dense fp32 | active | samples/s | peak RSS | bytes per update | vs dense gradients |")
print("|---|---|---|---|---|---|---|---|")
for r in rows:
    gb = lambda b: f"{int(b) / 2**30:.2f} GiB" if int(b) >= 2**30 else f"{int(b) / 2**20:.0f} MiB"
    print(f"| {r['width']} | {int(r['dense_weights']):.3g} | {gb(r['dense_fp32_bytes'])} | {int(r['active_weights']):,} | "
          f"{float(r['samples_per_second']):,.0f} | {gb(r['peak_rss_bytes'])} | {gb(float(r['update_bytes']))} | "
          f"{100 * float(r['update_bytes']) / int(r['sparse_dense_gradient_bytes']):.2f}% |")
PY
echo "scale-bench: wrote $OUT/scale.csv and $OUT/scale.md"
cat "$OUT/scale.md"

VENV="runs/.plot-venv"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import matplotlib" 2>/dev/null; then
  python3 -m venv "$VENV" && "$VENV/bin/pip" install --quiet matplotlib || { echo "scale-bench: matplotlib unavailable; no plots" >&2; exit 0; }
fi
"$VENV/bin/python" - "$OUT" <<'PY'
import csv, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
out = sys.argv[1]
rows = list(csv.DictReader(open(f"{out}/scale.csv")))
w = [int(r["width"]) for r in rows]
fig, ax = plt.subplots(figsize=(5.5, 3.8))
ax.loglog(w, [int(r["dense_fp32_bytes"]) / 2**20 for r in rows], marker="s", label="dense model, fp32")
ax.loglog(w, [int(r["peak_rss_bytes"]) / 2**20 for r in rows], marker="o", label="Sprig RigL, peak RSS")
ax.loglog(w, [float(r["update_bytes"]) / 2**20 for r in rows], marker="^", label="Sprig, bytes per mask update")
ax.set_xlabel("hidden width W (784-W-W-10, ~1M active weights)")
ax.set_ylabel("MiB")
ax.set_title("Memory follows the active weights")
ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig(f"{out}/peak_rss.png", dpi=120)
fig, ax = plt.subplots(figsize=(5.5, 3.8))
ax.semilogx(w, [float(r["samples_per_second"]) for r in rows], marker="o")
ax.set_xlabel("hidden width W")
ax.set_ylabel("samples/s (incl. one mask update)")
ax.set_title("RigL throughput at ~1M active weights")
fig.tight_layout()
fig.savefig(f"{out}/samples_per_second.png", dpi=120)
print(f"scale-bench: wrote {out}/peak_rss.png and {out}/samples_per_second.png")
PY
