#!/usr/bin/env bash
# Installs PyTorch (CPU only), safetensors and NumPy into a Python venv, for
# python/sprig_torch.py and Tests/scripts/torch.sh. Does nothing when they import already.
#
#   launch/install-torch.sh [VENV]     # default: $SPRIG_PY_VENV or runs/.py-venv (export.sh's)
#
# The CPU wheel first (TORCH_SPEC, default torch==2.13.0+cpu: ~190 MB, no CUDA libraries;
# pip finds it where its configuration's find-links point); when that version cannot be
# had, the registry's default torch, which is much larger (it brings the CUDA libraries).
# A venv needs no --break-system-packages; a Debian 12 system pip would.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${1:-${SPRIG_PY_VENV:-$ROOT/runs/.py-venv}}"
TORCH_SPEC="${TORCH_SPEC:-torch==2.13.0+cpu}"
PY="$VENV/bin/python"
if [ -x "$PY" ] && "$PY" -c "import torch, safetensors, numpy" 2>/dev/null; then
  echo "install-torch: present ($("$PY" -c 'import torch; print("torch", torch.__version__)'))"
  exit 0
fi
[ -x "$PY" ] || python3 -m venv "$VENV"
start=$SECONDS
"$PY" -m pip install --quiet safetensors numpy
if ! "$PY" -c "import torch" 2>/dev/null; then
  "$PY" -m pip install --quiet "$TORCH_SPEC" || {
    echo "install-torch: $TORCH_SPEC is not available; installing the default torch (large)" >&2
    "$PY" -m pip install --quiet torch
  }
fi
"$PY" -c "import torch, safetensors, numpy; print('install-torch: torch', torch.__version__, 'numpy', numpy.__version__)"
echo "install-torch: took $((SECONDS - start)) s"
