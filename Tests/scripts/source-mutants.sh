#!/usr/bin/env bash
# Source mutants: small wrong changes inside the binary, each of which a suite must catch.
# A scratch copy of the committed source (git archive HEAD, under runs/source-mutants/src,
# built once and then incrementally) takes one patch at a time; the patched build runs the
# suite that guards the claim the patch breaks, which must fail with a FAIL line naming it.
# The patch is then undone. Prints a table: mutant, suite, the claim that failed, seconds
# (build and suite), and ends with "N passed, M failed" (a mutant that survives is a failure).
#
#   mutant         the patch                                     caught by
#   tree-order     the gradient tree adds (a+b)+d, then c,       rank-invariance: 2 ranks = 1 process
#                  where it should add (a+b)+(c+d)
#   rigl-smallest  RigL grows the smallest |gradient|            unit: RigL drops smallest, grows largest
#   erk-off-by-one the first layer's ERK density one weight more unit: ERK matches hand-computed budgets
#   kernel-last    the sparse forward kernel (batches of 32)     unit: kernels equal masked dense math
#                  skips the last entry of each row
#   factors-short  RigL's factors path leaves out one            unit: tiles hold the whole gradient's bits
#                  micro-batch
#   bytes-kind     the byte counter drops mask diffs             unit: collectives count their bytes by kind
#   bn-rank0       batch-norm running statistics updated on      rank-invariance: ResNet-20's replicas
#                  rank 0 only                                   (the replica check sees the others drift)
#
# Measured here: 2-4 minutes for the first builds of the scratch copy, then 1-2 minutes for
# all seven (each patched module rebuilds in seconds). launch/test.sh runs it after
# Tests/scripts/mutations.sh, whose mutants are wrappers around the command line.
# ONLY="tree-order bn-rank0" runs those alone.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
DATA="${1:-$ROOT/data/mnist}"
SCRATCH="${MUTANT_SCRATCH:-$ROOT/runs/source-mutants}"
SRC="$SCRATCH/src"
mkdir -p "$SCRATCH"
head="$(git -C "$ROOT" rev-parse HEAD)"
if [ "$(cat "$SCRATCH/.head" 2>/dev/null)" != "$head" ]; then
  # a fresh copy of the committed source; its .build is kept, so builds stay incremental
  find "$SRC" -mindepth 1 -maxdepth 1 ! -name .build -exec rm -rf {} + 2>/dev/null
  mkdir -p "$SRC" && git -C "$ROOT" archive HEAD | tar -x -C "$SRC" && echo "$head" > "$SCRATCH/.head"
fi
ln -sfn "$ROOT/data" "$SRC/data"
t0=$SECONDS
(cd "$SRC" && swift build -c release --product sprig >"$SCRATCH/build.log" 2>&1 && swift build --build-tests >>"$SCRATCH/build.log" 2>&1)
code=$?
check_code "the scratch copy builds (release sprig and the unit tests, $((SECONDS - t0)) s)" "$code" "$(tail -3 "$SCRATCH/build.log")"
[ "$code" -eq 0 ] || { finish; exit; }
ROWS=()

# patch FILE OLD NEW: replaces OLD in FILE (under $SRC) by NEW; OLD must occur once, or
# PATCH_COUNT times.
patch_source() {
  python3 - "$SRC/$1" "$2" "$3" "${PATCH_COUNT:-1}" <<'PY'
import sys
path, old, new, count = sys.argv[1:5]
text = open(path).read()
if text.count(old) != int(count):
    sys.exit(f"{path}: the patch's text occurs {text.count(old)} times, not {count}")
open(path, "w").write(text.replace(old, new))
PY
}

