#!/usr/bin/env bash
# Regenerates results tables of docs/results.md from the current build, each stamped with
# this command, the commit the runs started from (launch/results-stamp.sh) and the date
# (launch/readme_block.py), and keeps the runs' logs and metrics under runs/reproduce/TABLE/.
#
#   launch/reproduce.sh --list          the tables, what they run, and their run times here
#   launch/reproduce.sh TABLE ...       regenerate these tables (all of them: `all`)
#
# JOBS (default 2) single-process runs go at a time; SPRIG names the binary (built when
# missing). Commit first: a table made from uncommitted changes to the build or the runs
# (Sources, Package.swift, configs, launch, python) is stamped `-dirty`, which
# Tests/scripts/docs.sh rejects.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SPRIG="${SPRIG:-.build/release/sprig}"
JOBS="${JOBS:-2}"
RESULTS="${RESULTS:-docs/results.md}"
export OPENBLAS_NUM_THREADS=1

# name | minutes measured on this 2-core machine (with another long run beside it) | what it runs
TABLES="rigl-mnist|7|RigL appendix B: configs/paper/rigl-lenet300.yaml, seeds 1-3, and the reference code's 98% / 88.2% start
rigl-mnist-torch|50|the same six runs of RigL's recipe written anew in PyTorch (python/rigl_mnist_reference.py; installs torch)
nnrelief-lenet300|14|NNrelief on LeNet-300-100: configs/paper/nnrelief-lenet300.yaml, one seed
nnrelief-lenet5-caffe|52|NNrelief on the Caffe LeNet-5 on 2 ranks: configs/paper/nnrelief-lenet5-caffe.yaml, one seed
methods-lenet300|33|dense, Static, SET, SNFS, SNIP, RigL, gradual pruning, SRigL, Top-KAST, GraNet on LeNet-300-100 at 90/95/98/99% uniform (configs/methods/), seeds 1-3
methods-resnet20|75|the same methods on ResNet-20 (MNIST) at 80/90/95% ERK on 2 ranks, 2 epochs, seed 1"
# The sparse methods of the comparison tables (launch/reproduce_tables.py lists them too).
METHODS="static set snfs snip rigl gmp srigl topkast granet"

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; }
list() {
  printf '%-22s %8s  %s\n' TABLE MINUTES RUNS
  while IFS='|' read -r name minutes what; do printf '%-22s %8s  %s\n' "$name" "~$minutes" "$what"; done <<< "$TABLES"
}
[ $# -ge 1 ] || { usage; exit 2; }
if [ "$1" = --list ]; then list; exit 0; fi
names=$(cut -d'|' -f1 <<< "$TABLES")
wanted=()
for t in "$@"; do
  if [ "$t" = all ]; then wanted+=($names); continue; fi
  grep -qx -- "$t" <<< "$names" || { echo "reproduce.sh: unknown table '$t' (known: $(echo $names | tr ' ' ','), all; see --list)" >&2; exit 2; }
  wanted+=("$t")
done
[ -x "$SPRIG" ] || swift build -c release --product sprig
bash launch/fetch-mnist.sh >/dev/null
# The stamp's commit is the one the runs start from (launch/results-stamp.sh).
source launch/results-stamp.sh
COMMIT="$STAMP_COMMIT"
[[ $COMMIT != *-dirty ]] || echo "reproduce.sh: warning: uncommitted changes; the tables will be stamped $COMMIT" >&2

# runs LINES...: runs each "NAME ARGS..." line as `$SPRIG ARGS...` (logs and metrics named
# NAME in $OUT), JOBS at a time; a run that fails stops the table.
runs() {
  printf '%s\n' "$@" | xargs -P "$JOBS" -I{} bash -c '
    set -- {}; name=$1; shift
    if "$SPRIG" "$@" --metrics-out "$OUT/$name.jsonl" > "$OUT/$name.log" 2>&1; then echo "  $name: done"
    else echo "  $name failed: $(tail -2 "$OUT/$name.log")"; exit 255; fi'
}
export SPRIG
# on2 NAME SUBCOMMAND ARGS...: one run on 2 ranks (launch/mpirun.sh); a failure stops the table.
on2() {
  local name=$1; shift
  SPRIG="$SPRIG" launch/mpirun.sh 2 "$@" --metrics-out "$OUT/$name.jsonl" > "$OUT/$name.log" 2>&1 \
    && echo "  $name: done" || { echo "  $name failed: $(tail -2 "$OUT/$name.log")"; exit 1; }
}
write() { # write TABLE: the summary of $OUT into the results file, stamped
  python3 launch/reproduce_tables.py "$1" "$OUT" | tee "$OUT/table.md"
  python3 launch/readme_block.py "$1" "$RESULTS" --command "launch/reproduce.sh $1" --commit "$COMMIT" < "$OUT/table.md"
}

for table in "${wanted[@]}"; do
  OUT="runs/reproduce/$table"
  rm -rf "$OUT" && mkdir -p "$OUT"
  export OUT
  echo "reproduce: $table (logs in $OUT)"
  start=$(date +%s)
  case "$table" in
    rigl-mnist|rigl-mnist-torch) # the same six runs, in Sprig or in PyTorch
      paper=(train --config configs/paper/rigl-lenet300.yaml)
      code=("${paper[@]}" --set sparsity.layers.fc1=0.98 --set sparsity.layers.fc2=0.882)
      runner=$SPRIG
      if [ "$table" = rigl-mnist-torch ]; then # the script in the PyTorch venv takes sprig's place
        bash launch/install-torch.sh >/dev/null
        runner="${SPRIG_PY_VENV:-$ROOT/runs/.py-venv}/bin/python"
        paper=(python/rigl_mnist_reference.py); code=("${paper[@]}" --fc1 0.98 --fc2 0.882)
      fi
      lines=()
      for seed in 1 2 3; do lines+=("paper-$seed ${paper[*]} --seed $seed" "code-$seed ${code[*]} --seed $seed"); done
      SPRIG="$runner" runs "${lines[@]}" ;;
    nnrelief-lenet300)
      runs "nnrelief prune --config configs/paper/nnrelief-lenet300.yaml" ;;
    nnrelief-lenet5-caffe)
      on2 nnrelief prune --config configs/paper/nnrelief-lenet5-caffe.yaml ;;
    methods-lenet300)
      lines=()
      for seed in 1 2 3; do
        lines+=("dense-s$seed train --config configs/methods/dense.yaml --seed $seed")
        for pct in 90 95 98 99; do
          for m in $METHODS; do lines+=("$m-$pct-s$seed train --config configs/methods/$m-$pct.yaml --seed $seed"); done
        done
      done
      runs "${lines[@]}" ;;
    methods-resnet20)
      planned=(dense:0)
      for s in 0.8 0.9 0.95; do for m in $METHODS; do planned+=("$m:$s"); done; done
      for run in "${planned[@]}"; do
        m=${run%%:*} s=${run#*:}
        name="$m-${s#0.}"; [ "$m" = dense ] && name=dense
        args=(--config configs/resnet-20-mnist.yaml --epochs 2)
        [ "$m" = dense ] || args+=(--set sparsity.method=$m --set sparsity.distribution=erk --set sparsity.sparsity="$s")
        on2 "$name" train "${args[@]}"
      done ;;
  esac
  echo "reproduce: $table ran in $(( ($(date +%s) - start + 30) / 60 )) min"
  write "$table"
done
