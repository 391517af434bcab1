#!/usr/bin/env bash
# Makes (up) or removes (down) N test "hosts" on this machine: Linux network namespaces
# sprig-h1..N, each with a veth into a bridge in the root namespace, addresses
# 10.77.0.2.. on 10.77.0.0/24 (the bridge is 10.77.0.1). Only addresses inside these
# namespaces are used. Writes the address-to-namespace map for launch/netns-rsh.sh.
#
#   launch/netns-hosts.sh up [N] [MAPFILE]     launch/netns-hosts.sh down [N]
set -euo pipefail
cmd="${1:?usage: netns-hosts.sh up|down [N] [MAPFILE]}"
N="${2:-2}"
MAP="${3:-/tmp/sprig-netns.map}"
BR=sprig-br0
case "$cmd" in
  up)
    ip link add "$BR" type bridge
    ip addr add 10.77.0.1/24 dev "$BR"
    ip link set "$BR" up
    : > "$MAP"
    for i in $(seq 1 "$N"); do
      ns="sprig-h$i"; addr="10.77.0.$((i + 1))"
      ip netns add "$ns"
      ip link add "sprig-v$i" type veth peer name "sprig-p$i"
      ip link set "sprig-p$i" netns "$ns"
      ip link set "sprig-v$i" master "$BR"
      ip link set "sprig-v$i" up
      ip netns exec "$ns" ip link set lo up
      ip netns exec "$ns" ip addr add "$addr/24" dev "sprig-p$i"
      ip netns exec "$ns" ip link set "sprig-p$i" up
      echo "$addr $ns" >> "$MAP"
    done
    ;;
  down)
    for i in $(seq 1 "$N"); do
      ns="sprig-h$i"
      if ip netns list | grep -qw "$ns"; then
        pids="$(ip netns pids "$ns" || true)"
        [ -z "$pids" ] || kill -9 $pids 2>/dev/null || true
        ip netns del "$ns" || true
      fi
      ip link del "sprig-v$i" 2>/dev/null || true
    done
    ip link del "$BR" 2>/dev/null || true
    ;;
  *) echo "netns-hosts: unknown command $cmd" >&2; exit 2 ;;
esac
