#!/usr/bin/env bash
# Export and pictures:
# - a RigL run's weights written as safetensors are read back by Python's `safetensors` and
#   NumPy (installed from PyPI into a venv): names and shapes (the parameters only, a
#   PyTorch module's state_dict), the masks in the sidecar m.masks.safetensors
#   (fcN.weight_mask) that agree with the weights, the config and the whole input
#   normalisation in the metadata, and a NumPy forward pass over the MNIST test set whose
#   accuracy equals `sprig eval`'s;
# - the connectivity pictures are valid PNG files (chunks, CRCs, pixel data), and the
#   first layer's connections have moved off the empty border of the digits: per pixel, the
#   outer 3-pixel ring keeps under a third of the connections of the central 14 x 14;
# - the same run exported with --weights-format sparse (CSR parts, dense shapes in the
#   metadata) gives the same `sprig eval` line as the dense export, and NumPy densifies the
#   CSR parts into exactly the dense export's weights and its sidecar's masks, bit for bit.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
DATA="${1:-$ROOT/data/mnist}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
VENV="${SPRIG_PY_VENV:-$ROOT/runs/.py-venv}"

"$SPRIG" train --config "$ROOT/configs/rigl-mnist.yaml" --data "$DATA" --max-steps 1200 --weights-out "$WORK/m.safetensors" --pictures "$WORK/pictures" >"$WORK/train.log" 2>&1
code=$?
check "training ends and writes a safetensors file (exit $code)" test "$code" -eq 0 -a -s "$WORK/m.safetensors"
eval_line=$("$SPRIG" eval "$WORK/m.safetensors" --data "$DATA")
code=$?
check "sprig eval reads it back (exit $code: $eval_line)" test "$code" -eq 0 -a -n "$(echo "$eval_line" | grep -E '^test_accuracy [0-9.]+')"

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
expect = {"fc1.weight": (300, 784), "fc1.bias": (300,), "fc2.weight": (100, 300), "fc2.bias": (100,),
          "fc3.weight": (10, 100), "fc3.bias": (10,)}
assert {k: v.shape for k, v in t.items()} == expect, {k: v.shape for k, v in t.items()}
assert all(v.dtype == np.float32 for v in t.values())
masks = load_file(path.replace(".safetensors", ".masks.safetensors"))
assert {k: v.shape for k, v in masks.items()} == {"fc1.weight_mask": (300, 784), "fc2.weight_mask": (100, 300)}, sorted(masks)
assert meta["masks"] == "m.masks.safetensors", meta.get("masks")
assert meta["input_scale"] == "1/255" and meta["input_shape"] == "[784]", meta
assert json.loads(meta["architecture"])[0] == {"op": "linear", "name": "fc1", "in_features": 784, "out_features": 300}, meta["architecture"]
for layer, active in (("fc1", 4704), ("fc2", 3540)):
    m, w = masks[f"{layer}.weight_mask"], t[f"{layer}.weight"]
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
py_code=$?
python3 - "$WORK/m.safetensors" "$WORK/pictures" <<'PY' >"$WORK/pic.log" 2>&1
import json, struct, sys, zlib
path, pictures = sys.argv[1:]
for name in ("connectivity.png", "connectivity-evolution.png"):
    data = open(f"{pictures}/{name}", "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", name
    pos, chunks, idat = 8, [], b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        crc = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0]
        assert zlib.crc32(kind + body) == crc, (name, kind)
        chunks.append(kind)
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
        if kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert chunks[0] == b"IHDR" and chunks[-1] == b"IEND" and depth == 8 and color == 2, chunks
    assert len(zlib.decompress(idat)) == height * (1 + 3 * width), name
