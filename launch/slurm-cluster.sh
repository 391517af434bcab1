#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for trying and testing launch/slurm.sbatch
# without a real cluster (Tests/scripts/slurm.sh uses it). As root, on Debian/Ubuntu:
#
#   launch/slurm-cluster.sh start     installs slurm-wlm and munge from apt when missing,
#                                     writes /etc/slurm/slurm.conf for this host (one node,
#                                     its cores, its memory, partition "debug"), creates
#                                     the munge key when missing, starts munged, slurmctld
#                                     and slurmd as plain daemons (no systemd needed) and
#                                     waits until the node is idle
#   launch/slurm-cluster.sh stop      stops the daemons it started (by their pid files)
#   launch/slurm-cluster.sh status    sinfo and the daemons' pids
#
# Idempotent: start on a running cluster only waits for the node, stop on a stopped one
# does nothing. It leaves alone a slurm.conf it did not write (refuses to start), and keeps
# its state, logs and pid files in $SLURM_CLUSTER_DIR (default /var/spool/sprig-slurm).
# The node runs jobs as root with proctrack/linuxproc and task/none (no cgroups, so it
# works in containers too) and MpiDefault=none: `srun --mpi=pmix` picks PMIx per step.
# KillWait is 60 s: scancel sends SIGTERM to a job's processes and SIGKILL 60 s later.
set -euo pipefail
DIR="${SLURM_CLUSTER_DIR:-/var/spool/sprig-slurm}"
CONF=/etc/slurm/slurm.conf
MARK="# written by Sprig's launch/slurm-cluster.sh"
HOST="$(hostname -s)"

say() { echo "slurm-cluster: $*"; }
die() { echo "slurm-cluster: $*" >&2; exit 1; }

install_packages() {
  local missing=()
  for p in slurm-wlm munge; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # An install can fail the first time with a dpkg "cannot stat" error: retry once.
  apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    || apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# alive PIDFILE: the daemon named in PIDFILE is running
alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

write_conf() {
  if [ -e "$CONF" ] && ! grep -qF "$MARK" "$CONF"; then
    die "$CONF exists and was not written by this script: not touching it"
  fi
  local cpus mem
  cpus="$(nproc)"
  # RealMemory in MiB, a little under what the machine has so that the node is not drained
  mem=$(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 * 9 / 10 ))
  mkdir -p "$DIR/ctld" "$DIR/d" "$(dirname "$CONF")"
  cat > "$CONF.tmp" <<EOF
$MARK: a one-node cluster on $HOST.
ClusterName=sprig
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$DIR/ctld
SlurmdSpoolDir=$DIR/d
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
ReturnToService=2
KillWait=60
MinJobAge=3600
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
  if [ -e "$CONF" ] && cmp -s "$CONF" "$CONF.tmp"; then rm -f "$CONF.tmp"; else mv "$CONF.tmp" "$CONF"; fi
}

start_munge() {
  if [ ! -s /etc/munge/munge.key ]; then
    say "creating the munge key"
    mkdir -p /etc/munge
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
  fi
  chown munge:munge /etc/munge /etc/munge/munge.key
  chmod 700 /etc/munge
  chmod 400 /etc/munge/munge.key
  mkdir -p /run/munge /var/lib/munge /var/log/munge
  chown munge:munge /run/munge /var/lib/munge /var/log/munge
  if munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then return; fi
  say "starting munged"
  runuser -u munge -- /usr/sbin/munged
  for _ in $(seq 1 50); do
    munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1 && return
    sleep 0.1
  done
  die "munged does not answer"
}

start() {
  [ "$(id -u)" -eq 0 ] || die "run as root (the daemons and the jobs run as root)"
  install_packages
  write_conf
  start_munge
  if ! alive "$DIR/slurmctld.pid"; then say "starting slurmctld"; slurmctld; fi
  if ! alive "$DIR/slurmd.pid"; then say "starting slurmd"; slurmd; fi
  local state=""
  for _ in $(seq 1 120); do
    state="$(sinfo -h -n "$HOST" -o %T 2>/dev/null | head -1)"
    case "$state" in
      idle|mixed|allocated) say "node $HOST is $state ($(nproc) CPUs, partition debug)"; return ;;
      drain*|down*) scontrol update NodeName="$HOST" State=RESUME 2>/dev/null || true ;;
    esac
    sleep 0.5
  done
  tail -5 "$DIR/slurmctld.log" "$DIR/slurmd.log" >&2 || true
  die "node $HOST did not become idle (state: ${state:-none}); logs in $DIR"
}

stop_daemon() {
  local name="$1" pidfile="$2" pid
  alive "$pidfile" || return 0
  pid="$(cat "$pidfile")"
  say "stopping $name ($pid)"
  kill "$pid"
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}

stop() {
  stop_daemon slurmd "$DIR/slurmd.pid"
  stop_daemon slurmctld "$DIR/slurmctld.pid"
  # munged only when this script started it (its pid file names a process owned by munge)
  stop_daemon munged /run/munge/munged.pid
}

status() {
  sinfo 2>&1 || true
  for d in slurmctld slurmd; do
    if alive "$DIR/$d.pid"; then echo "$d: running ($(cat "$DIR/$d.pid"))"; else echo "$d: stopped"; fi
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: launch/slurm-cluster.sh start|stop|status" >&2; exit 2 ;;
esac
