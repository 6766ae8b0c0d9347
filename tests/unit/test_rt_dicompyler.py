"""The real breast plan of dicompyler-core's source distribution: our DVHs against two references.

1. The nine DVHs the planning system stored in the RT Dose (DVH Sequence).
2. dicompyler-core 0.5.6's own ``dvhcalc``, run in a virtual environment this test makes
   (dicompyler-core needs pydicom < 3; it gets pydicom 2.4.5 there).

The sdist is fetched with pip in the set-up (``pip download --no-binary :all:``) into a
cache folder (``WORKSTATION_TEST_CACHE``, else ``~/.cache/workstation-tests``), as is the
environment and dvhcalc's output; without a network the tests are skipped, saying so.
Tolerances per structure are stated in TOLERANCES; docs/rt-dose.md lists the differences.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

from workstation.analyses import get
from workstation.compute.backend import cpu_backend
from workstation.io.dicom import scan

VERSION = "0.5.6"
EXAMPLE = f"dicompyler-core-{VERSION}/tests/testdata/example_data"
#: name -> (volume rel. tolerance vs dicompyler, vs planning system; mean and D95 abs. tolerance in Gy)
TOLERANCES: dict[str, tuple[float, float, float]] = {
    "BODY": (0.002, 0.08, 0.05),  # the planning system's BODY is 6.3 % smaller than ours and dicompyler's
    "Breast": (0.005, 0.015, 0.05),
    "Heart": (0.005, 0.01, 0.02),
    "Lt Lung": (0.005, 0.005, 0.02),
    "Tumor Bed": (0.01, 0.03, 0.05),
    "Tumor Bed Block": (0.01, 0.02, 0.06),
    "Borders": (0.10, 0.80, 0.02),  # 1.2 cm^3 on 2.5 mm voxels: a few voxels of partial volume
    "Nodes": (0.05, 0.25, 0.02),
    "Scar": (0.10, 0.60, 0.25),
}
DVHCALC = """
import json, sys
from dicompylercore import dicomparser, dvhcalc
folder = sys.argv[1]
out = {}
for number, s in dicomparser.DicomParser(folder + "/rtss.dcm").GetStructures().items():
    dvh = dvhcalc.get_dvh(folder + "/rtss.dcm", folder + "/rtdose.dcm", number)
    if dvh.volume > 0:
        out[s["name"]] = {"volume_cc": float(dvh.volume), "mean_gy": float(dvh.mean), "max_gy": float(dvh.max),
                          "min_gy": float(dvh.min), "d95_gy": float(dvh.D95.value)}
print(json.dumps(out))
"""


def _cache() -> Path:
    root = Path(os.environ.get("WORKSTATION_TEST_CACHE") or Path.home() / ".cache" / "workstation-tests")
    root.mkdir(parents=True, exist_ok=True)
    return root


def _run(cmd: list[str], what: str, timeout: int = 600) -> str:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"{what}: {exc}")
    if proc.returncode != 0:
        pytest.skip(f"{what} failed (no network or registry?): {proc.stderr.strip().splitlines()[-1:]}")
    return proc.stdout


@pytest.fixture(scope="module")
def example() -> Path:
    """The example plan folder of the sdist (downloaded once into the cache)."""
    cache = _cache()
    folder = cache / EXAMPLE
    if not (folder / "rtdose.dcm").is_file():
        archive = cache / f"dicompyler-core-{VERSION}.tar.gz"
        if not archive.is_file():
            _run([sys.executable, "-m", "pip", "download", f"dicompyler-core=={VERSION}", "--no-binary", ":all:",
                  "--no-deps", "-d", str(cache)], "pip download of the dicompyler-core sdist")
        with tarfile.open(archive) as tar:
            members = [m for m in tar.getmembers() if m.name.startswith(EXAMPLE) and m.isfile()]
            tar.extractall(cache, members=members, filter="data")
    return folder


@pytest.fixture(scope="module")
def ours(example: Path) -> Any:
    analysis = get("rt-dose")
    (study,) = [s for s in scan(example).studies if s.series]
    inputs = analysis.prepare(study, None)
    return analysis.run(inputs, analysis.default_params(), cpu_backend(), None)


@pytest.fixture(scope="module")
def dicompyler(example: Path) -> dict[str, Any]:
    """dicompyler-core's dvhcalc of every structure (its environment and output cached)."""
    cache = _cache()
    out = cache / f"dicompyler-{VERSION}-dvhcalc.json"
    if out.is_file():
        return json.loads(out.read_text())
    venv = cache / f"dicompyler-core-{VERSION}-venv"
    python = venv / "bin" / "python"
    if not python.is_file():
        _run([sys.executable, "-m", "venv", str(venv)], "making a virtual environment")
        _run([str(python), "-m", "pip", "install", "-q", f"dicompyler-core=={VERSION}", "pydicom==2.4.5", "numpy<2"],
             "installing dicompyler-core with pydicom 2.4.5")
    text = _run([str(python), "-c", DVHCALC, str(example)], "dicompyler-core dvhcalc")
    out.write_text(text)
    return json.loads(text)


@pytest.mark.parametrize("name", sorted(TOLERANCES))
def test_against_the_planning_systems_dvhs(ours: Any, name: str) -> None:
    s = ours.structure(name)
    e = s.embedded
    assert e is not None, f"{name} has no stored DVH"
    vol_tol, mean_tol = TOLERANCES[name][1], TOLERANCES[name][2]
    assert s.metrics.volume_cc == pytest.approx(e.volume_cc, rel=vol_tol)
    assert s.metrics.mean_gy == pytest.approx(e.mean_gy, abs=mean_tol)
    assert s.metrics.d(95.0) == pytest.approx(e.d95_gy, abs=mean_tol)


@pytest.mark.parametrize("name", sorted(TOLERANCES))
def test_against_dicompyler_dvhcalc(ours: Any, dicompyler: dict[str, Any], name: str) -> None:
    s, ref = ours.structure(name), dicompyler[name]
    vol_tol, _, dose_tol = TOLERANCES[name]
    assert s.metrics.volume_cc == pytest.approx(ref["volume_cc"], rel=vol_tol)
    assert s.metrics.mean_gy == pytest.approx(ref["mean_gy"], abs=dose_tol)
    assert s.metrics.d(95.0) == pytest.approx(ref["d95_gy"], abs=max(dose_tol, 0.011))  # its 0.01 Gy bins
