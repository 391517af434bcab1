#!/usr/bin/env bash
# The single-node fallback at build time: `swift build --disable-default-traits` builds
# Sprig without Open MPI (no libmpi linked), and that binary trains as one process to the
# same bits as the default build; asked to start MPI (SPRIG_MPI=1) it says it cannot.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
SCRATCH="${SPRIG_NO_MPI_SCRATCH:-$ROOT/.build/no-mpi}"
swift build -c release --product sprig --disable-default-traits --scratch-path "$SCRATCH" >"$WORK/build.log" 2>&1
code=$?
check_code "swift build --disable-default-traits builds sprig" "$code" "$(tail -3 "$WORK/build.log")"
NOMPI="$SCRATCH/release/sprig"
linked=$(ldd "$NOMPI" 2>/dev/null | grep -c 'libmpi')
check "the binary links no Open MPI library ($linked libmpi entries in ldd)" test -x "$NOMPI" -a "$linked" -eq 0
check "the default build does link Open MPI" test "$(ldd "$REFERENCE_SPRIG" | grep -c 'libmpi')" -ge 1

python3 "$ROOT/Tests/scripts/make_idx.py" "$WORK/data"
cat > "$WORK/tiny.yaml" <<YAML
model: {mlp: [64, 32, 10]}
epochs: 2
batch_size: 20
sparsity: {method: rigl, sparsity: 0.8, delta_t: 5}
YAML
"$NOMPI" train --config "$WORK/tiny.yaml" --data "$WORK/data" --weights-out "$WORK/nompi.safetensors" >"$WORK/nompi.log" 2>&1
code=$?
check_code "the build without MPI trains RigL as one process" "$code" "$(tail -3 "$WORK/nompi.log")"
"$REFERENCE_SPRIG" train --config "$WORK/tiny.yaml" --data "$WORK/data" --weights-out "$WORK/mpi.safetensors" >"$WORK/mpi.log" 2>&1
same_weights "the build without MPI ends with the default build's weights and masks" "$WORK/mpi.safetensors" "$WORK/nompi.safetensors"
SPRIG_MPI=1 "$NOMPI" train --config "$WORK/tiny.yaml" --data "$WORK/data" >"$WORK/forced.log" 2>&1
code=$?
check "SPRIG_MPI=1 on the build without MPI ends with an error (exit $code: $(grep -o 'sprig: error: .*' "$WORK/forced.log" | head -1))" \
  test "$code" -ne 0 -a -n "$(grep 'sprig: error:' "$WORK/forced.log")"
finish
