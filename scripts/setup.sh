#!/usr/bin/env bash
# Prepares this checkout on a Debian 12 machine: system packages, a virtual
# environment in .venv, and the project installed with the extras of one role.
#
#   bash scripts/setup.sh ROLE      ROLE: server | kiosk | gate | turnstile | provision | dev
#
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

role="${1:-dev}"
say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

# System packages each role needs (Debian 12 names).
base_pkgs=(ca-certificates python3 python3-venv python3-dev gcc)
case "$role" in
  server) pkgs=("${base_pkgs[@]}") ;;
  kiosk|turnstile|provision)
    pkgs=("${base_pkgs[@]}" libpcsclite-dev pcscd vsmartcard-vpcd libzbar0 libgl1 libegl1 libegl-mesa0 libmtdev1 fonts-wqy-microhei) ;;
  gate) pkgs=("${base_pkgs[@]}" libzbar0 libgl1) ;;
  demo)
    pkgs=("${base_pkgs[@]}" libpcsclite-dev pcscd vsmartcard-vpcd libzbar0 libgl1 libegl1 libegl-mesa0 libmtdev1 fonts-wqy-microhei) ;;
  dev)
    pkgs=("${base_pkgs[@]}" libpcsclite-dev pcscd vsmartcard-vpcd socat libzbar0 mosquitto postgresql
          libgl1 libegl1 libegl-mesa0 libmtdev1 xvfb fonts-wqy-microhei
          fonts-liberation fonts-freefont-ttf) ;;  # faces for the renderer's dressed plates
  *) echo "unknown role '$role': use server, kiosk, gate, turnstile, provision, demo or dev" >&2; exit 2 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# A python3 that is already on PATH (3.11 or newer, with venv) is good enough.
if command -v python3 >/dev/null && python3 -c 'import sys, venv, ensurepip; assert sys.version_info >= (3, 11)' 2>/dev/null; then
  missing=($(printf '%s\n' "${missing[@]}" | grep -vxE 'python3|python3-venv|python3-dev' || true))
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "these Debian packages are missing: ${missing[*]}; run this script as root, or install them with apt-get" >&2
    exit 1
  fi
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Debian's Kivy, pyscard and OpenCV wheels need nothing else from the system.
extras="$role"
[ "$role" = demo ] && extras="server,kiosk"
if [ ! -x .venv/bin/python ]; then
  say "creating the virtual environment in .venv"
  python3 -m venv .venv
fi
stamp=".venv/.installed-$extras"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  say "installing the project with extras [$extras] (a few minutes the first time)"
  .venv/bin/python -m pip install --upgrade --quiet pip
  .venv/bin/python -m pip install --progress-bar on -e ".[$extras]"
  touch "$stamp"
fi
say "ready: $(.venv/bin/prepaid --version)"
