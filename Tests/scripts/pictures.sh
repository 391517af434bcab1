#!/usr/bin/env bash
# Pictures a person reads without the terminal, and the progress bar:
# - `sprig train --pictures` draws the connectivity maps with text above them (a title and
#   each frame's epoch, in the picture's ink colour) and a colour scale on their right, as
#   tall as the maps, from the top colour (yellow) down to 0 (dark blue); the evolution of a
#   two-epoch run has its three frames (epochs 0, 1 and 2);
# - on a terminal (a pseudo-terminal from `script`) the progress bar shows the step, the
#   training loss, the rate, the time elapsed and the ETA; piped, there is no bar;
# - launch/plot-metrics.sh (matplotlib from PyPI, in runs/.plot-venv) draws a train run's
#   metrics, a prune run's (rounds, weights and neurons per layer), both files at once, and
#   one file that both runs were appended to.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
DATA="${1:-$ROOT/data/mnist}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

"$SPRIG" train --config "$ROOT/configs/rigl-mnist.yaml" --data "$DATA" --max-steps 1200 --pictures "$WORK/pictures" \
  --metrics-out "$WORK/train.jsonl" >"$WORK/train.log" 2>&1
code=$?
check_code "training with --pictures and --metrics-out ends" "$code" "$(tail -1 "$WORK/train.log")"
python3 - "$WORK/pictures" <<'PY' >"$WORK/pic.log" 2>&1
import struct, sys, zlib

INK = (30, 30, 30)
WHITE = (255, 255, 255)

def pixels(path):
    """The rows of an 8-bit RGB PNG with filter 0 on every line (as Sprig writes them)."""
    data = open(path, "rb").read()
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        if kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = 1 + 3 * width
    assert all(raw[y * stride] == 0 for y in range(height)), "a line with a filter other than 0"
    return [[tuple(raw[y * stride + 1 + 3 * x:y * stride + 4 + 3 * x]) for x in range(width)] for y in range(height)]

def colour(p):
    return p != WHITE and p != INK

def near(p, q):
    return max(abs(a - b) for a, b in zip(p, q)) <= 12

for name, frames in (("connectivity.png", 1), ("connectivity-evolution.png", 3)):
    image = pixels(f"{sys.argv[1]}/{name}")
    rows = [y for y, row in enumerate(image) if any(colour(p) for p in row)]
    top, bottom = rows[0], rows[-1]
    ink_above = sum(p == INK for row in image[:top] for p in row)
    assert ink_above > 200, f"{name}: {ink_above} pixels of text above the maps"
    # along the maps' middle row: the frames and the scale bar, separated by white
    middle = image[(top + bottom) // 2]
    runs, inside = [], False
    for x, p in enumerate(middle):
        if colour(p) and not inside:
            runs.append(x)
        inside = colour(p)
    assert len(runs) == frames + 1, f"{name}: {len(runs)} coloured runs on the middle row, expected {frames} frames and a bar"
    bar = runs[-1]
    assert near(image[top][bar], (253, 231, 37)) and near(image[bottom][bar], (68, 1, 84)), \
        f"{name}: scale bar from {image[top][bar]} to {image[bottom][bar]}"
    ink_right = sum(p == INK for row in image for p in row[bar + 1:])
    assert ink_right > 50, f"{name}: {ink_right} pixels of tick values right of the scale bar"
    print(f"{name}: {len(image[0])} x {len(image)}, {frames} frame(s), text above ({ink_above} px), scale bar with values ({ink_right} px)")
PY
code=$?
check_code "the pictures have a title and frame labels, the frames, and a colour scale with values ($(tail -1 "$WORK/pic.log"))" "$code"

# The progress bar on a terminal, and none through a pipe.
if command -v script >/dev/null; then
  script -qec "'$SPRIG' train --config '$ROOT/configs/rigl-mnist.yaml' --data '$DATA' --max-steps 300" /dev/null \
    </dev/null >"$WORK/tty.log" 2>&1
  code=$?
  bar="$(tr '\r' '\n' <"$WORK/tty.log" | grep -aE '^(.\[K)?\[[#-]+\].* step +[0-9]+/300 +loss [0-9]+\.[0-9]{4} +[0-9]+ samples/s +elapsed [0-9]+:[0-9]{2} +ETA [0-9]+:[0-9]{2}' | tail -1)"
  check "on a terminal the progress bar shows step, loss, rate, elapsed time and ETA (exit $code: ${bar#*[K})" \
    test "$code" -eq 0 -a -n "$bar"
else
  fail "progress bar on a terminal" "no 'script' command (util-linux) to give sprig a pseudo-terminal"
fi
"$SPRIG" train --config "$ROOT/configs/rigl-mnist.yaml" --data "$DATA" --max-steps 300 2>&1 | cat >"$WORK/pipe.log"
check "through a pipe there is no progress bar" test -s "$WORK/pipe.log" -a "$(tr -cd '\r' <"$WORK/pipe.log" | wc -c)" -eq 0

# plot-metrics on train metrics, prune metrics, both, and one file holding both runs.
"$SPRIG" prune --config "$ROOT/configs/nnrelief-lenet300.yaml" --data "$DATA" --epochs 1 --iterations 2 --retrain-epochs 1 \
  --pruning-set 200 --metrics-out "$WORK/prune.jsonl" >"$WORK/prune.log" 2>&1
code=$?
check_code "sprig prune writes its metrics ($(grep -c '"stage"' "$WORK/prune.jsonl" 2>/dev/null) stage lines)" "$code" "$(tail -1 "$WORK/prune.log")"
cat "$WORK/train.jsonl" "$WORK/prune.jsonl" >"$WORK/both.jsonl"
# plotted OUT FILES... -- EXPECTED...: plot-metrics on FILES ends well and writes the EXPECTED pictures as PNGs
plotted() {
  local out="$1" files=() expected=() log code missing=""
  shift
  while [ "$1" != -- ]; do files+=("$1"); shift; done
  shift
  expected=("$@")
  log="$(bash "$ROOT/launch/plot-metrics.sh" "$out" "${files[@]}" 2>&1)"
  code=$?
  for f in "${expected[@]}"; do
    [ "$(head -c 8 "$out/$f" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || missing+=" $f"
  done
  if [ "$code" -eq 0 ] && [ -z "$missing" ] && ! grep -q Traceback <<<"$log"; then
    pass "plot-metrics on ${files[*]##*/}: ${expected[*]}"
  else
    fail "plot-metrics on ${files[*]##*/}: ${expected[*]}" "exit $code;${missing:+ missing$missing;} $(tail -2 <<<"$log" | tr '\n' ' ')"
  fi
}
plotted "$WORK/plot-train" "$WORK/train.jsonl" -- curves.png sparsity.png
plotted "$WORK/plot-prune" "$WORK/prune.jsonl" -- curves.png sparsity.png pruning.png
plotted "$WORK/plot-two" "$WORK/train.jsonl" "$WORK/prune.jsonl" -- curves.png sparsity.png pruning.png
plotted "$WORK/plot-both" "$WORK/both.jsonl" -- curves.png sparsity.png pruning.png
check "a train run's metrics give no pruning picture" test ! -e "$WORK/plot-train/pruning.png"
finish