# mutant NAME FILE OLD NEW KIND CLAIM -- COMMAND...: patches, builds (KIND: release or tests),
# runs COMMAND in $SRC with SPRIG set to the patched binary, and passes when COMMAND exits
# non-zero and its output has a line with CLAIM (a FAIL line of a script suite, or a
# failed Swift Testing test); then undoes the patch.
mutant() {
  local name="$1" file="$2" old="$3" new="$4" kind="$5" claim="$6" start=$SECONDS log code caught
  shift 7
  [ -z "${ONLY:-}" ] || [[ " $ONLY " == *" $name "* ]] || return 0
  log="$SCRATCH/$name.log"
  cp "$SRC/$file" "$SCRATCH/original"
  if ! patch_source "$file" "$old" "$new" >"$log" 2>&1; then
    fail "$name: the patch applies" "$(cat "$log")"
    return
  fi
  if [ "$kind" = release ]; then
    (cd "$SRC" && swift build -c release --product sprig) >>"$log" 2>&1
  else
    (cd "$SRC" && swift build --build-tests) >>"$log" 2>&1
  fi
  code=$?
  local built=$((SECONDS - start))
  if [ "$code" -ne 0 ]; then
    fail "$name: the patched copy builds" "$(tail -3 "$log")"
  else
    (cd "$SRC" && SPRIG="$SRC/.build/release/sprig" "$@") >>"$log" 2>&1
    code=$?
    caught="$(grep -F -- "$claim" "$log" | grep -E '^FAIL|✘' | head -1 | cut -c1-150)"
    if [ "$code" -ne 0 ] && [ -n "$caught" ]; then
      pass "$name is caught: $caught"
    else
      fail "$name is caught" "exit $code, no failing line with '$claim'"
    fi
  fi
  ROWS+=("| $name | \`$file\` | ${caught:-**survived**} | $built s + $((SECONDS - start - built)) s |")
  cp "$SCRATCH/original" "$SRC/$file"
}

unit() { swift test --skip-build --filter "$1"; }

mutant tree-order Sources/SprigTensor/PairwiseTree.swift \
  '        var right = leaf
        var level = 0
' '        var right = leaf
        var level = 0
        if stack.count >= 2, stack[stack.count - 1].level == 0, stack[stack.count - 2].level == 1 {
            let c = stack.removeLast().leaf, a = stack.removeLast().leaf
            combine(a, right)
            combine(a, c)
            (right, level) = (a, 2)
        }
' release "rigl-mnist: mpirun -np 2 weights and masks equal the single process's" \
  -- env CONFIGS=rigl-mnist.yaml RANKS=2 SKIP_EXTRA=1 SKIP_RESNET=1 bash "$ROOT/Tests/scripts/rank-invariance.sh" "$DATA"
# both places RigL's grow rule scores a free position: from a dense gradient held whole, and from factors
PATCH_COUNT=2 mutant rigl-smallest Sources/SprigSparsity/DropAndGrow/GradientGrowth.swift 'to: &selection) { abs(' 'to: &selection) { -abs(' \
  tests "rigLDropsSmallestAndGrowsLargestGradient" -- unit MaskUpdateTests
mutant erk-off-by-one Sources/SprigSparsity/SparsityDistribution.swift \
  'return dense.contains(i) ? 0 : max(0, 1 - eps * raw[i])' \
  'return dense.contains(i) ? 0 : max(0, 1 - eps * raw[i]) - (i == 0 ? 1 / Double(layer.count) : 0)' \
  tests "erkMatchesHandComputedBudgets" -- unit DistributionTests
mutant kernel-last Sources/SprigTensor/SparseKernels.swift \
  '                        var a0 = SIMD8<Float>(repeating: b), a1 = a0, a2 = a0, a3 = a0
                        for k in lo..<hi {' \
  '                        var a0 = SIMD8<Float>(repeating: b), a1 = a0, a2 = a0, a3 = a0
                        for k in lo..<max(lo, hi - 1) {' \
  tests "kernelsEqualMaskedDenseMath" -- unit SparseKernelTests
mutant factors-short Sources/SprigLayers/GrowthFactors.swift \
  'return n == 0 ? 0 : (floats[weightIndex]?.count ?? 0) / n' \
  'return n == 0 ? 0 : max(1, (floats[weightIndex]?.count ?? 0) / n - 1)' \
  tests "tilesHoldTheWholeGradientsBits" -- unit ScaleTests
mutant bytes-kind Sources/MPI/TrafficCounter.swift \
  '        counts[kind, default: 0] += bytes' \
  '        if kind.rawValue != "mask_diffs" { counts[kind, default: 0] += bytes }' \
  tests "singleProcessCollectivesAreIdentitiesThatCountBytes" -- unit CommunicatorTests
mutant bn-rank0 Sources/SprigTraining/Loop/TrainingStep.swift \
  'if let statistics = reduced.statistics { model.applyStatistics(statistics, microbatches: microbatches) }' \
  'if let statistics = reduced.statistics, replicas.rank == 0 { model.applyStatistics(statistics, microbatches: microbatches) }' \
  release "resnet20-rigl-augment: mpirun -np 2" -- env CONFIGS=rigl-mnist.yaml RANKS=2 SKIP_EXTRA=1 bash "$ROOT/Tests/scripts/rank-invariance.sh" "$DATA"

# the scratch copy is left as HEAD has it
(cd "$SRC" && swift build -c release --product sprig >/dev/null 2>&1)
echo
echo "| mutant | patched file | the failing check that caught it | build + suite |"
echo "|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
finish
