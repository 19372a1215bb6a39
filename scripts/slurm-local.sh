#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, for the Slurm executor's
# tests and for trying `radial run --executor slurm` without a real cluster.
#
#   scripts/slurm-local.sh start    # idempotent: ok when already running
#   scripts/slurm-local.sh status   # exit 0 when the node answers and is usable
#   scripts/slurm-local.sh stop     # stops the daemons this script started
#   eval "$(scripts/slurm-local.sh env)"   # SLURM_CONF for the client commands
#
# Needs Debian's slurmctld, slurmd, slurm-client and munge packages:
#   apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge
# Every file (configuration, munge key and socket, state, logs, PID files)
# lives in $RADIAL_SLURM_DIR (default /tmp/radial-slurm); nothing under /etc
# is read or written, and no systemd is needed. Client commands find the
# cluster through SLURM_CONF=$RADIAL_SLURM_DIR/slurm.conf.
#
# Settings: RADIAL_SLURM_CPUS (CPUs the node declares; default: this
# machine's), RADIAL_SLURM_PORT (controller port; slurmd uses the next one;
# default 6817), RADIAL_SLURM_TIMEOUT (seconds to wait for the node; default 30).
set -euo pipefail

DIR="${RADIAL_SLURM_DIR:-/tmp/radial-slurm}"
CPUS="${RADIAL_SLURM_CPUS:-$(nproc)}"
PORT="${RADIAL_SLURM_PORT:-6817}"
WAIT="${RADIAL_SLURM_TIMEOUT:-30}"
HOST="$(hostname -s)"
NODE="$HOST"
CONF="$DIR/slurm.conf"
export SLURM_CONF="$CONF"

say() { echo "slurm-local: $*" >&2; }
die() { say "error: $*"; exit 1; }

# A client command that cannot hang: every call has a timeout, because
# Slurm's clients retry for minutes when no controller answers.
client() { timeout 5 "$@"; }

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2> /dev/null; }

port_open() { (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }

node_state() { client sinfo -h -n "$NODE" -o %t 2> /dev/null | head -n1; }

write_config() {
    mkdir -p "$DIR"/{state,spool,log,munge}
    chmod 700 "$DIR/munge"
    cat > "$CONF" << EOF
# Written by scripts/slurm-local.sh: a one-node cluster in $DIR.
ClusterName=radial-local
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$DIR/munge/munge.socket
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/log/jobcomp.txt
SlurmdParameters=config_overrides
ReturnToService=2
# Finished jobs stay visible to scontrol for ten minutes.
MinJobAge=600
MessageTimeout=10
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
}

start_munge() {
    alive "$DIR/munge/munged.pid" && return 0
    if [ ! -s "$DIR/munge/munge.key" ]; then
        dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none
        chmod 400 "$DIR/munge/munge.key"
    fi
    munged --force \
        --socket="$DIR/munge/munge.socket" \
        --key-file="$DIR/munge/munge.key" \
        --pid-file="$DIR/munge/munged.pid" \
        --log-file="$DIR/munge/munged.log" \
        --seed-file="$DIR/munge/munged.seed" \
        || die "munged did not start (see $DIR/munge/munged.log)"
}

start() {
    for tool in munged slurmctld slurmd sinfo sbatch scontrol; do
        command -v "$tool" > /dev/null || die "$tool is not installed: apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge"
    done
    if alive "$DIR/slurmctld.pid" && alive "$DIR/slurmd.pid"; then
        wait_idle
        say "already running ($DIR)"
        return 0
    fi
    # The ports must be free unless our own daemons hold them.
    alive "$DIR/slurmctld.pid" || ! port_open "$PORT" \
        || die "port $PORT is taken by another process (set RADIAL_SLURM_PORT)"
    alive "$DIR/slurmd.pid" || ! port_open "$((PORT + 1))" \
        || die "port $((PORT + 1)) is taken by another process (set RADIAL_SLURM_PORT)"
    write_config
    start_munge
    # -c: a clean start (no jobs or node state from an earlier cluster).
    alive "$DIR/slurmctld.pid" || slurmctld -c -f "$CONF" \
        || die "slurmctld did not start (see $DIR/log/slurmctld.log)"
    alive "$DIR/slurmd.pid" || slurmd -f "$CONF" -N "$NODE" \
        || die "slurmd did not start (see $DIR/log/slurmd.log)"
    wait_idle
    say "running: node $NODE with $CPUS CPU(s), partition debug; export SLURM_CONF=$CONF"
}

# Until sinfo shows the node idle (or mixed/allocated: already running
# jobs) and slurmd has registered.
wait_idle() {
    local deadline=$((SECONDS + WAIT)) state=""
    while [ $SECONDS -lt $deadline ]; do
        state="$(node_state || true)"
        case "$state" in
            idle | mix | alloc)
                return 0 ;;
            down* | drain* | fail*)
                client scontrol update nodename="$NODE" state=resume > /dev/null 2>&1 || true ;;
        esac
        sleep 0.2
    done
    die "the node is not idle after ${WAIT} s (state '${state:-no answer}'; see $DIR/log/)"
}

stop() {
    local name pidfile pid
    for name in slurmd slurmctld munge/munged; do
        pidfile="$DIR/$name.pid"
        if alive "$pidfile"; then
            pid="$(cat "$pidfile")"
            kill "$pid"
            for _ in $(seq 50); do
                kill -0 "$pid" 2> /dev/null || break
                sleep 0.1
            done
            kill -0 "$pid" 2> /dev/null && kill -9 "$pid"
        fi
        rm -f "$pidfile"
    done
    say "stopped ($DIR)"
}

status() {
    local ok=0 name
    for name in munge/munged slurmctld slurmd; do
        if alive "$DIR/$name.pid"; then
            say "$(basename "$name") running (pid $(cat "$DIR/$name.pid"))"
        else
            say "$(basename "$name") not running"
            ok=1
        fi
    done
    local state
    state="$(node_state || true)"
    say "node $NODE: ${state:-no answer from the controller}"
    case "$state" in idle | mix | alloc) ;; *) ok=1 ;; esac
    return $ok
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    env) echo "export SLURM_CONF=$CONF" ;;
    *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
