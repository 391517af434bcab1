#!/usr/bin/env bash
# Sets up Sprig on a fresh Debian machine and runs its main job, RigL sparse training with
# RigL's MNIST setup: installs what is missing (system packages, MNIST), builds in release
# mode, and trains configs/rigl-mnist.yaml (CONFIG=... picks another), as one process or,
# with NP=2 (or more), under mpirun.
#
#   launch/train.sh [sprig train flags...]        e.g. NP=2 launch/train.sh --epochs 5
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash launch/install-deps.sh
bash launch/fetch-mnist.sh
command -v swift >/dev/null || { echo "train.sh: swift not found: install Swift 6.1 or later (swift.org)" >&2; exit 1; }
swift build -c release --product sprig
CONFIG="${CONFIG:-configs/rigl-mnist.yaml}"
if [ "${NP:-1}" -gt 1 ]; then
  exec bash launch/mpirun.sh "$NP" train --config "$CONFIG" "$@"
fi
exec .build/release/sprig train --config "$CONFIG" "$@"
