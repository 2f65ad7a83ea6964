#!/usr/bin/env bash
# A real single-node SLURM cluster on this machine, for the SLURM tests (tests/test_slurm.py) and
# for trying profiles/slurm by hand. Debian/Ubuntu, as root, no systemd needed.
#
#   ci/slurm-cluster.sh up      install slurmctld, slurmd, slurm-client and munge if missing, write
#                               /etc/slurm/slurm.conf, start munged, slurmctld and slurmd, wait
#                               until the node is idle and `srun hostname` works
#   ci/slurm-cluster.sh down    cancel the cluster's jobs, then stop exactly the daemons `up`
#                               started, by the PIDs it recorded
#   ci/slurm-cluster.sh status  the recorded daemons and the node's state
#
# There is no accounting daemon (slurmdbd), so `sacct` does not work: Snakemake polls job states
# with squeue (profiles/slurm-local). squeue shows a finished job for MinJobAge seconds, which
# must stay >= 3 x the profile's slurm-init-seconds-before-status-checks.
# State (PIDs, daemon logs, spool) lives in $SLURM_CLUSTER_STATE (default /tmp/pwm-slurm-cluster).
# An existing slurm.conf that this script did not write is kept as slurm.conf.orig until `down`.
set -euo pipefail

STATE=${SLURM_CLUSTER_STATE:-/tmp/pwm-slurm-cluster}
CONF=/etc/slurm/slurm.conf
MARK="# Written by pwm ci/slurm-cluster.sh"
PACKAGES=(slurmctld slurmd slurm-client munge)
DAEMONS=(slurmd slurmctld munged)  # stop order; started in reverse
NODE=$(hostname -s)

say() { echo "[slurm-cluster +${SECONDS}s] $*"; }
die() { echo "slurm-cluster: $*" >&2; exit 1; }

