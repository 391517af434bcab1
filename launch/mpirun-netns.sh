#!/usr/bin/env bash
# Runs sprig across the namespace "hosts" of launch/netns-hosts.sh, one rank per host,
# with Open MPI forced onto TCP between them and launch/netns-rsh.sh as its remote launch
# agent: the multi-node setting of a cluster, on one machine.
#
#   launch/mpirun-netns.sh [--max-restarts N [--min-ranks K]] NP [sprig arguments...]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# mpirun.sh's own options (--max-restarts N, --min-ranks K) come first and go on to it.
opts=()
while [ $# -gt 1 ] && [ "${1#--}" != "$1" ]; do opts+=("$1" "$2"); shift 2; done
NP="${1:?usage: mpirun-netns.sh [--max-restarts N [--min-ranks K]] NP [sprig arguments...]}"
shift
export SPRIG_NETNS_MAP="${SPRIG_NETNS_MAP:-/tmp/sprig-netns.map}"
hosts="$(head -n "$NP" "$SPRIG_NETNS_MAP" | awk '{ printf "%s%s:1", sep, $1; sep = "," }')"
MPIRUN_ARGS="--host $hosts --mca plm_rsh_agent $ROOT/launch/netns-rsh.sh --mca plm_rsh_no_tree_spawn 1
  --mca btl tcp,self --mca btl_tcp_if_include 10.77.0.0/24 --mca oob_tcp_if_include 10.77.0.0/24
  -x SPRIG_NETNS_MAP ${MPIRUN_ARGS:-}" exec bash "$ROOT/launch/mpirun.sh" ${opts[@]+"${opts[@]}"} "$NP" "$@"