# connectivity per input pixel, from the exported mask (in the sidecar file)
blob = open(path.replace(".safetensors", ".masks.safetensors"), "rb").read()
header = struct.unpack("<Q", blob[:8])[0]
meta = json.loads(blob[8:8 + header])
begin, end = meta["fc1.weight_mask"]["data_offsets"]
mask = struct.unpack(f"<{(end - begin) // 4}f", blob[8 + header + begin:8 + header + end])
counts = [sum(mask[o * 784 + p] for o in range(300)) for p in range(784)]
ring = [counts[r * 28 + c] for r in range(28) for c in range(28) if min(r, c, 27 - r, 27 - c) < 3]
centre = [counts[r * 28 + c] for r in range(7, 21) for c in range(7, 21)]
ratio = (sum(ring) / len(ring)) / (sum(centre) / len(centre))
print(f"border/centre connections per pixel {ratio:.3f}")
assert ratio < 1 / 3, ratio
PY
pic_code=$?
check_code "the connectivity pictures are valid PNGs and show the centre ($(tail -1 "$WORK/pic.log"))" "$pic_code"
check_code "Python safetensors + NumPy read shapes, masks and config, and reproduce sprig eval's accuracy ($(tail -1 "$WORK/py.log"))" "$py_code"
# The same run (the same seed and steps, so the same model) exported in the sparse form.
"$SPRIG" train --config "$ROOT/configs/rigl-mnist.yaml" --data "$DATA" --max-steps 1200 --weights-format sparse \
  --weights-out "$WORK/m-sparse.safetensors" >"$WORK/train-sparse.log" 2>&1
code=$?
check "the run exported with --weights-format sparse ends and writes a file (exit $code)" test "$code" -eq 0 -a -s "$WORK/m-sparse.safetensors"
sparse_eval_line=$("$SPRIG" eval "$WORK/m-sparse.safetensors" --data "$DATA" 2>&1)
code=$?
check "sprig eval of the sparse file gives the dense file's line (exit $code: $sparse_eval_line)" \
  test "$code" -eq 0 -a -n "$eval_line" -a "$sparse_eval_line" = "$eval_line"
"$VENV/bin/python" - "$WORK/m.safetensors" "$WORK/m-sparse.safetensors" <<'PY' >"$WORK/csr.log" 2>&1
import json, sys
import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file

dense_path, sparse_path = sys.argv[1:]
dense, sparse = load_file(dense_path), load_file(sparse_path)
masks = load_file(dense_path.replace(".safetensors", ".masks.safetensors"))
with safe_open(sparse_path, framework="numpy") as f:
    meta = f.metadata()
assert meta["weights_format"] == "sparse_csr", meta.get("weights_format")
assert not any("mask" in k for k in sparse), sorted(sparse)
rebuilt = {}
for name in sorted(k[:-len(".crow_indices")] for k in sparse if k.endswith(".crow_indices")):
    crow, col, values = sparse[name + ".crow_indices"], sparse[name + ".col_indices"], sparse[name + ".values"]
    assert crow.dtype == col.dtype == np.int64 and values.dtype == np.float32, (crow.dtype, col.dtype, values.dtype)
    shape = json.loads(meta[name + ".shape"])
    rows = np.repeat(np.arange(len(crow) - 1), np.diff(crow))
    weight = np.zeros(shape, np.float32)
    weight[rows, col] = values
    mask = np.zeros(shape, np.float32)
    mask[rows, col] = 1
    rebuilt[name] = weight
    rebuilt[name + "_mask"] = mask
for name, t in sparse.items():
    if not name.rsplit(".", 1)[-1] in ("crow_indices", "col_indices", "values"):
        rebuilt[name] = t
dense.update(masks)
assert sorted(rebuilt) == sorted(dense), (sorted(rebuilt), sorted(dense))
for name, t in dense.items():
    assert rebuilt[name].shape == t.shape and np.array_equal(rebuilt[name].view(np.uint32), t.view(np.uint32)), name
nnz = sum(int(sparse[k].size) for k in sparse if k.endswith(".values"))
print(f"{len(dense)} tensors and masks rebuilt bit for bit from CSR ({nnz} active weights)")
PY
code=$?
check_code "NumPy densifies the sparse file into the dense export bit for bit ($(tail -1 "$WORK/csr.log"))" "$code"
finish
