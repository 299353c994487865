#!/usr/bin/env bash
# Submits the small sweep (assets/sweeps/interop_temperatures.ron) through real Slurm on a
# single-node cluster made on this machine, with row's Slurm backend, then collects it.
# Debian/Ubuntu, as root (or with sudo): installs slurmctld, slurmd, slurm-client and munge
# with apt-get when absent, writes /etc/slurm/slurm.conf for this one node when there is
# none (a cluster already configured here is used as it is), and starts munged, slurmctld
# and slurmd when they are not running. The points request no GPU (`--gpus 0`): the
# software adapter runs on the node's CPUs. Then the same for the sweep whose points share one
# trained model per temperature (assets/sweeps/one_model_per_temperature.ron): one Slurm
# job per model, then one per point.
#
# Usage: scripts/check-slurm.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"

if ! command -v slurmctld >/dev/null || ! command -v sbatch >/dev/null; then
    echo "check-slurm: installing Slurm and munge with apt-get"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        slurmctld slurmd slurm-client munge >/dev/null
fi
host="$(hostname -s)"
if [ ! -f /etc/slurm/slurm.conf ]; then
    cpus="$(nproc)"
    mem="$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 8 / 10 ))"
    $sudo tee /etc/slurm/slurm.conf >/dev/null <<CONF
# One-node Slurm cluster written by nti-gpu's scripts/check-slurm.sh
ClusterName=local
SlurmctldHost=$host
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SlurmUser=root
SlurmdUser=root
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=cpu Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
fi
$sudo mkdir -p /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/munge
$sudo chown munge:munge /run/munge 2>/dev/null || true
pgrep -x munged >/dev/null || $sudo munged --force
pgrep -x slurmctld >/dev/null || $sudo slurmctld
pgrep -x slurmd >/dev/null || $sudo slurmd
for _ in $(seq 30); do
    sinfo -h -o %T 2>/dev/null | grep -Eq 'idle|mixed|allocated' && break
    sleep 1
done
sinfo

# shellcheck source=scripts/row-env.sh
. scripts/row-env.sh
cargo build --release --quiet
nti="$root/target/release/nti-gpu"

work="$(mktemp -d "$root/target/check-slurm.XXXXXX")"   # on a file system the node shares
trap 'rm -rf "$work"' EXIT
row_slurm_cluster "$work/home" local-slurm cpu
"$nti" sweep init assets/sweeps/interop_temperatures.ron "$work/proj" --gpus 0
cd "$work/proj"
wait_for_queue() {
    squeue
    for _ in $(seq 1800); do
        [ -z "$(squeue -h -u "$(id -un)")" ] && return
        sleep 1
    done
    echo "check-slurm: jobs still queued after 30 minutes" >&2
    exit 1
}
HOME="$work/home" row submit --cluster local-slurm --yes
wait_for_queue
HOME="$work/home" row show status
HOME="$work/home" row show status | grep -Eq '^run +4 +0 +0 +0' || {
    echo "check-slurm: row does not report 4 completed points" >&2
    cat run-*.out >&2 || true
    exit 1
}
"$nti" collect "$work/proj" | tee "$work/collect.txt"
grep -q "^4 finished point(s)" "$work/collect.txt"
head -5 "$work/proj/collected.csv"
echo "check-slurm: 4 points through Slurm: $(ls run-*.out | wc -l) job logs"

# Points sharing one trained model per temperature: one Slurm job per model, then one
# per point (row submits what is eligible: twice).
"$nti" sweep init "$root/assets/sweeps/one_model_per_temperature.ron" "$work/shared" --gpus 0
cd "$work/shared"
HOME="$work/home" row submit --cluster local-slurm --yes
wait_for_queue
HOME="$work/home" row submit --cluster local-slurm --yes
wait_for_queue
HOME="$work/home" row show status
for action in train run; do
    HOME="$work/home" row show status | grep -Eq "^$action +4 +0 +0 +0" || {
        echo "check-slurm: row does not report 4 completed points for $action" >&2
        cat ./*.out >&2 || true
        exit 1
    }
done
test "$(ls train-*.out | wc -l)" -eq 2
test "$(find models -name model.ckpt | wc -l)" -eq 2
"$nti" collect "$work/shared" | tee "$work/collect-shared.txt"
grep -q "^4 finished point(s)" "$work/collect-shared.txt"
echo "check-slurm: passed (4 points, then 4 points sharing 2 models: $(ls train-*.out | wc -l) training jobs, $(ls run-*.out | wc -l) point jobs)"
