#!/usr/bin/env bash
# Runs sprig under Open MPI's mpirun on this machine with the flags it needs here:
# --allow-run-as-root when root, --oversubscribe when there are more ranks than cores,
# one BLAS thread per rank, ranks that yield when idle (busy polling on few cores slows
# collectives), and TCP keepalives so that a lost peer ends the job instead of hanging it.
#
#   launch/mpirun.sh NP [sprig arguments...]       e.g. launch/mpirun.sh 2 train --config configs/lenet300-dense.yaml
#
# SPRIG (default: .build/release/sprig) names the binary; MPIRUN_ARGS adds mpirun flags.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NP="${1:?usage: launch/mpirun.sh NP [sprig arguments...]}"
shift
SPRIG="${SPRIG:-$ROOT/.build/release/sprig}"
[ -x "$SPRIG" ] || { echo "mpirun.sh: $SPRIG not built (swift build -c release)" >&2; exit 1; }
args=(-np "$NP" -x OPENBLAS_NUM_THREADS=1 --bind-to none
      --mca mpi_yield_when_idle 1
      --mca oob_tcp_keepalive_time 5 --mca oob_tcp_keepalive_intvl 2 --mca oob_tcp_keepalive_probes 3)
[ "$(id -u)" -eq 0 ] && args+=(--allow-run-as-root)
[ "$NP" -gt "$(nproc)" ] && args+=(--oversubscribe)
# shellcheck disable=SC2086
exec mpirun "${args[@]}" ${MPIRUN_ARGS:-} "$SPRIG" "$@"
