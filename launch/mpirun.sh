#!/usr/bin/env bash
# Runs sprig under Open MPI's mpirun on this machine with the flags it needs here:
# --allow-run-as-root when root, --oversubscribe when there are more ranks than cores,
# one BLAS thread per rank, ranks that yield when idle (busy polling on few cores slows
# collectives), TCP keepalives so that a lost peer ends the job instead of hanging it, and
# a clean stop on SIGTERM or SIGINT (below).
#
#   launch/mpirun.sh [--max-restarts N [--min-ranks K]] NP [sprig arguments...]
#   e.g. launch/mpirun.sh 2 train --config configs/lenet300-dense.yaml
#        launch/mpirun.sh --max-restarts 3 4 train --config C --checkpoint run.ckpt --checkpoint-every-minutes 10
#
# --max-restarts N: when a rank dies (a signal such as SIGKILL from the OOM killer, or a
#   lost host), the job starts again, up to N times, and continues from the newest valid
#   checkpoint (sprig train --auto-resume, so the run needs --checkpoint PATH). Each restart
#   says so in one line (`sprig: restart 1 of 3 after rank 1 died (signal 9); resuming at
#   step S from PATH`), and the run ends as the uninterrupted one would, bit for bit. A run
#   that fails by itself (bad input: exit 2, replicas diverged: 3, a loss not finite: 4)
#   would fail again and is not restarted.
# --min-ranks K: a restart after a lost host (mpirun lost its daemon there) leaves that host
#   out (of MPIRUN_ARGS' --host list or --hostfile) and goes on with half the ranks, as
#   long as that is at least K: a resume takes any count of ranks that divides the
#   micro-batches, with the same bits on any power of two.
#
# SPRIG (default: .build/release/sprig) names the binary; MPIRUN_ARGS adds mpirun flags.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
usage="usage: launch/mpirun.sh [--max-restarts N [--min-ranks K]] NP [sprig arguments...]"
max_restarts=0
min_ranks=""
while [ $# -gt 0 ]; do
  case "$1" in
    --max-restarts) max_restarts="${2:-}"; shift 2 || shift ;;
    --min-ranks) min_ranks="${2:-}"; shift 2 || shift ;;
    *) break ;;
  esac
done
count() { [[ "$2" =~ ^[0-9]+$ ]] || { echo "mpirun.sh: $1 must be a count, got '$2' ($usage)" >&2; exit 2; }; }
count --max-restarts "$max_restarts"
[ -z "$min_ranks" ] || count --min-ranks "$min_ranks"
NP="${1:?$usage}"
count NP "$NP"
shift
SPRIG="${SPRIG:-$ROOT/.build/release/sprig}"
[ -x "$SPRIG" ] || { echo "mpirun.sh: $SPRIG not built (swift build -c release)" >&2; exit 1; }
sprig_args=("$@")
if [ "$max_restarts" -gt 0 ]; then
  has() { local a; for a in "${sprig_args[@]}"; do [ "$a" = "$1" ] || [ "${a%%=*}" = "$1" ] && return 0; done; return 1; }
  if [ "${sprig_args[0]:-}" != train ] || ! has --checkpoint; then
    echo "mpirun.sh: --max-restarts restarts 'sprig train' runs that write --checkpoint PATH (the file a restart continues from)" >&2
    exit 2
  fi
  if has --resume; then
    echo "mpirun.sh: --max-restarts continues from --checkpoint's file: start the run with --config, not --resume" >&2
    exit 2
  fi
  has --auto-resume || auto_resume=(--auto-resume)