# The recorded PID of a daemon, if that process is still alive and still that daemon.
live_pid() {
    local file="$STATE/$1.pid" pid
    [[ -s $file ]] || return 1
    pid=$(<"$file")
    [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$1" ]] || return 1
    echo "$pid"
}

# Wait up to $2 seconds for a command line ($3...) to succeed.
wait_for() {
    local what=$1 seconds=$2
    shift 2
    local deadline=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || return 1
        sleep 0.5
    done
}

install_packages() {
    local missing=()
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    ((${#missing[@]} == 0)) && return
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # The packages' postinst scripts would start munged and the SLURM daemons through their init
    # scripts, unstoppable by PID from here; policy-rc.d exit code 101 forbids it during the install.
    local policy=/usr/sbin/policy-rc.d added=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod +x "$policy"
        added=1
    fi
    # --no-install-recommends: 8 packages instead of 43.
    local rc=0
    apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null || rc=$?
    ((added)) && rm -f "$policy"
    ((rc == 0)) || die "apt-get install failed ($rc)"
}

write_slurm_conf() {
    local cpus mem_mb
    cpus=$(nproc)
    # RealMemory above what slurmd detects would leave the node INVALID; stay at 90 %.
    mem_mb=$(awk '/^MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
    if [[ -e $CONF ]] && ! grep -qF "$MARK" "$CONF"; then
        say "keeping the existing $CONF as $CONF.orig"
        mv "$CONF" "$CONF.orig"
    fi
    install -d /etc/slurm
    cat >"$CONF" <<EOF
$MARK: a single-node cluster on localhost.
ClusterName=pwm-ci
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=slurm
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
# No cgroups needed: a job's processes are its process groups. (proctrack/linuxproc, by parent
# PID, loses a process whose parent died, e.g. Snakemake in the job after the batch shell died of
# SIGTERM; it then outlives the job.)
ProctrackType=proctrack/pgid
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
ReturnToService=2
MailProg=/bin/true
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
StateSaveLocation=$STATE/slurmctld
SlurmdSpoolDir=$STATE/slurmd
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
# squeue shows finished jobs this long; Snakemake's plugin trusts squeue for job states only if
# MinJobAge >= 3 x slurm-init-seconds-before-status-checks (profiles/slurm-local sets 5).
MinJobAge=300
# Seconds between SIGTERM and SIGKILL when a job is cancelled or hits its time limit: the time
# pwm-train has to finish its epoch and checkpoint. 30 s is SLURM's default and a common value.
KillWait=30
InactiveLimit=0
Waittime=0
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
}

start_munged() {
    install -d -o munge -g munge -m 0700 /etc/munge
    [[ -s /etc/munge/munge.key ]] || mungekey --create --keyfile=/etc/munge/munge.key
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
    install -d -o munge -g munge -m 0755 /run/munge /var/lib/munge /var/log/munge
    if munge -n >/dev/null 2>&1; then
        live_pid munged >/dev/null || say "using a munged that this script did not start (left running on down)"
        return
    fi
    say "starting munged"
    runuser -u munge -- /usr/sbin/munged  # daemonises; PID in /run/munge/munged.pid
    wait_for munged 20 sh -c 'munge -n | unmunge' || die "munged did not come up"
    cp /run/munge/munged.pid "$STATE/munged.pid"
}

# SLURM daemons this script did not start (a real cluster's, or an earlier setup's): leave them be.
refuse_foreign_daemons() {
    local name pid
    for name in slurmctld slurmd; do
        for pid in $(pgrep -x "$name" || true); do
            [[ $pid == "$(live_pid "$name" || true)" ]] ||
                die "$name is running (PID $pid) and was not started by this script; stop it first"
        done
    done
}

start_slurm() {
    # A fresh state every time: no jobs or node states from an earlier cluster.
    rm -rf "$STATE/slurmctld" "$STATE/slurmd"
    install -d -o slurm -g slurm "$STATE/slurmctld" "$STATE/slurmd" "$STATE/log"
    say "starting slurmctld and slurmd"
    slurmctld || die "slurmctld did not start; see $STATE/log/slurmctld.log"
    wait_for slurmctld 20 test -s /run/slurmctld.pid || die "slurmctld wrote no PID file; see $STATE/log/slurmctld.log"
    cp /run/slurmctld.pid "$STATE/slurmctld.pid"
    slurmd || die "slurmd did not start; see $STATE/log/slurmd.log"
    wait_for slurmd 20 test -s /run/slurmd.pid || die "slurmd wrote no PID file; see $STATE/log/slurmd.log"
    cp /run/slurmd.pid "$STATE/slurmd.pid"
}

node_idle() { [[ $(sinfo -h -n "$NODE" -o %T 2>/dev/null) == idle ]]; }

up() {
    [[ $(id -u) == 0 ]] || die "run as root (it installs packages and starts system daemons)"
    if live_pid slurmctld >/dev/null && live_pid slurmd >/dev/null; then
        say "already up (slurmctld $(live_pid slurmctld), slurmd $(live_pid slurmd))"
        return
    fi
    mkdir -p "$STATE"
    install_packages
    refuse_foreign_daemons
    write_slurm_conf
    start_munged
    start_slurm
    if ! wait_for "idle node" 60 node_idle; then
        tail -n 20 "$STATE/log/slurmctld.log" "$STATE/log/slurmd.log" >&2 || true
        die "node $NODE is '$(sinfo -h -n "$NODE" -o %T 2>/dev/null)', not idle"
    fi
    local host
    host=$(timeout 60 srun -N1 -n1 -t 1 hostname) || die "srun hostname failed"
    say "up: node $NODE idle, srun hostname -> $host;" \
        "pids: munged $(live_pid munged || echo -), slurmctld $(live_pid slurmctld), slurmd $(live_pid slurmd)"
}

down() {
    local name pid jobs
    if live_pid slurmctld >/dev/null; then
        # Jobs outlive slurmd (their slurmstepd and processes are detached): cancel them and wait
        # until they are gone, up to KillWait (30 s) and some.
        jobs=$(squeue -h -o %i 2>/dev/null || true)
        if [[ -n $jobs ]]; then
            say "cancelling jobs: $(echo $jobs)"
            scancel $jobs || true
            wait_for jobs 60 sh -c '[ -z "$(squeue -h -t R,CG,S,CF,PD -o %i)" ]' || say "jobs still there: $(squeue -h)"
        fi
    fi
    for name in "${DAEMONS[@]}"; do
        if pid=$(live_pid "$name"); then
            kill -TERM "$pid"
            if ! wait_for "$name to stop" 20 sh -c "! kill -0 $pid"; then
                say "$name ($pid) ignored SIGTERM; SIGKILL"
                kill -KILL "$pid" 2>/dev/null || true
            fi
            say "stopped $name ($pid)"
            # slurmctld runs as user slurm and cannot remove its root-owned PID file.
            [[ -e /run/$name.pid && $(cat "/run/$name.pid") == "$pid" ]] && rm -f "/run/$name.pid"
        fi
        rm -f "$STATE/$name.pid"
    done
    if [[ -e $CONF.orig ]] && grep -qF "$MARK" "$CONF" 2>/dev/null; then
        say "restoring the slurm.conf that up found ($CONF.orig)"
        mv "$CONF.orig" "$CONF"
    fi
}

status() {
    local name
    for name in munged slurmctld slurmd; do
        echo "$name: $(live_pid "$name" || echo "not running (from this script)")"
    done
    sinfo 2>&1 || true
    squeue 2>&1 || true
}

case ${1:-} in
    up) up ;;
    down) down ;;
    status) status ;;
    *) die "usage: $0 up|down|status" ;;
esac
