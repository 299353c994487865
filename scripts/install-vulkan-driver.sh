#!/usr/bin/env bash
# Makes sure nti-gpu has a graphics API to run on (wgpu: Vulkan, Metal or DirectX 12).
#
#   macOS                          Metal is part of the system: nothing to install.
#   Windows (Git Bash, MSYS2,      DirectX 12 is part of Windows 10 and 11: nothing to
#   Cygwin)                        install.
#   Linux with a Vulkan driver     (a GPU vendor's driver, or Mesa's) nothing to install.
#   Debian/Ubuntu without one      installs Mesa's Vulkan drivers with apt-get, including
#                                  the software driver lavapipe (adapter name "llvmpipe")
#                                  that runs on the CPU. On Debian 12 it first adds the
#                                  bookworm-backports suite to the apt sources, permanently,
#                                  for Mesa 25 (measured ~5x faster than Debian 12's own
#                                  Mesa 22 on LJ kernels), and falls back to the stock
#                                  package if that fails. It says what it will change
#                                  before changing anything.
#   other Linux without one        prints what to install and exits 1.
#
# Usage: scripts/install-vulkan-driver.sh [--dry-run]
#   --dry-run   say what would be done, change nothing
# Uses sudo for apt-get when not run as root. NTI_FORCE_INSTALL=1 installs even when a
# Vulkan driver is present.
set -euo pipefail

dry_run=0
for arg in "$@"; do
  case "$arg" in
    --dry-run|-n) dry_run=1 ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install-vulkan-driver: unknown option '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

say() { echo "install-vulkan-driver: $*"; }

# NTI_UNAME stands in for `uname -s` (to exercise the other platforms' branches in tests).
platform="${NTI_UNAME:-$(uname -s 2>/dev/null || echo unknown)}"

case "$platform" in
  Darwin)
    say "macOS: wgpu runs on Metal, which macOS provides. Nothing to install."
    exit 0
    ;;
  MINGW*|MSYS*|CYGWIN*)
    say "Windows: wgpu runs on DirectX 12, which Windows 10 and 11 provide (or on your"
    say "GPU vendor's Vulkan driver). Nothing to install."
    exit 0
    ;;
esac

icd_dirs="/usr/share/vulkan/icd.d /usr/local/share/vulkan/icd.d /etc/vulkan/icd.d"
icd_files() {
  local d f
  for d in $icd_dirs; do
    for f in "$d"/*.json; do
      [ -e "$f" ] && echo "$f"
    done
  done
  return 0
}

if [ -n "$(icd_files)" ] && [ "${NTI_FORCE_INSTALL:-0}" != 1 ]; then
  say "a Vulkan driver is already installed; nothing to do:"
  icd_files | sed 's/^/  /'
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  say "no Vulkan driver found, and no apt-get here to install one. Install your" >&2
  say "distribution's Mesa Vulkan drivers (Fedora: mesa-vulkan-drivers, Arch: vulkan-swrast)" >&2
  say "or your GPU vendor's Vulkan driver, then run nti-gpu." >&2
  exit 1
fi

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

ID="" VERSION_CODENAME=""
if [ -r /etc/os-release ]; then
  # shellcheck disable=SC1091
  . /etc/os-release
fi
codename="${VERSION_CODENAME:-}"

# The plan, stated before anything changes.
src=/etc/apt/sources.list.d/debian.sources
backports=0
add_suite=0
if [ "${ID:-}" = debian ] && [ "$codename" = bookworm ] && [ -f "$src" ]; then
  backports=1
  grep -qE '^Suites:.*bookworm-backports' "$src" || add_suite=1
fi
if [ "${NTI_FORCE_INSTALL:-0}" = 1 ]; then
  say "NTI_FORCE_INSTALL=1: installing even if a Vulkan driver is present; this will:"
else
  say "no Vulkan driver found; this will:"
fi
if [ "$add_suite" = 1 ]; then
  echo "  - add the bookworm-backports suite to $src, permanently (apt then"
  echo "    offers backported packages only where asked for with -t bookworm-backports;"
  echo "    remove the word from the first Suites: line to undo);"
fi
if [ "$backports" = 1 ]; then
  echo "  - apt-get update, then apt-get install -t bookworm-backports mesa-vulkan-drivers"
  echo "    (Mesa 25; Debian 12's own Mesa 22 if that fails)"
else
  echo "  - apt-get update, then apt-get install mesa-vulkan-drivers"
  if [ "${ID:-}" = debian ] && [ "$codename" = bookworm ]; then
    echo "    (Debian 12's Mesa 22: no $src to add backports to; with"
    echo "    bookworm-backports in your apt sources, Mesa 25 is ~5x faster:"
    echo "    apt-get install -t bookworm-backports mesa-vulkan-drivers)"
  fi
fi
if [ -n "$SUDO" ]; then echo "  (through sudo)"; fi
if [ "$dry_run" = 1 ]; then
  say "--dry-run: nothing changed."
  exit 0
fi

installed=0
if [ "$backports" = 1 ]; then
  if [ "$add_suite" = 1 ]; then
    say "adding bookworm-backports to $src"
    # Add the suite to the first Suites: line (the main Debian archive).
    $SUDO sed -i '0,/^Suites:/{s/^\(Suites:.*\)$/\1 bookworm-backports/}' "$src"
  fi
  $SUDO apt-get update -q || true
  if $SUDO apt-get install -y -q -t bookworm-backports mesa-vulkan-drivers; then
    installed=1
  else
    say "backports install failed; falling back to the stock package" >&2
  fi
fi

if [ "$installed" = 0 ]; then
  $SUDO apt-get update -q || true
  $SUDO apt-get install -y -q mesa-vulkan-drivers
fi

say "installed:"
dpkg-query -W -f='  ${Package} ${Version}\n' mesa-vulkan-drivers || true
