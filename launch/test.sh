#!/usr/bin/env bash
# Sprig's whole test suite, from a fresh clone: installs what is missing (system packages,
# MNIST), builds, and runs every suite under a time limit: the unit tests (swift test, no
# MPI), the architecture's layering, bad input through the command line, the data formats
# (MNIST written as npz and CIFAR files by NumPy, NumPy from PyPI), the launch
# scripts, rank-count invariance under mpirun, a killed rank, multi-node runs over network
# namespaces (root), a one-node Slurm cluster (slurm-wlm and munge from apt, root) running
# launch/slurm.sbatch, checkpoints, resume and stop signals, export read by Python
# (safetensors from PyPI), pictures and plots, the export loaded strictly into a PyTorch
# module (the torch CPU wheel, installed when missing) with sprig eval's accuracy, NNrelief
# on 2 ranks, the same bits as a baseline commit, the build without Open MPI, the
# mutation checks (each suite fails against a wrong binary), and the accuracy floors on
# real MNIST and on CIFAR-format files made from it. Ends with "N passed, M failed" over all of them (docs/guide.md, "Tests").
#
#   launch/test.sh            (QUICK=1 skips the accuracy floors)
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# setup STEP COMMAND...: a failed setup step ends the run, counted as one failure
setup() { "${@:2}" || { echo "test.sh: $1 failed"; echo "0 passed, 1 failed"; exit 1; }; }
setup "installing the system packages" bash launch/install-deps.sh
setup "fetching MNIST" bash launch/fetch-mnist.sh
setup "finding swift (install Swift 6.1 or later, swift.org)" command -v swift
setup "building sprig" swift build -c release --product sprig

source launch/suite-runner.sh

suite "unit tests" 1800 bash Tests/scripts/unit-tests.sh
suite "architecture: imports follow the layers" 300 bash Tests/scripts/architecture.sh
suite "the suite runner: a hung or stray process of a suite fails it and is killed" 120 bash Tests/scripts/suite-runner.sh
suite "bad input" 300 bash Tests/scripts/bad-input.sh
suite "data formats: npz, CIFAR-10/100 and NHWC read as NumPy wrote them, npz = IDX bits" 600 bash Tests/scripts/data-formats.sh
suite "launch scripts: train.sh runs RigL" 600 bash Tests/scripts/launch-scripts.sh
suite "docs: results stamped with commits in the history, every config key and flag documented" 300 bash Tests/scripts/docs.sh
suite "the papers' configs (configs/paper/) start; NNrelief keeps the best epoch by validation" 900 bash Tests/scripts/paper-configs.sh
suite "rank-count invariance (mpirun; ResNet-20 with batch norm)" 1500 bash Tests/scripts/rank-invariance.sh
suite "SRigL, Top-KAST, GraNet: 1/2/4 ranks and resume onto 2 ranks bitwise (mpirun; LeNet-300-100, LeNet-5)" 600 bash Tests/scripts/method-ranks.sh
suite "faults: a killed rank (mpirun)" 300 bash Tests/scripts/faults.sh
suite "multi-node over namespaces: same model, cut link" 600 bash Tests/scripts/multinode.sh
suite "Slurm: one-node cluster, sbatch = mpirun, srun without PMI, scancel and resume" 1200 bash Tests/scripts/slurm.sh
suite "checkpoints: resume (ResNet-20 too), stop signals, NaN, SIGKILL mid-write" 900 bash Tests/scripts/checkpoints.sh
suite "export: Python safetensors, eval, pictures" 600 bash Tests/scripts/export.sh
suite "pictures: titles and scales, progress bar, plot-metrics" 600 bash Tests/scripts/pictures.sh
suite "PyTorch: strict load, sprig eval's accuracy (LeNet-300-100, LeNet-5; LeNet-5, ResNet-20, WRN-22-2, VGG-16 on CIFAR-10 files)" 1500 bash Tests/scripts/torch.sh
suite "NNrelief on 2 ranks (mpirun; LeNets, ResNet-20)" 1200 bash Tests/scripts/nnrelief.sh
suite "conv nets: every method on ResNet-20, a layer list trains to the zoo model's bits" 900 bash Tests/scripts/conv-nets.sh
suite "sparse at scale: 8192 and 32768 wide" 900 bash Tests/scripts/scale.sh
suite "same bits as the baseline commit" 1500 bash Tests/scripts/same-bits.sh
suite "build without Open MPI (--disable-default-traits)" 1200 bash Tests/scripts/no-mpi-build.sh
suite "mutations: each suite fails against a wrong binary" 1800 bash Tests/scripts/mutations.sh
suite "source mutants: seven wrong patches inside the binary, each caught by the suite that guards it" 1200 bash Tests/scripts/source-mutants.sh
[ -n "${QUICK:-}" ] || suite "accuracy on MNIST and on CIFAR-format files made from MNIST" 1800 bash Tests/scripts/accuracy.sh

echo "== all suites"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
