#!/usr/bin/env bash
# Runs sprig under Open MPI's mpirun on this machine with the flags it needs here:
# --allow-run-as-root when root, --oversubscribe when there are more ranks than cores,
# one BLAS thread per rank, ranks that yield when idle (busy polling on few cores slows
# collectives), TCP keepalives so that a lost peer ends the job instead of hanging it, and
# a clean stop on SIGTERM or SIGINT (below).
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
# UCX's pml probes for InfiniBand hardware at MPI_Init (0.2 s here, on every start); the
# ob1 pml with its shared-memory and TCP transports carries Sprig's small messages as
# well. OMPI_MCA_pml=ucx in the environment brings UCX back.
export OMPI_MCA_pml="${OMPI_MCA_pml:-ob1}"
args=(-np "$NP" -x OPENBLAS_NUM_THREADS=1 --bind-to none
      --mca mpi_yield_when_idle 1
      --mca oob_tcp_keepalive_time 5 --mca oob_tcp_keepalive_intvl 2 --mca oob_tcp_keepalive_probes 3)
[ "$(id -u)" -eq 0 ] && args+=(--allow-run-as-root)
[ "$NP" -gt "$(nproc)" ] && args+=(--oversubscribe)
# A stop signal: mpirun itself answers SIGTERM and SIGINT by aborting the job (the ranks get
# SIGTERM, then SIGKILL a second later, and mpirun stops relaying their output), so the
# ranks would stop and write their checkpoint but their last lines could be lost. Instead
# this script catches SIGTERM and SIGINT and sends mpirun SIGUSR1 or SIGUSR2, which mpirun
# relays to every rank as they are; sprig takes them for SIGTERM and SIGINT (the same clean
# stop), mpirun relays every line to the end, and this script exits with 128 + the signal.
# mpirun runs as a job of its own (job control: its own process group), so that Ctrl-C on a
# terminal reaches this script only, with no standard input (sprig reads none; a background
# job that read the terminal would be stopped).
caught=0
forward() { caught=$1; kill "-$2" "$pid" 2>/dev/null; }
trap 'forward 15 USR1' TERM
trap 'forward 2 USR2' INT
trap 'forward 15 USR1' HUP   # the terminal went away: stop cleanly too
set -m
# shellcheck disable=SC2086
mpirun "${args[@]}" ${MPIRUN_ARGS:-} "$SPRIG" "$@" </dev/null &
pid=$!
while :; do
  code=0
  wait "$pid" || code=$?
  # wait returns early (above 128) when a trapped signal arrives; mpirun is then still running.
  kill -0 "$pid" 2>/dev/null || break
done
[ "$caught" -ne 0 ] && exit $((128 + caught))
exit "$code"
