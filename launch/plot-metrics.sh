#!/usr/bin/env bash
# Training curves and per-layer density bars from metrics files (see plot-metrics.py),
# with matplotlib from PyPI in runs/.plot-venv.
#   launch/plot-metrics.sh OUTDIR RUN.jsonl [MORE.jsonl ...]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/runs/.plot-venv"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import matplotlib" 2>/dev/null; then
  python3 -m venv "$VENV" && "$VENV/bin/pip" install --quiet matplotlib
fi
exec "$VENV/bin/python" "$ROOT/launch/plot-metrics.py" "$@"
