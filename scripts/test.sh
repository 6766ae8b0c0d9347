#!/usr/bin/env bash
# Install what is needed and run the checks and the whole test suite: layer contracts
# (import-linter), types (mypy), lint (ruff), then unit, UI
# (under Xvfb), integration (real Dask cluster); GPU tests run where CUDA works and
# are skipped elsewhere.  Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
PYTHONPATH=scripts .venv/bin/lint-imports
.venv/bin/mypy
.venv/bin/ruff check .
exec .venv/bin/python -m pytest -m "not slow and not packaging" -p no:cacheprovider "$@"
