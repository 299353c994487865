# Sourced by scripts/check-sweep.sh and scripts/check-slurm.sh (from the repository root):
# puts row 1.1.0 on the PATH, installing it into .tools/ with cargo when absent, and
# defines row_slurm_cluster to describe a Slurm cluster to row.

if ! command -v row >/dev/null || [ "$(row --version)" != "row 1.1.0" ]; then
    if [ ! -x .tools/bin/row ]; then
        echo "installing row 1.1.0 into .tools/ (cargo install)"
        cargo install row --version 1.1.0 --locked --root .tools --quiet
    fi
    export PATH="$PWD/.tools/bin:$PATH"
fi

# row_slurm_cluster HOME NAME PARTITION: a Slurm cluster NAME with one partition, in
# HOME/.config/row/clusters.toml (run row with HOME=... to use it; chosen by --cluster).
row_slurm_cluster() {
    mkdir -p "$1/.config/row"
    cat > "$1/.config/row/clusters.toml" <<TOML
[[cluster]]
name = "$2"
identify.always = false
scheduler = "slurm"
[[cluster.partition]]
name = "$3"
TOML
}
