"""The packaged application (cpu flavor): build it if missing, then run the smoke test.

Slow (a build takes minutes) and excluded from the default run; run it with
``pytest -m packaging tests/packaging``.  ``WORKSTATION_ARCHIVE`` names another archive.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"


def _version() -> str:
    text = (ROOT / "src" / "workstation" / "__init__.py").read_text()
    return text.split('__version__ = "', 1)[1].split('"', 1)[0]


def _archive() -> Path:
    chosen = os.environ.get("WORKSTATION_ARCHIVE")
    if chosen:
        return Path(chosen)
    machine = os.uname().machine
    return PACKAGING / "dist" / f"workstation-{_version()}-linux-{machine}-cpu.tar.gz"


@pytest.mark.packaging
def test_packaged_application_passes_the_smoke_test() -> None:
    archive = _archive()
    if not archive.is_file():
        build = subprocess.run(["bash", str(PACKAGING / "build.sh"), "cpu"], capture_output=True, text=True,
                               timeout=3600)
        assert build.returncode == 0, build.stdout[-4000:] + build.stderr[-4000:]
    assert archive.is_file(), f"no archive at {archive}"
    smoke = subprocess.run(["bash", str(PACKAGING / "smoke_test.sh"), str(archive)], capture_output=True,
                           text=True, timeout=1800)
    print(smoke.stdout)
    assert smoke.returncode == 0, smoke.stdout[-6000:] + smoke.stderr[-2000:]
    assert "smoke test passed" in smoke.stdout
