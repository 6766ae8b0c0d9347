"""Demo DICOM round trip, NIfTI geometry, derived DICOM maps and the PDF summary."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from workstation.analyses.perfusion import ANALYSIS
from workstation.analyses.perfusion.artifacts import write_dicom_maps
from workstation.compute.backend import cpu_backend
from workstation.demo.perfusion import ensure_demo_perfusion, write_perfusion


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    from workstation.io.dicom import scan

    folder = tmp_path_factory.mktemp("perf") / "src"
    truth = write_perfusion(folder, shape=(3, 48, 48), n_times=28)
    result = scan([folder])
    series = ANALYSIS.prepare(result.studies[0], None)
    params = ANALYSIS.default_params()
    return folder, truth, series, ANALYSIS.run(series, params, cpu_backend(), None)


def test_demo_dicom_round_trip(loaded: tuple) -> None:
    import pydicom

    folder, truth, series, _r = loaded
    files = sorted(folder.glob("*.dcm"))
    assert len(files) == 3 * 28
    assert np.allclose(series.times, truth.times, atol=1e-3)
    assert np.ptp(np.diff(series.times)) > 0.05  # uneven steps survive
    ds = pydicom.dcmread(files[-1])
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.2" and int(ds.TemporalPositionIndex) == 28
    assert series.reference.modality == "CT"


def test_nifti_maps_geometry(loaded: tuple, tmp_path: Path) -> None:
    import nibabel as nib

    _folder, _truth, series, r = loaded
    paths = ANALYSIS.write_artifacts(r, series, tmp_path)
    names = sorted(p.name for p in paths)
    assert names == sorted(["cbf.nii.gz", "cbv.nii.gz", "mtt.nii.gz", "tmax.nii.gz", "ttp.nii.gz",
                            "perfusion_summary.pdf"])
    img = nib.load(str(tmp_path / "cbf.nii.gz"))
    data = np.asarray(img.dataobj)
    np.testing.assert_array_equal(np.isnan(data), np.isnan(r.cbf.transpose(2, 1, 0)))
    idx_zyx = np.array([2, 10, 30])
    ras = img.affine @ np.r_[idx_zyx[::-1], 1.0]
    lps = series.reference.index_to_patient(idx_zyx)
    np.testing.assert_allclose(ras[:3], lps * np.array([-1, -1, 1]), atol=1e-4)
    assert (tmp_path / "perfusion_summary.pdf").read_bytes().startswith(b"%PDF")


def test_derived_dicom_maps_reload(loaded: tuple, tmp_path: Path) -> None:
    from workstation.io.dicom import load_series, scan

    _folder, _truth, series, r = loaded
    write_dicom_maps(r, series.reference, tmp_path)
    found = scan([tmp_path])
    assert len(found.studies) == 1 and len(found.studies[0].series) == 5
    cbf_series = next(s for s in found.studies[0].series if s.description.startswith("CBF"))
    vol = load_series(cbf_series)
    expected = np.nan_to_num(r.cbf)
    step = float(np.nanmax(r.cbf)) / 30000
    np.testing.assert_allclose(vol.array, expected, atol=step)
    np.testing.assert_allclose(vol.origin, series.reference.origin, atol=1e-3)
    import pydicom

    ds = pydicom.dcmread(next((tmp_path / "cbf").glob("*.dcm")))
    assert list(ds.ImageType)[:2] == ["DERIVED", "SECONDARY"]


def test_ensure_demo_uses_env_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import workstation.demo.perfusion as demo

    calls: list[Path] = []
    monkeypatch.setenv("WORKSTATION_DEMO_DIR", str(tmp_path))
    monkeypatch.setattr(demo, "write_perfusion", lambda folder, seed=0: calls.append(Path(folder)))
    path = ensure_demo_perfusion()
    assert path == tmp_path / "perfusion" and calls == [path]
    assert ensure_demo_perfusion() == path and len(calls) == 1  # cached by the marker
