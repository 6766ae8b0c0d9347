#!/usr/bin/env bash
# Install what is needed and open the workstation on the bundled demo study
# (or on the DICOM folders/files given as arguments).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "run: no display found; starting on a virtual X screen (xvfb-run)" >&2
  exec xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/workstation "$@"
fi
exec .venv/bin/workstation "$@"
