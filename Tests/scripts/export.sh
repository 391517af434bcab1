#!/usr/bin/env bash
# Export: a RigL run's weights written as safetensors are read back by Python's
# `safetensors` and NumPy (installed from PyPI into a venv): names, shapes, masks that
# agree with the weights, the config in the metadata, and a NumPy forward pass over the
# MNIST test set whose accuracy equals `sprig eval`'s.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
DATA="${1:-$ROOT/data/mnist}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
VENV="${SPRIG_PY_VENV:-$ROOT/runs/.py-venv}"

"$SPRIG" train --config "$ROOT/configs/rigl-mnist.yaml" --data "$DATA" --max-steps 600 --weights-out "$WORK/m.safetensors" >"$WORK/train.log" 2>&1
check "training writes a safetensors file" test -s "$WORK/m.safetensors"
eval_line=$("$SPRIG" eval "$WORK/m.safetensors" --data "$DATA")
check "sprig eval reads it back ($eval_line)" test -n "$eval_line"

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import safetensors, numpy" 2>/dev/null; then
  python3 -m venv "$VENV" && "$VENV/bin/pip" install --quiet safetensors numpy >"$WORK/pip.log" 2>&1
fi
if ! "$VENV/bin/python" -c "import safetensors, numpy" 2>/dev/null; then
  fail "safetensors and numpy from PyPI" "$(tail -3 "$WORK/pip.log")"
  finish
  exit 1
fi
"$VENV/bin/python" - "$WORK/m.safetensors" "$DATA" "$eval_line" <<'PY' >"$WORK/py.log" 2>&1
import gzip, json, os, struct, sys
import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file

path, data, eval_line = sys.argv[1:]
t = load_file(path)
with safe_open(path, framework="numpy") as f:
    meta = f.metadata()
expect = {"fc1.weight": (300, 784), "fc1.mask": (300, 784), "fc1.bias": (300,), "fc2.weight": (100, 300),
          "fc2.mask": (100, 300), "fc2.bias": (100,), "fc3.weight": (10, 100), "fc3.bias": (10,)}
assert {k: v.shape for k, v in t.items()} == expect, {k: v.shape for k, v in t.items()}
assert all(v.dtype == np.float32 for v in t.values())
for layer, active in (("fc1", 4704), ("fc2", 3540)):
    m, w = t[f"{layer}.mask"], t[f"{layer}.weight"]
    assert set(np.unique(m)) <= {0.0, 1.0} and int(m.sum()) == active, (layer, m.sum())
    assert np.all(w[m == 0] == 0), f"{layer}: weights where the mask is 0"
assert "method: rigl" in meta["config"] and meta["model"] == "lenet-300-100", meta

def idx(name):
    p = os.path.join(data, name)
    raw = gzip.open(p + ".gz").read() if os.path.exists(p + ".gz") else open(p, "rb").read()
    dims = struct.unpack(">" + "I" * raw[3], raw[4:4 + 4 * raw[3]])
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * raw[3]).reshape(dims)

x = (idx("t10k-images-idx3-ubyte").reshape(-1, 784).astype(np.float32) / 255 - float(meta["input_mean"])) / float(meta["input_std"])
y = idx("t10k-labels-idx1-ubyte")
h = np.maximum(x @ t["fc1.weight"].T + t["fc1.bias"], 0)
h = np.maximum(h @ t["fc2.weight"].T + t["fc2.bias"], 0)
accuracy = float(np.mean(np.argmax(h @ t["fc3.weight"].T + t["fc3.bias"], axis=1) == y))
sprig = float(eval_line.split()[1])
print(f"numpy accuracy {accuracy:.4f}, sprig eval {sprig:.4f}")
assert abs(accuracy - sprig) <= 0.0005, (accuracy, sprig)
PY
check "Python safetensors + NumPy read shapes, masks and config, and reproduce the accuracy ($(tail -1 "$WORK/py.log"))" \
  grep -q "^numpy accuracy" "$WORK/py.log"
finish
