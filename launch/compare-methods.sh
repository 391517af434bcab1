#!/usr/bin/env bash
# Trains dense, Static, SET, SNFS, SNIP, RigL and gradual magnitude pruning on LeNet-300-100
# at one uniform sparsity (default 98%; configs/methods/), same epochs and seed, two runs
# at a time, and writes the comparison as a Markdown table into README.md (between the
# methods-table markers) and to runs/methods-SS.md.
#
#   launch/compare-methods.sh [SPARSITY_PERCENT]      e.g. launch/compare-methods.sh 95
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PCT="${1:-98}"
SPRIG="${SPRIG:-.build/release/sprig}"
[ -x "$SPRIG" ] || swift build -c release --product sprig
bash launch/fetch-mnist.sh >/dev/null
OUT="runs/methods-$PCT"
mkdir -p "$OUT"
export OPENBLAS_NUM_THREADS=1

run() { # run NAME CONFIG
  "$SPRIG" train --config "$2" --metrics-out "$OUT/$1.jsonl" > "$OUT/$1.log" 2>&1 \
    && echo "  $1: $(grep '^done:' "$OUT/$1.log")" || { echo "  $1 failed: $(tail -3 "$OUT/$1.log")"; return 1; }
}
echo "compare-methods: $PCT% uniform sparsity, logs in $OUT"
methods=(dense static set snfs snip rigl gmp)
for ((i = 0; i < ${#methods[@]}; i += 2)); do
  pids=()
  for m in "${methods[@]:i:2}"; do
    cfg="configs/methods/$m-$PCT.yaml"; [ "$m" = dense ] && cfg="configs/methods/dense.yaml"
    run "$m" "$cfg" & pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
done

python3 - "$OUT" "$PCT" "${methods[@]}" <<'PY'
import json, re, sys
out, pct, methods = sys.argv[1], sys.argv[2], sys.argv[3:]
names = {"dense": "Dense", "static": "Static", "set": "SET", "snfs": "SNFS", "snip": "SNIP", "rigl": "RigL", "gmp": "Gradual pruning"}
rows = [f"| method | test accuracy | active weights | training FLOPs (x dense) | inference FLOPs (x dense) | samples/s |",
        "|---|---|---|---|---|---|"]
for m in methods:
    final = [json.loads(l) for l in open(f"{out}/{m}.jsonl")][-1]
    active = final.get("active_weights", final["parameters"])
    rows.append(f"| {names[m]} | {100 * final['test_accuracy']:.2f}% | {active:,} of {final.get('dense_weights', active):,} "
                f"| {final['training_flops_vs_dense']:.3f} ({final['training_flops']:.3g}) | {final['inference_flops_vs_dense']:.3f} "
                f"| {final['samples_per_second']:,.0f} |")
table = "\n".join(rows)
caption = (f"LeNet-300-100 on MNIST, uniform sparsity {pct}% on every layer, 30 epochs, seed 1, one process "
           f"(`launch/compare-methods.sh {pct}`):")
open(f"{out}.md", "w").write(caption + "\n\n" + table + "\n")
print(caption + "\n\n" + table)
readme = open("README.md").read()
begin, end = "<!-- methods-table:begin -->", "<!-- methods-table:end -->"
if begin in readme and pct == "98":
    readme = re.sub(re.escape(begin) + ".*?" + re.escape(end), begin + "\n" + caption + "\n\n" + table + "\n" + end, readme, flags=re.S)
    open("README.md", "w").write(readme)
    print("README.md updated")
PY
