#!/usr/bin/env bash
# Dense LeNet-300-100 reaches at least 98.0% test accuracy on real MNIST within 20 epochs,
# one process (configs/lenet300-dense.yaml), and its metrics file has the promised fields.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
DATA="${1:-$ROOT/data/mnist}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
"$SPRIG" train --config "$ROOT/configs/lenet300-dense.yaml" --data "$DATA" --metrics-out "$WORK/m.jsonl" | tee "$WORK/log"
python3 - "$WORK/m.jsonl" <<'PY' >"$WORK/verdict" 2>&1
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
epochs, final = lines[:-1], lines[-1]
assert len(epochs) == 20, f"{len(epochs)} epoch lines"
for e in epochs:
    for key in ("epoch", "train_loss", "test_accuracy", "samples_per_second", "bytes_allreduced"):
        assert key in e, f"epoch line lacks {key}"
assert final.get("final") is True, "last line is not final"
print(f"final test accuracy {final['test_accuracy']:.4f}, {final['samples_per_second']:.0f} samples/s")
sys.exit(0 if final["test_accuracy"] >= 0.98 else 1)
PY
check "dense LeNet-300-100 >= 98.0% in 20 epochs ($(cat "$WORK/verdict"))" test $? -eq 0
finish
