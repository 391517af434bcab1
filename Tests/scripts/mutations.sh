#!/usr/bin/env bash
# Mutation checks: the script suites must be able to fail. Each suite that guards one of
# Sprig's claims runs once against a deliberately wrong `sprig` (a wrapper around the built
# binary that changes one thing), and must exit non-zero with a FAIL line naming the claim
# that the wrong binary breaks:
#
#   mutant            what it changes                          suite: the claim that must fail
#   seed-under-mpirun another seed when started by mpirun      rank-invariance: n ranks = 1 process
#                                                              nnrelief: NNrelief on 2 ranks = 1 process
#                                                              multinode: two hosts = one process
#   seed-under-srun   another seed when started by srun        slurm: srun + PMIx under sbatch = mpirun
#                     with PMIx (not by mpirun)
#   seed-on-resume    another seed on --resume                 checkpoints: resumed = uninterrupted
#   stop-at-50        training stops after 50 steps, one       accuracy: the MNIST, NNrelief and
#                     NNrelief round of one epoch              augmented CIFAR-format floors
#   no-op             exits 0 at once, doing nothing           accuracy: the floors; faults: a killed rank
#                                                              ends the job; multinode: a cut link does;
#                                                              pictures: maps with text, the progress bar;
#                                                              data-formats: npz trains to IDX's bits
#   no-bar            sprig train's output through a pipe      pictures: the progress bar on a terminal
#   killed-by-signal  SIGTERM or SIGINT kill sprig train at     checkpoints: a stop signal leaves a checkpoint
#                     once (no clean stop)                     and the command to resume; slurm: so does scancel
#   eval-off          sprig eval reports 1% more accuracy      export: NumPy reproduces sprig eval
#                                                              torch: PyTorch reproduces sprig eval
#   data-off          sprig data prints another CRC-32 of      data-formats: Sprig reads what NumPy wrote
#                     the values it read
#   csr-eval-off      the same, for sparse (CSR) files only    export: the sparse file evaluates as the dense
#   csr-off           --weights-format sparse writes dense     export: NumPy densifies the CSR file
#   stale-stop-       a stop signal's checkpoint is replaced   checkpoints: the checkpoint is of the step
#   checkpoint        by the periodic one before it            the run stopped after
#   sparse-           --checkpoint-every 1 writes every 2nd    checkpoints: the last checkpoint before the
#   checkpoints       step                                     NaN is of the step before it
#   fresh-restart     --auto-resume ignored: a restart starts  faults: restarts resume from a checkpoint
#                     over
#   (a timer that     scale.sh's GNU time replaced by one      scale: the peak memory (no measurement
#   measures nothing) that runs the command and writes nothing is no pass)
#
# The suites run shortened where they have knobs for it (fewer steps, configs, ranks).
# ONLY="export.sh torch.sh" runs the mutations of those suites alone.
# Weight files are always compared with the built binary (harness.sh: REFERENCE_SPRIG).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
DATA="${1:-$ROOT/data/mnist}"
MUTANTS="$(mktemp -d)"
trap 'rm -rf "$MUTANTS"' EXIT
SUITES="$ROOT/Tests/scripts"

# mutant NAME BODY: writes $MUTANTS/NAME/sprig, which runs BODY (bash, with the arguments
# in the array `args` and the subcommand in $1) and then the built binary with `args`.
mutant() {
  mkdir -p "$MUTANTS/$1"
  cat > "$MUTANTS/$1/sprig" <<EOF
#!/usr/bin/env bash
args=("\$@")
$2
exec "$REFERENCE_SPRIG" "\${args[@]}"
EOF
  chmod +x "$MUTANTS/$1/sprig"
}

# Another seed under mpirun: sprig train takes --seed; sprig prune reads it from its config.
mutant seed-under-mpirun '
if [ -n "${OMPI_COMM_WORLD_SIZE:-}" ]; then
  case "$1" in
    train) args+=(--seed 7) ;;
    prune)
      for i in "${!args[@]}"; do
        if [ "${args[$i]}" = --config ]; then
          copy="$(dirname "$0")/config-$$.yaml"
          { grep -v "^seed:" "${args[$((i + 1))]}"; echo "seed: 7"; } > "$copy"
          args[$((i + 1))]="$copy"
        fi
      done ;;
  esac
fi'
# Another seed under srun --mpi=pmix: PMIx's variables without Open MPI's (mpirun sets both).
mutant seed-under-srun '
if [ "$1" = train ] && [ -n "${PMIX_RANK:-}" ] && [ -z "${OMPI_COMM_WORLD_SIZE:-}" ]; then args+=(--seed 7); fi'
mutant seed-on-resume '
for a in "$@"; do [ "$a" = --resume ] && args+=(--seed 7); done'
mutant stop-at-50 '
case "$1" in
  train) args+=(--max-steps 50) ;;
  prune) args+=(--epochs 1 --iterations 1 --retrain-epochs 1) ;;
