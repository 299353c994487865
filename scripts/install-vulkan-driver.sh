#!/usr/bin/env bash
# Installs a Vulkan driver so that nti-gpu has an adapter on a machine without a GPU.
#
# On Debian/Ubuntu without a GPU driver this installs Mesa's software Vulkan driver
# (lavapipe, adapter name "llvmpipe"). On Debian 12 it takes Mesa from bookworm-backports
# (Mesa 25, measured ~5x faster than the stock Mesa 22 on LJ kernels) and falls back to the
# stock package if that fails. Does nothing when a Vulkan ICD is already installed.
#
# Usage: sudo scripts/install-vulkan-driver.sh     (or as root)
set -euo pipefail

have_icd() {
  local f
  for f in /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json; do
    [ -e "$f" ] && return 0
  done
  return 1
}

if have_icd && [ "${NTI_FORCE_INSTALL:-0}" != 1 ]; then
  echo "install-vulkan-driver: a Vulkan driver is already installed:"
  for f in /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json; do
    [ -e "$f" ] && echo "  $f"
  done
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-vulkan-driver: no apt-get here. Install your distribution's Mesa Vulkan drivers" >&2
  echo "  (Fedora: mesa-vulkan-drivers, Arch: vulkan-swrast) or your GPU vendor's Vulkan driver." >&2
  exit 1
fi

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

codename=""
if [ -r /etc/os-release ]; then
  # shellcheck disable=SC1091
  . /etc/os-release
  codename="${VERSION_CODENAME:-}"
fi

installed=0
src=/etc/apt/sources.list.d/debian.sources
if [ "${ID:-}" = debian ] && [ "$codename" = bookworm ] && [ -f "$src" ]; then
  if ! grep -qE '^Suites:.*bookworm-backports' "$src"; then
    echo "install-vulkan-driver: adding bookworm-backports to $src"
    # Add the suite to the first Suites: line (the main Debian archive).
    $SUDO sed -i '0,/^Suites:/{s/^\(Suites:.*\)$/\1 bookworm-backports/}' "$src"
  fi
  $SUDO apt-get update -q || true
  if $SUDO apt-get install -y -q -t bookworm-backports mesa-vulkan-drivers; then
    installed=1
  else
    echo "install-vulkan-driver: backports install failed; falling back to the stock package" >&2
  fi
fi

if [ "$installed" = 0 ]; then
  $SUDO apt-get update -q || true
  $SUDO apt-get install -y -q mesa-vulkan-drivers
fi

echo "install-vulkan-driver: installed:"
dpkg-query -W -f='  ${Package} ${Version}\n' mesa-vulkan-drivers || true
