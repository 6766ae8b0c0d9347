"""DVHs against closed forms: a sphere, a cylinder and a shell with holes in a radial dose field (DICOM on disk).

Also: the rasteriser's volumes, holes and end caps; metrics against a sorted-sample
reference; pydicom's RT files through the analysis; the artifacts; what the contract
needs beyond the shared test.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from pydicom.data import get_testdata_file

from rt_phantom import D0, analytic_volume, write_phantom
from workstation.analyses import get
from workstation.analyses.base import InputError
from workstation.analyses.rt_dose.dvh import cumulative, dose_at_volume, metrics
from workstation.analyses.rt_dose.params import RtDoseParams
from workstation.analyses.rt_dose.rasterise import contour_volume_cc, coverage, planes_of
from workstation.compute.backend import cpu_backend
from workstation.core.rt import Contour, StructureRoi
from workstation.core.volume import Volume
from workstation.io.dicom import scan

#: Dose levels (Gy) at which each structure's DVH is checked against its closed form (1 % of V(d)).
LEVELS = {"PTV": (50.0, 52.0, 55.0, 58.0, 61.0), "OAR": (40.0, 46.0, 52.0, 58.0, 61.0),
          "Shell": (40.0, 43.0, 46.0, 49.0, 52.0)}


@pytest.fixture(scope="module")
def phantom_result(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    folder = write_phantom(tmp_path_factory.mktemp("phantom"))
    analysis = get("rt-dose")
    (study,) = [s for s in scan(folder).studies if s.series]
    inputs = analysis.prepare(study, None)
    return inputs, analysis.run(inputs, RtDoseParams(prescription_gy=60.0), cpu_backend(), None)


@pytest.mark.parametrize("name", sorted(LEVELS))
def test_dvh_matches_the_closed_form_within_one_percent(phantom_result: tuple, name: str) -> None:
    _inputs, result = phantom_result
    s = result.structure(name)
    for dose in LEVELS[name]:
        exact = analytic_volume(name, dose)
        assert s.dvh.volume_at(dose) == pytest.approx(exact, rel=0.01), (name, dose)
    # rasterised volume against the polygons' slabs; the slabs against the solid (stair steps of 2 mm planes)
    assert s.metrics.volume_cc == pytest.approx(s.contour_volume_cc, rel=0.005)
    assert s.contour_volume_cc == pytest.approx(analytic_volume(name, 0.0), rel=0.01)


def test_ptv_metrics_follow_the_field(phantom_result: tuple) -> None:
    _inputs, result = phantom_result
    m = result.structure("PTV").metrics
    # D_x of a sphere in D(r) = D0 (1 - r/R0): the shell holding the outer x % starts at r = R (1 - x)^(1/3)
    for pct in (98.0, 95.0, 50.0, 2.0):
        r = 30.0 * (pct / 100.0) ** (1.0 / 3.0)
        assert m.d(pct) == pytest.approx(D0 * (1 - r / 100.0), abs=0.15)
    mean = D0 * (1 - 0.75 * 30.0 / 100.0)  # mean radius of a ball is 3R/4
    assert m.mean_gy == pytest.approx(mean, abs=0.05)
    assert m.max_gy == pytest.approx(D0, abs=0.1)
    assert result.structure("PTV").metrics.homogeneity_index > 0


def _roi(contours: list[np.ndarray]) -> StructureRoi:
    return StructureRoi(1, "r", contours=tuple(Contour(c) for c in contours))


def _square(half: float, z: float, cx: float = 0.0) -> np.ndarray:
    return np.array([[cx - half, -half, z], [cx + half, -half, z], [cx + half, half, z], [cx - half, half, z]])


def test_holes_and_several_contours_per_plane_and_end_caps() -> None:
    grid = Volume(np.zeros((20, 40, 40), np.float32), spacing=(1.0, 1.0, 1.0), origin=(-20.0, -20.0, -10.0))
    zs = [-1.5, -0.5, 0.5, 1.5]  # four planes 1 mm apart: the structure spans z in [-2, 2]
    ring = [c for z in zs for c in (_square(8.0, z), _square(4.0, z)[::-1])]
    two = [c for z in zs for c in (_square(3.0, z, -10.0), _square(3.0, z, 10.0))]
    for contours, area in ((ring, 16 * 16 - 8 * 8), (two, 2 * 6 * 6)):
        planes = planes_of(_roi(contours), grid)
        cov = coverage(np, planes, grid.shape, subsample=4, z_subsample=4)
        assert float(cov.fraction.sum()) == pytest.approx(area * 4.0, rel=1e-6)
        assert contour_volume_cc(planes, grid) == pytest.approx(area * 4.0 / 1000.0)


def test_metrics_against_a_sorted_reference() -> None:
    rng = np.random.default_rng(3)
    doses, weights = rng.uniform(0, 70, 5000), rng.uniform(0.1, 1.0, 5000)
    m = metrics(np, doses, weights, 0.008, (20.0,))
    order = np.argsort(-doses)
    filled = np.cumsum(weights[order])
    for pct in (98.0, 95.0, 50.0, 2.0):
        assert m.d(pct) == doses[order][np.searchsorted(filled, pct / 100 * filled[-1])]
    assert m.v_cc[20.0] == pytest.approx(weights[doses >= 20.0].sum() * 0.008)
    curve = cumulative(np, doses, weights, 0.008, 7100, 0.01)
    assert curve.volume_at(20.0) == pytest.approx(m.v_cc[20.0])
    assert dose_at_volume(curve.dose_gy, curve.cumulative_pct(), 50.0) == pytest.approx(m.d(50.0), abs=0.02)


def test_pydicom_rt_files_load_or_are_refused_clearly(tmp_path: Path) -> None:
    for name in ("rtdose.dcm", "rtplan.dcm", "rtstruct.dcm"):
        (tmp_path / name).write_bytes(Path(get_testdata_file(name)).read_bytes())
    found = scan(tmp_path)
    studies = [s for s in found.studies if s.objects]
    assert studies and not found.problems
    for study in studies:  # three files of three patients: no coherent plan
        with pytest.raises(InputError, match="Structure Set|Frames of Reference|RT Dose"):
            get("rt-dose").prepare(study, None)


def test_artifacts_write_the_dvh_tables(phantom_result: tuple, tmp_path: Path) -> None:
    inputs, result = phantom_result
    written = get("rt-dose").write_artifacts(result, inputs, tmp_path, names=("dvh", "report", "json"))
    names = {p.name for p in written}
    assert {"dvh.csv", "dvh_metrics.csv", "rt_dose_report.pdf", "rt_dose.json"} <= names
    with open(tmp_path / "dvh_metrics.csv", encoding="utf-8") as fh:
        rows = {r["structure"]: r for r in csv.DictReader(fh)}
    assert float(rows["PTV"]["d95_gy"]) == pytest.approx(result.structure("PTV").metrics.d(95.0), abs=1e-3)
    with open(tmp_path / "dvh.csv", encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    assert header == ["dose_gy", "PTV cc", "OAR cc", "Shell cc"]