esac'
mutant no-op '
case "$1" in train|prune) exit 0 ;; esac'
mutant killed-by-signal '
if [ "$1" = train ]; then
  "$0.real" "${args[@]}" &
  child=$!
  trap "kill -9 $child; exit 143" TERM USR1
  trap "kill -9 $child; exit 130" INT USR2
  wait "$child"
  exit $?
fi'
ln -s "$REFERENCE_SPRIG" "$MUTANTS/killed-by-signal/sprig.real"
mutant eval-off '
if [ "$1" = eval ]; then
  "$0.real" "$@" | awk "{ \$2 = sprintf(\"%.4f\", \$2 + 0.01); print }"
  exit "${PIPESTATUS[0]}"
fi'
ln -s "$REFERENCE_SPRIG" "$MUTANTS/eval-off/sprig.real"
mutant csr-eval-off '
if [ "$1" = eval ] && head -c 65536 "$2" | grep -qa sparse_csr; then
  "$0.real" "$@" | awk "{ \$2 = sprintf(\"%.4f\", \$2 + 0.01); print }"
  exit "${PIPESTATUS[0]}"
fi'
ln -s "$REFERENCE_SPRIG" "$MUTANTS/csr-eval-off/sprig.real"
mutant data-off '
if [ "$1" = data ]; then
  "$0.real" "$@" | sed -E "s/values crc32 0x[0-9a-f]+/values crc32 0x0badc0de/"
  exit "${PIPESTATUS[0]}"
fi'
ln -s "$REFERENCE_SPRIG" "$MUTANTS/data-off/sprig.real"
mutant no-bar '
if [ "$1" = train ]; then
  "$0.real" "$@" | cat
  exit "${PIPESTATUS[0]}"
fi'
ln -s "$REFERENCE_SPRIG" "$MUTANTS/no-bar/sprig.real"
mutant csr-off '
for i in "${!args[@]}"; do [ "${args[$i]}" = sparse ] && [ "${args[$((i - 1))]}" = --weights-format ] && args[$i]=dense; done'

# A stop signal's checkpoint that does not land: periodic checkpoints every 100 steps, and
# after the stop rank 0's file is the one before (PATH.1), an older step.
mutant stale-stop-checkpoint '
if [ "$1" = train ] && [ "${OMPI_COMM_WORLD_RANK:-0}" = 0 ]; then
  for i in "${!args[@]}"; do [ "${args[$i]}" = --checkpoint ] && checkpoint="${args[$((i + 1))]}"; done
  if [ -n "${checkpoint:-}" ]; then
    trap : TERM INT USR1 USR2   # mpirun signals the process group: sprig gets them itself
    "$REFERENCE_SPRIG" "${args[@]}" --checkpoint-every 100 & pid=$!
    while :; do wait "$pid"; code=$?; kill -0 "$pid" 2>/dev/null || break; done
    [ "$code" -gt 128 ] && [ -e "$checkpoint.1" ] && cp "$checkpoint.1" "$checkpoint"
    exit "$code"
  fi
fi
[ "$1" = train ] && args+=(--checkpoint-every 100)'
mutant sparse-checkpoints '
for i in "${!args[@]}"; do [ "${args[$i]}" = 1 ] && [ "${args[$((i - 1))]}" = --checkpoint-every ] && args[$i]=2; done'
mutant fresh-restart '
for i in "${!args[@]}"; do [ "${args[$i]}" = --auto-resume ] && unset "args[$i]"; done
args=("${args[@]}")'
mutant plain ''
printf '#!/usr/bin/env bash\nshift 4\nexec "$@"\n' > "$MUTANTS/silent-time"
chmod +x "$MUTANTS/silent-time"

