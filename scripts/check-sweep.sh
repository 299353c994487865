#!/usr/bin/env bash
# Drives a small sweep through row, the workflow engine the cluster workflow is written
# for: `nti-gpu sweep init` of assets/sweeps/interop_temperatures.ron (2 temperatures × 2
# particle counts), `row submit --cluster none` (row's local runner), `row show status`,
# then `nti-gpu collect`, and checks that every point finished and the table has the four
# points with their axis values. Then prints the Slurm job script row generates for the
# same project against an example Slurm cluster definition (`--dry-run`; no Slurm here).
# Then the same for assets/sweeps/one_model_per_temperature.ron, whose points share one
# trained model per temperature: row's `train` action must sample and train each model
# once (two jobs for four points), and every point's `run` reuse it (sampling only an N
# the model was not trained on, for that point's Widom insertion).
#
# Usage: scripts/check-sweep.sh   (installs row 1.1.0 into .tools/ with cargo when absent)
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

# shellcheck source=scripts/row-env.sh
. scripts/row-env.sh
cargo build --release --quiet
nti="$root/target/release/nti-gpu"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$nti" sweep init assets/sweeps/interop_temperatures.ron "$work/proj"
(
    cd "$work/proj"
    row submit --cluster none --yes
    row show status
    status="$(row show status)"
    echo "$status" | grep -Eq '^run +4 +0 +0 +0' || {
        echo "check-sweep: row does not report 4 completed points" >&2
        exit 1
    }
)
"$nti" collect "$work/proj" | tee "$work/collect.txt"
grep -q "^4 finished point(s)" "$work/collect.txt"
if grep -q "^unfinished" "$work/collect.txt"; then
    echo "check-sweep: collect lists unfinished points" >&2
    exit 1
fi
python3 - "$work/proj/collected.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
points = {(r["system.epsilon"], r["system.particles"]) for r in rows}
want = {(e, p) for e in ("0.8", "0.6666666666666666") for p in ("[40]", "[80]")}
assert points == want, points
for r in rows:
    assert r["system.particles"] == "[%s]" % r["N"], r
    assert abs(float(r["T_star"]) - 1 / float(r["system.epsilon"])) < 1e-12, r
print("check-sweep: collected.csv has the 4 points with their axis values (%d rows)" % len(rows))
PY

# The Slurm job scripts row would submit (one GPU per point) for an example cluster.
row_slurm_cluster "$work/home" example-slurm gpu
"$nti" sweep init assets/sweeps/interop_temperatures.ron "$work/slurm" >/dev/null
(
    cd "$work/slurm"
    HOME="$work/home" row submit --cluster example-slurm --dry-run > "$work/sbatch.txt"
)
head -20 "$work/sbatch.txt"
test "$(grep -c '^#SBATCH --gpus-per-task=1' "$work/sbatch.txt")" -eq 4

# Shared models: two temperatures × two evaluated N, one model per temperature.
"$nti" sweep init assets/sweeps/one_model_per_temperature.ron "$work/shared"
(
    cd "$work/shared"
    # row submits what is eligible now: the trainings, then (second pass) the runs.
    row submit --cluster none --yes 2>&1 | tee "$work/shared-train.txt"
    row submit --cluster none --yes > "$work/shared-run.txt" 2>&1
    row show status
    status="$(row show status)"
    for action in train run; do
        echo "$status" | grep -Eq "^$action +4 +0 +0 +0" || {
            echo "check-sweep: row does not report 4 completed points for $action" >&2
            exit 1
        }
    done
)
test "$(grep -c 'training ran; given to' "$work/shared-train.txt")" -eq 2 || {
    echo "check-sweep: the two shared models were not trained once each" >&2
    exit 1
}
# The model's N (40, 80) are never sampled again and nothing is trained again; the points
# at N = 60 sample that N for their own Widom insertion (the model was not trained on it).
if grep -Eq '^sample N=(40|80):|^train N=' "$work/shared-run.txt"; then
    echo "check-sweep: a point sampled or trained again instead of using its shared model" >&2
    exit 1
fi
test "$(grep -c '^sample N=60: done' "$work/shared-run.txt")" -eq 2 || {
    echo "check-sweep: the N = 60 points did not sample N = 60 once each for Widom" >&2
    exit 1
}
test "$(find "$work/shared/models" -name model.ckpt | wc -l)" -eq 2
"$nti" collect "$work/shared" | tee "$work/collect-shared.txt"
grep -q "^4 finished point(s)" "$work/collect-shared.txt"
python3 - "$work/shared/collected.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
nti = {(r["system.epsilon"], r["N"]) for r in rows if r["method"] == "neural_ti" and r["quantity"] == "betaF_ex"}
want = {(e, n) for e in ("0.8", "0.6666666666666666") for n in ("40", "41", "60", "61")}
assert nti == want, nti
assert "trained_model" not in rows[0], list(rows[0])
print("check-sweep: shared models: neural TI at N = 40, 41, 60, 61 for both temperatures")
PY
echo "check-sweep: passed"
