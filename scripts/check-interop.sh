#!/usr/bin/env bash
# Runs the quick and interop scenes and checks their output with the tools our users load
# it into:
# pandas (every CSV), ASE (every configuration of the extended XYZ), pymbar and alchemlyb
# (MBAR and TI on the exported λ-leg tables against this program's numbers). See
# scripts/check_interop.py and docs/results.md, "Files for other tools".
#
# Usage: scripts/check-interop.sh [VENV_DIR]   (default .venv-interop)
# Creates VENV_DIR with pinned versions of those packages on first use (needs python3 with
# venv and network access to PyPI; on Debian without venv it installs python3-venv through
# apt-get, with sudo when not root). Exits non-zero when any check fails.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${1:-.venv-interop}"

if [ ! -x "$venv/bin/python" ]; then
    if ! python3 -m venv "$venv" 2>/dev/null; then
        rm -rf "$venv"
        if command -v apt-get >/dev/null; then
            sudo=""
            [ "$(id -u)" -ne 0 ] && sudo="sudo"
            echo "check-interop: installing python3-venv with apt-get"
            $sudo apt-get install -y -q python3-venv >/dev/null
        fi
        python3 -m venv "$venv"
    fi
    "$venv/bin/pip" install -q --disable-pip-version-check \
        numpy==2.4.6 scipy==1.17.1 pandas==3.1.1 ase==3.29.0 pymbar==4.0.3 alchemlyb==2.5.0
fi

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
# The quick scene (the README's first command: sampling, Widom, training, neural TI) and the
# interop scene (every baseline, λ legs for pymbar and alchemlyb).
for scene in quick interop; do
    cargo run --release --quiet -- run "assets/scenes/$scene.ron" --out "$out/$scene"
    "$venv/bin/python" scripts/check_interop.py "$out/$scene"
done
