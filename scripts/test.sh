#!/usr/bin/env bash
# Install what is needed and run the whole test suite: layer contracts, unit, UI
# (under Xvfb), integration (real Dask cluster); GPU tests run where CUDA works and
# are skipped elsewhere.  Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/lint-imports
exec .venv/bin/python -m pytest -m "not slow and not packaging" -p no:cacheprovider "$@"
