#!/usr/bin/env bash
# Set up a fresh Debian/Ubuntu machine for the workstation (idempotent, safe to rerun):
# system libraries Qt and OpenGL need (when run as root), a virtual environment in
# .venv and the package with its test dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

SYSTEM_PACKAGES=(
  xvfb xauth poppler-utils dicom3tools patchelf desktop-file-utils shared-mime-info
  orthanc orthanc-dicomweb dcmtk
  libportaudio2 espeak-ng sox
  libgl1 libegl1 libglx0 libopengl0 libgl1-mesa-dri libegl-mesa0
  libxkbcommon0 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1
  libxcb-image0 libxcb-render-util0 libxcb-xinerama0 libxcb-shape0 libxcb-randr0
  libxcb-xfixes0 libxcb-sync1 libxcb-xkb1 libxrender1 libxi6
  libfontconfig1 libfreetype6 libdbus-1-3 fonts-dejavu-core
)

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  missing=()
  for pkg in "${SYSTEM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup: installing system packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
elif ! command -v Xvfb >/dev/null 2>&1; then
  echo "setup: not root; make sure these Debian packages are installed: ${SYSTEM_PACKAGES[*]}" >&2
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e ".[cpu,dev]"
  rm -f .venv/.installed-* && touch "$stamp"
fi
