#!/usr/bin/env bash
# Multi-node on one machine: two "hosts" made of network namespaces joined by a bridge
# (launch/netns-hosts.sh), Open MPI over TCP with a namespace-aware launch agent
# (launch/mpirun-netns.sh). Checks that
#   - RigL trained across the two hosts ends with the same weights and masks as one process;
#   - cutting the link to one host mid-run ends the job with a non-zero exit within 30 s,
#     leaves no process behind, and leaves the last checkpoint intact and resumable;
#   - under launch/mpirun.sh --max-restarts 2 --min-ranks 1, a host lost mid-run (its link
#     cut) is left out: the job goes on from its checkpoint on 1 rank and ends with the
#     single process's weights.
# Needs root (namespaces). Tears everything down on exit.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/harness.sh"
DATA="${1:-$ROOT/data/mnist}"
WORK="$(mktemp -d)"
export SPRIG_NETNS_MAP="$WORK/hosts.map"
cleanup() { bash "$ROOT/launch/netns-hosts.sh" down 2 >/dev/null 2>&1; rm -rf "$WORK"; }
trap cleanup EXIT
bash "$ROOT/launch/netns-hosts.sh" down 2 >/dev/null 2>&1
if ! bash "$ROOT/launch/netns-hosts.sh" up 2 "$SPRIG_NETNS_MAP" >"$WORK/up.log" 2>&1; then
  fail "make two namespace hosts" "$(cat "$WORK/up.log")"
  finish
  exit 1
fi
CONFIG="$ROOT/configs/rigl-mnist.yaml"

# 1. the same model across two hosts as on one
"$SPRIG" train --config "$CONFIG" --data "$DATA" --max-steps 300 --weights-out "$WORK/one.safetensors" >"$WORK/one.log" 2>&1
code=$?
check_code "RigL trains 300 steps in one process" "$code" "$(tail -3 "$WORK/one.log")"
bash "$ROOT/launch/mpirun-netns.sh" 2 train --config "$CONFIG" --data "$DATA" --max-steps 300 \
  --weights-out "$WORK/two.safetensors" >"$WORK/two.log" 2>&1
code=$?
check_code "RigL across two namespace hosts (TCP) trains 300 steps" "$code" "$(grep -v '^-' "$WORK/two.log" | tail -5)"
same_weights "two hosts end with the single process's weights and masks" "$WORK/one.safetensors" "$WORK/two.safetensors"
hosts=$(SPRIG=/bin/hostname bash "$ROOT/launch/mpirun-netns.sh" 2 2>/dev/null | sort | tr '\n' ' ')
check "ranks run on the two hosts ($hosts)" test "$hosts" = "sprig-h1 sprig-h2 "

# 2. a cut link ends the job
bash "$ROOT/launch/mpirun-netns.sh" 2 train --config "$CONFIG" --data "$DATA" --epochs 500 \
  --checkpoint "$WORK/cut.ckpt" --checkpoint-every 50 >"$WORK/cut.log" 2>&1 &
job=$!
# the link is cut only once training runs on both hosts (a first epoch ended)
if ! wait_for_line "$WORK/cut.log" "^epoch 1/" 60 "$job"; then
  fail "training across the two hosts starts before the cut" "$(grep -v '^-' "$WORK/cut.log" | tail -3)"
  kill -9 "$job" 2>/dev/null
  finish
  exit 1
fi
pass "training across the two hosts starts before the cut"
# The suite's own processes: the job's whole tree (launcher, mpirun, orted, ranks), taken
# before the cut; other sprig runs on the machine are none of its business.
tree() { local p; for p in $(pgrep -P "$1"); do echo "$p"; tree "$p"; done; }
ours="$(tree "$job" | tr '\n' ' ')"
# A process named sprig that is not the suite's (another user's run) must not count.
cp /bin/sleep "$WORK/sprig"
"$WORK/sprig" 120 &
decoy=$!
ip link set sprig-v2 down
cut=$(date +%s%N)
for _ in $(seq 1 90); do kill -0 "$job" 2>/dev/null || break; sleep 0.5; done
if kill -0 "$job" 2>/dev/null; then
  fail "a cut link ends the job within 30 s" "still running after 45 s"
  kill -9 "$job" 2>/dev/null
else
  wait "$job"; code=$?
  took=$((($(date +%s%N) - cut) / 1000000))
  check "a cut link ends the job with a non-zero exit within 30 s (exit $code after $took ms)" test "$code" -ne 0 -a "$took" -le 30000
fi
left=""
for _ in $(seq 1 30); do
  left="$(ip netns pids sprig-h1 2>/dev/null) $(ip netns pids sprig-h2 2>/dev/null) $(for p in $ours; do kill -0 "$p" 2>/dev/null && echo "$p"; done)"
  [ -z "${left// /}" ] && break
  sleep 0.5
done
[ -n "${left// /}" ] || left=none
check "no process of the job left behind after the cut ($(echo $ours | wc -w) watched, a foreign 'sprig' (pid $decoy) running; left: $left)" \
  test "$left" = none -a -n "$ours" -a -n "$(pgrep -x sprig | grep -x "$decoy")"
kill "$decoy" 2>/dev/null
"$SPRIG" train --resume "$WORK/cut.ckpt" --data "$DATA" --stop-after 0 >"$WORK/resume.log" 2>&1
code=$?
resumed="$(grep -o 'resuming at step [0-9]*' "$WORK/resume.log")"
check "the last checkpoint is intact after the cut (exit $code, $resumed)" test "$code" -eq 0 -a -n "$resumed"

# 3. a lost host under --max-restarts --min-ranks: the restart goes on without it
ip link set sprig-v2 up
"$SPRIG" train --config "$CONFIG" --data "$DATA" --epochs 2 --weights-out "$WORK/one2.safetensors" >"$WORK/one2.log" 2>&1
code=$?
check_code "RigL trains 2 epochs in one process" "$code" "$(tail -3 "$WORK/one2.log")"
bash "$ROOT/launch/mpirun-netns.sh" --max-restarts 2 --min-ranks 1 2 train --config "$CONFIG" --data "$DATA" --epochs 2 \
  --checkpoint "$WORK/lost.ckpt" --checkpoint-every 50 --weights-out "$WORK/lost.safetensors" >"$WORK/lost.log" 2>&1 &
job=$!
if wait_for_line "$WORK/lost.log" "^epoch 1/" 90 "$job"; then
  ip link set sprig-v2 down
  timeout 180 tail --pid="$job" -f /dev/null
  wait "$job"; code=$?
  restart="$(grep -m1 -o 'restart 1 of 2 after a host was lost, going on with 1 rank without [^;]*; resuming at step [1-9][0-9]*' "$WORK/lost.log")"
  check "a lost host under --min-ranks 1: the job goes on without it (exit $code, '${restart:-no restart line}')" \
    test "$code" -eq 0 -a -n "$restart"
  [ -n "$restart" ] || grep -v '^ ' "$WORK/lost.log" | tail -8
  same_weights "on 1 rank after the lost host: the single process's weights" "$WORK/one2.safetensors" "$WORK/lost.safetensors"
else
  fail "training across the two hosts starts before the host is lost" "$(grep -v '^-' "$WORK/lost.log" | tail -3)"
  kill "$job" 2>/dev/null
fi
finish