# caught MUTANT SUITE "EXPECTED FAIL LINE"... [-- ENV=VALUE...]: runs SUITE against MUTANT;
# passes when the suite exits non-zero and prints every expected FAIL line (a prefix).
caught() {
  local name="$1" suite="$2" code missing="" expected env=(); shift 2
  [ -z "${ONLY:-}" ] || [[ " $ONLY " == *" $suite "* ]] || return 0
  local expectations=()
  while [ $# -gt 0 ]; do
    if [ "$1" = -- ]; then shift; env=("$@"); break; fi
    expectations+=("$1"); shift
  done
  env "${env[@]}" SPRIG="$MUTANTS/$name/sprig" bash "$SUITES/$suite" "$DATA" >"$MUTANTS/$name-$suite.log" 2>&1
  code=$?
  for expected in "${expectations[@]}"; do
    grep -qF -- "FAIL $expected" "$MUTANTS/$name-$suite.log" || missing+=" [$expected]"
  done
  if [ "$code" -ne 0 ] && [ -z "$missing" ]; then
    pass "$suite fails against $name ($(grep -c '^FAIL' "$MUTANTS/$name-$suite.log") FAIL lines, exit $code)"
  else
    fail "$suite fails against $name" "exit $code, missing FAIL lines:$missing; $(grep -E '^(PASS|FAIL)' "$MUTANTS/$name-$suite.log" | tail -5 | tr '\n' ' ')"
  fi
}

caught seed-under-mpirun rank-invariance.sh \
  "rigl-mnist: mpirun -np 2 weights and masks equal the single process's" \
  "rigl-mnist: mpirun -np 2 losses, accuracies and mask updates equal the single process's" \
  "lenet5-cifar10-augment: mpirun -np 2 weights and masks equal the single process's" \
  -- CONFIGS=rigl-mnist.yaml RANKS=2 SKIP_EXTRA=1 SKIP_RESNET=1
caught seed-under-mpirun nnrelief.sh \
  "lenet300-reset: NNrelief on 2 ranks gives the single process's masks and weights" \
  "lenet5-reset: NNrelief on 2 ranks gives the single process's masks and weights" -- SKIP_CONV_NETS=1
caught seed-on-resume checkpoints.sh \
  "rigl-mnist: stopped at step 1000, resumed on 1 rank(s): same weights and masks as the whole run" \
  "rigl-mnist: stopped at step 1000, resumed on 2 rank(s): same weights and masks as the whole run" \
  "rigl-mnist: --metrics-out after --resume on 1 rank(s) continues the file" \
  -- CHECKPOINT_CONFIGS=rigl-mnist.yaml RESUME_ONLY=1
caught stale-stop-checkpoint checkpoints.sh "SIGTERM: the checkpoint is of the step the run stopped after" \
  -- CHECKPOINT_CONFIGS=rigl-mnist.yaml SIGNALS_ONLY=1
caught sparse-checkpoints checkpoints.sh "the last checkpoint before the NaN is of step" -- CHECKPOINT_CONFIGS=rigl-mnist.yaml
caught fresh-restart faults.sh "--max-restarts 3: ranks 1 and 0 SIGKILLed"
caught plain scale.sh "rigl-32768: peak resident memory in GB" -- SCALE_ONLY=memory TIME_BIN="$MUTANTS/silent-time"
caught killed-by-signal checkpoints.sh \
  "SIGTERM to 2 rank(s) after epoch 1" \
  "SIGINT to 1 rank(s) after epoch 1" \
  -- CHECKPOINT_CONFIGS=rigl-mnist.yaml SIGNALS_ONLY=1
caught stop-at-50 accuracy.sh \
  "dense LeNet-300-100 >= 98.0% in 20 epochs" \
  "RigL (0.98/0.882/dense) >= 98.0% in 30 epochs" \
  "fast-mnist (RigL 0.95/0.5/dense) >= 98.0% in 6 epochs" \
  "NNrelief lenet300: <= 3.0% of the weights" \
  "NNrelief lenet5: <= 5.0% of the weights" \
  "lenet-5-caffe with crops and flips on cifar10-format files from MNIST, 1 rank(s)" \
  "lenet-5-caffe with crops and flips on cifar100-format files from MNIST, 2 rank(s)"
caught no-op accuracy.sh \
  "dense LeNet-300-100 >= 98.0% in 20 epochs" \
  "NNrelief lenet300: <= 3.0% of the weights"
caught no-op faults.sh \
  "2 ranks train before one is killed" \
  "4 ranks train before one is killed"
caught no-op pictures.sh \
  "the pictures have a title and frame labels, the frames, and a colour scale with values" \
  "on a terminal the progress bar shows step, loss, rate, elapsed time and ETA"
caught no-bar pictures.sh "on a terminal the progress bar shows step, loss, rate, elapsed time and ETA"
caught eval-off export.sh \
  "Python safetensors + NumPy read shapes, masks and config, and reproduce sprig eval's accuracy"
caught eval-off torch.sh \
  "lenet-300-100: torch " "lenet-5: torch " -- SKIP_CONV_NETS=1
caught csr-eval-off export.sh "sprig eval of the sparse file gives the dense file's line"
caught csr-off export.sh "NumPy densifies the sparse file into the dense export bit for bit"
caught data-off data-formats.sh "sprig data npz: the values and labels NumPy wrote" \
  "sprig data cifar10: the values and labels NumPy wrote" -- DIGESTS_ONLY=1
caught no-op data-formats.sh "MNIST as npz trains LeNet-5 to the weights and masks of MNIST from IDX" \
  "float32 features train"
if [ "$(id -u)" -eq 0 ]; then
  caught seed-under-mpirun multinode.sh "two hosts end with the single process's weights and masks"
  caught no-op multinode.sh "training across the two hosts starts before the cut"
  caught seed-under-srun slurm.sh "srun --mpi=pmix under sbatch: the weights of launch/mpirun.sh 2" -- SLURM_PARTS=launch
  caught killed-by-signal slurm.sh "scancel of job" "the log says how to resume" -- SLURM_PARTS=scancel
elif [ -z "${ONLY:-}" ] || [[ " $ONLY " == *" multinode.sh "* ]] || [[ " $ONLY " == *" slurm.sh "* ]]; then
  fail "multinode and Slurm mutations" "need root (network namespaces, Slurm's daemons)"
fi
finish
