#!/usr/bin/env bash
# Open MPI's remote launch agent for "hosts" that are Linux network namespaces on this
# machine (launch/netns-hosts.sh): called as `netns-rsh.sh [options] HOST command...`, it
# skips ssh-style options, maps HOST (an address) to its namespace through the file
# $SPRIG_NETNS_MAP ("ADDRESS NAMESPACE" lines), and runs the command through a shell
# inside that namespace with a hostname of its own (without one, orted crashed now and
# then in hwloc's shared-memory topology code).
set -euo pipefail
while [[ $# -gt 0 && "$1" == -* ]]; do
  case "$1" in -l|-p|-o|-i|-F) shift 2 ;; *) shift ;; esac
done
host="${1:?netns-rsh: no host}"
shift
ns="$(awk -v h="$host" '$1 == h { print $2 }' "${SPRIG_NETNS_MAP:?netns-rsh: SPRIG_NETNS_MAP not set}")"
[ -n "$ns" ] || { echo "netns-rsh: unknown host $host" >&2; exit 255; }
exec ip netns exec "$ns" unshare --uts sh -c "hostname $ns; $*"