fi
# UCX's pml probes for InfiniBand hardware at MPI_Init (0.2 s here, on every start); the
# ob1 pml with its shared-memory and TCP transports carries Sprig's small messages as
# well. OMPI_MCA_pml=ucx in the environment brings UCX back.
export OMPI_MCA_pml="${OMPI_MCA_pml:-ob1}"
# A stop signal: mpirun itself answers SIGTERM and SIGINT by aborting the job (the ranks get
# SIGTERM, then SIGKILL a second later, and mpirun stops relaying their output), so the
# ranks would stop and write their checkpoint but their last lines could be lost. Instead
# this script catches SIGTERM and SIGINT and sends mpirun SIGUSR1 or SIGUSR2, which mpirun
# relays to every rank as they are; sprig takes them for SIGTERM and SIGINT (the same clean
# stop), mpirun relays every line to the end, and this script exits with 128 + the signal
# (and restarts nothing).
# mpirun runs as a job of its own (job control: its own process group), so that Ctrl-C on a
# terminal reaches this script only, with no standard input (sprig reads none; a background
# job that read the terminal would be stopped).
caught=0
pid=""
forward() { caught=$1; [ -n "$pid" ] && kill "-$2" "$pid" 2>/dev/null; }
trap 'forward 15 USR1' TERM
trap 'forward 2 USR2' INT
trap 'forward 15 USR1' HUP   # the terminal went away: stop cleanly too
set -m
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# launch NP ARGS...: one mpirun job; sets code. Its standard error goes to this script's
# and to $work/stderr, where a restart reads why the job ended.
launch() {
  local np="$1"; shift
  local args=(-np "$np" -x OPENBLAS_NUM_THREADS=1 --bind-to none
        --mca mpi_yield_when_idle 1
        --mca oob_tcp_keepalive_time 5 --mca oob_tcp_keepalive_intvl 2 --mca oob_tcp_keepalive_probes 3)
  [ "$(id -u)" -eq 0 ] && args+=(--allow-run-as-root)
  [ "$np" -gt "$(nproc)" ] && args+=(--oversubscribe)
  [ -n "${SPRIG_RESTART:-}" ] && args+=(-x SPRIG_RESTART)
  rm -f "$work/stderr" "$work/fifo"
  mkfifo "$work/fifo"
  tee "$work/stderr" <"$work/fifo" >&2 &
  local teepid=$!
  # shellcheck disable=SC2086
  mpirun "${args[@]}" ${MPIRUN_ARGS:-} "$SPRIG" "$@" </dev/null 2>"$work/fifo" &
  pid=$!
  while :; do
    code=0
    wait "$pid" || code=$?
    # wait returns early (above 128) when a trapped signal arrives; mpirun is then still running.
    kill -0 "$pid" 2>/dev/null || break
  done
  pid=""
  wait "$teepid" 2>/dev/null || true
}
# without HOST: MPIRUN_ARGS with HOST left out of its --host list or --hostfile (a copy).
without() {
  local out="" prev="" a b
  for a in ${MPIRUN_ARGS:-}; do
    b="$a"
    case "$prev" in
      --host|-host|-H) b="$(echo "$a" | tr ',' '\n' | grep -v -E "^$1(:[0-9]+)?$" | paste -sd, -)" ;;
      --hostfile|-hostfile|--machinefile|-machinefile)
        b="$work/hostfile.$restarts"
        grep -v -E "^[[:space:]]*$1([[:space:]]|$)" "$a" >"$b" || true ;;
    esac
    out+="$b "
    prev="$a"
  done
  echo "$out"
}
restarts=0
while :; do
  # the first start is the run as given; a restart continues it from its checkpoint
  if [ "$restarts" -eq 0 ]; then launch "$NP" "${sprig_args[@]}"; else launch "$NP" "${sprig_args[@]}" ${auto_resume[@]+"${auto_resume[@]}"}; fi
  [ "$caught" -ne 0 ] && exit $((128 + caught))
  [ "$code" -eq 0 ] && exit 0
  [ "$restarts" -lt "$max_restarts" ] || exit "$code"
  # Why the job ended, from mpirun's own lines.
  died="$(grep -o 'process rank [0-9]* with PID [0-9]* on node [^ ]* exited on signal [0-9]*' "$work/stderr" | head -1 || true)"
  lost="$(grep -m1 -o 'lost communication with a remote daemon\|daemon has unexpectedly failed\|unable to reliably start one or more daemons' "$work/stderr" || true)"
  if [ -n "$died" ]; then
    why="rank $(echo "$died" | cut -d' ' -f3) died (signal ${died##* })"
  elif [ -n "$lost" ]; then
    why="a host was lost"
  elif [ "$code" -gt 128 ]; then
    why="a rank ended by signal $((code - 128))"
  else
    exit "$code"   # the run failed by itself: a restart would fail alike
  fi
  restarts=$((restarts + 1))
  if [ -n "$lost" ] && [ -n "$min_ranks" ] && [ $((NP / 2)) -ge "$min_ranks" ] && [ "$NP" -gt 1 ]; then
    host="$(grep -o 'Remote daemon: .* on node [^ ]*' "$work/stderr" | head -1 | awk '{ print $NF }' || true)"
    if [ -n "$host" ]; then
      MPIRUN_ARGS="$(without "$host")"
      NP=$((NP / 2))
      why="$why, going on with $NP rank$([ "$NP" -eq 1 ] || echo s) without $host"
    fi
  fi
  export SPRIG_RESTART="restart $restarts of $max_restarts after $why"
done
