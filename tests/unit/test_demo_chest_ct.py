"""The demo chest CT: anatomy values, header, DICOM round trip and its known score."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest

from workstation.demo.chest_ct import ensure_demo, generate_chest_ct, write_chest_ct
from workstation.demo.coronary_lesions import agatston_weight

SMALL = dict(size=256, pixel_mm=1.4)  # the same anatomy on a coarser grid, for fast tests


def test_truth_is_arithmetic_of_the_construction() -> None:
    volume, truth = generate_chest_ct()
    assert volume.shape == (60, 512, 512) and volume.array.dtype == np.int16
    assert volume.spacing == (3.0, 0.7, 0.7)
    lm = [les for les in truth.lesions if les.artery == "LM"][0]
    assert lm.area_mm2 == pytest.approx(16 * 0.49) and lm.weight == 2 and lm.agatston == pytest.approx(15.68)
    lad = [les for les in truth.lesions if les.artery == "LAD" and len(les.slice_indices) == 2][0]
    # Two slices: 6x5 px at 450 HU (weight 4) and 4x4 px at 320 HU (weight 3).
    assert lad.agatston == pytest.approx(30 * 0.49 * 4 + 16 * 0.49 * 3)
    assert lad.volume_mm3 == pytest.approx(46 * 0.49 * 3.0)
    assert truth.agatston_total == pytest.approx(sum(les.agatston for les in truth.lesions))
    for les in truth.lesions:
        for k, (r0, c0, nr, nc) in zip(les.slice_indices, les.pixel_boxes):
            block = volume.array[k, r0 : r0 + nr, c0 : c0 + nc]
            assert np.unique(block).size == 1 and agatston_weight(int(block[0, 0])) >= 1


def test_nothing_but_bone_and_lesions_reaches_130_hu() -> None:
    volume, truth = generate_chest_ct()
    a = volume.array
    hot = a >= 130
    for les in truth.lesions + truth.specks:
        for k, (r0, c0, nr, nc) in zip(les.slice_indices, les.pixel_boxes):
            hot[k, r0 : r0 + nr, c0 : c0 + nc] = False
    # What is left is bone: it sits outside a 30 mm margin around every lesion centre.
    zz, yy, xx = np.nonzero(hot)
    pts = volume.index_to_patient(np.stack([zz, yy, xx], axis=1)[:: max(1, len(zz) // 20000)])
    for les in truth.lesions:
        d = np.linalg.norm(pts[:, :2] - np.asarray(les.centroid_mm[:2]), axis=1)
        assert d.min() > 30.0
    soft = a[(a < 130) & (a > -200)]
    assert 8.0 < float(np.std(soft[np.abs(soft - 40) < 40])) < 16.0  # ~12 HU noise in soft tissue


def test_noise_is_seeded() -> None:
    a1, _ = generate_chest_ct(seed=1, **SMALL)
    a2, _ = generate_chest_ct(seed=1, **SMALL)
    a3, _ = generate_chest_ct(seed=2, **SMALL)
    assert np.array_equal(a1.array, a2.array) and not np.array_equal(a1.array, a3.array)


def test_write_is_valid_dicom(tmp_path: Path) -> None:
    truth = write_chest_ct(tmp_path)
    files = sorted(tmp_path.glob("*.dcm"))
    assert len(files) == 60
    ds = pydicom.dcmread(files[30])
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.2"
    assert (ds.Rows, ds.Columns) == (512, 512) and float(ds.PixelSpacing[0]) == pytest.approx(0.7)
    assert float(ds.SliceThickness) == 3.0 and float(ds.RescaleIntercept) == -1024 and ds.PixelRepresentation == 1
    assert str(ds.PatientName) == "DEMO^CHEST" and ds.PatientID == "DEMO-0001"
    assert ds.PatientAge == "055Y" and ds.PatientSex == "M" and ds.StudyDate
    assert truth.agatston_total > 0


def test_ensure_demo_writes_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKSTATION_DEMO_DIR", str(tmp_path / "demo"))
    folder = ensure_demo()
    assert folder == tmp_path / "demo" / "chest_ct" and len(list(folder.glob("*.dcm"))) == 60
    stamp = sorted(folder.glob("*.dcm"))[0].stat().st_mtime_ns
    assert ensure_demo() == folder
    assert sorted(folder.glob("*.dcm"))[0].stat().st_mtime_ns == stamp
