#!/usr/bin/env bash
# NNrelief against magnitude pruning and RigL at the same sparsity: runs `sprig prune`
# (NNrelief, fine-tuning between rounds) on a model, reads the per-layer sparsities it
# ends with, then trains gradual magnitude pruning and RigL to exactly those per-layer
# sparsities for as many epochs in all (SGD, cosine, as in configs/methods/), and writes a
# Markdown table to runs/pruning-MODEL.md (the papers' NNrelief setups and their stamped
# tables are launch/reproduce.sh's).
#
#   launch/compare-pruning.sh MODEL ROUNDS RETRAIN_EPOCHS     MODEL: lenet300 or lenet5
#   REUSE=1 keeps a finished NNrelief run of the same output folder; ALPHA_FC, ALPHA_CONV
#   (0.95, 0.9) set NNrelief's thresholds; BASELINE_LR the baselines' learning rate (the
#   method configs' 0.1 by default); OUT the output folder.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
MODEL="${1:-lenet300}"
ROUNDS="${2:-16}"
RETRAIN="${3:-4}"
SPRIG="${SPRIG:-.build/release/sprig}"
[ -x "$SPRIG" ] || swift build -c release --product sprig
bash launch/fetch-mnist.sh >/dev/null
OUT="${OUT:-runs/pruning-$MODEL}"
ALPHAS=(--alpha-fc "${ALPHA_FC:-0.95}" --alpha-conv "${ALPHA_CONV:-0.9}")
mkdir -p "$OUT"
export OPENBLAS_NUM_THREADS=1
zoo=$(sed -n 's/^model: //p' "configs/nnrelief-$MODEL.yaml")

echo "compare-pruning: NNrelief on $zoo, $ROUNDS rounds of $RETRAIN epochs (logs in $OUT)"
if [ -z "${REUSE:-}" ] || ! grep -q '"final": true' "$OUT/nnrelief.jsonl" 2>/dev/null; then
  "$SPRIG" prune --config "configs/nnrelief-$MODEL.yaml" --iterations "$ROUNDS" --retrain-epochs "$RETRAIN" --fine-tune "${ALPHAS[@]}" \
    --metrics-out "$OUT/nnrelief.jsonl" > "$OUT/nnrelief.log" 2>&1
fi
grep "retrained" "$OUT/nnrelief.log" | tail -1

# the same per-layer sparsities for the baselines
{ read -r EPOCHS; read -r LAYERS; read -r SPARSITY; } < <(python3 - "$OUT/nnrelief.jsonl" <<'PY'
import json, sys
final = [json.loads(l) for l in open(sys.argv[1])][-1]
a, d = final["active_per_layer"], final["dense_per_layer"]
layers = "{" + ", ".join(f"{n}: {1 - a[n] / d[n]:.6f}" for n in a) + "}"
print(final["epochs"], layers, f"{1 - final['active_weights'] / final['dense_weights']:.6f}", sep="\n")
PY
)
for method in gmp rigl; do
  sed -e "s/^model: .*/model: $zoo/" -e "s/^epochs: .*/epochs: $EPOCHS/" -e "s/^  sparsity: .*/  sparsity: $SPARSITY\n  layers: $LAYERS/" \
    -e "s/lr: 0.1,/lr: ${BASELINE_LR:-0.1},/" "configs/methods/$method-98.yaml" > "$OUT/$method.yaml"
  "$SPRIG" train --config "$OUT/$method.yaml" --metrics-out "$OUT/$method.jsonl" > "$OUT/$method.log" 2>&1 &
done
wait
python3 - "$OUT" "$MODEL" "$zoo" "$ROUNDS" "$RETRAIN" "${ALPHA_FC:-0.95}" "${ALPHA_CONV:-0.9}" "${BASELINE_LR:-0.1}" <<'PY'
import json, re, sys
out, model, zoo, rounds, retrain, alpha_fc, alpha_conv, lr = sys.argv[1:]
def final(name):
    return [json.loads(l) for l in open(f"{out}/{name}.jsonl")][-1]
n, g, r = final("nnrelief"), final("gmp"), final("rigl")
def row(label, f, extra=""):
    a, d = f["active_per_layer"], f["dense_per_layer"]
    per = ", ".join(f"{k} {a[k]:,}" for k in a)
    return (f"| {label} | {100 * f['test_accuracy']:.2f}% | {f['active_weights']:,} of {f['dense_weights']:,} "
            f"({100 * f['active_weights'] / f['dense_weights']:.2f}%) | {per} | {extra} |")
removed = ", ".join(f"{k} {v}" for k, v in n["removed_neurons"].items())
table = "\n".join([
    "| method | test accuracy | weights | per layer | neurons removed |",
    "|---|---|---|---|---|",
    row(f"NNrelief ({rounds} rounds, fine-tuning, alpha {alpha_fc} / {alpha_conv})", n, removed),
    row(f"gradual magnitude pruning (SGD lr {lr}, cosine)", g, "-"),
    row(f"RigL (SGD lr {lr}, cosine)", r, "-"),
])
settings = "" if (alpha_fc, alpha_conv) == ("0.95", "0.9") else f"ALPHA_FC={alpha_fc} ALPHA_CONV={alpha_conv} "
settings += "" if lr == "0.1" else f"BASELINE_LR={lr} "
caption = (f"{zoo} on MNIST, {n['epochs']} epochs in all for each method, seed 1, one process "
           f"(`{settings}launch/compare-pruning.sh {model} {rounds} {retrain}`):")
open(f"{out}.md", "w").write(caption + "\n\n" + table + "\n")
print(caption + "\n\n" + table)
PY
