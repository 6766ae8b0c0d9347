"""Calcium scoring through real DICOM files: the demo's known score, file order, artifacts."""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from calcium_phantoms import as_volume, blank
from workstation.analyses import get
from workstation.analyses.calcium.artifacts import write_json
from workstation.compute.backend import cpu_backend
from workstation.demo.chest_ct import write_chest_ct
from workstation.io.dicom import load, scan
from workstation.io.dicom_write import write_series

CPU = cpu_backend()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    folder = tmp_path_factory.mktemp("demo_ct")
    truth = write_chest_ct(folder, seed=0)
    return folder, truth


def test_demo_score_equals_the_construction(demo: tuple[Path, object]) -> None:
    folder, truth = demo
    analysis = get("calcium")
    study = scan([folder]).studies[0]
    volume = analysis.prepare(study, None)
    result = analysis.run(volume, analysis.default_params(), CPU, None)
    assert result.agatston_total == pytest.approx(truth.agatston_total, abs=1e-9)
    assert result.volume_mm3_total == pytest.approx(truth.volume_mm3_total, abs=1e-9)
    assert result.mass_mg_total == pytest.approx(truth.mass_mg_total, abs=1e-9)
    assert len(result.lesions) == len(truth.lesions)  # both specks fall below 1 mm^2
    got = sorted((les.slice_indices, les.artery, round(les.agatston, 9)) for les in result.lesions)
    want = sorted((tuple(sorted(t.slice_indices)), t.artery, round(t.agatston, 9)) for t in truth.lesions)
    assert got == want
    for artery, row in truth.per_artery().items():
        assert result.per_artery()[artery]["agatston"] == pytest.approx(row["agatston"])
    assert result.age == 55 and result.sex == "M"
    assert result.percentile is None and set(result.mesa_percentile.by_race) == {"white", "black", "hispanic", "chinese"}
    assert result.patient_id == "DEMO-0001" and result.study_date == "2024-01-15"
    assert result.excluded_components > 0  # spine, ribs, sternum
    assert result.warnings == ()


def test_result_does_not_depend_on_file_order(tmp_path: Path) -> None:
    a = blank((10, 48, 48), 0.8, 3.0)
    a[2, 10:14, 10:15] = 260
    a[3, 12:16, 12:14] = 410
    a[7, 30:33, 30:33] = 180
    src = tmp_path / "ordered"
    write_series(as_volume(a, 0.8, 3.0), src, modality="CT", tags={"PatientID": "X1"})
    shuffled = tmp_path / "shuffled"
    shuffled.mkdir()
    files = sorted(src.glob("*.dcm"))
    names = [f"{random.Random(7).random():.6f}_{i}.dcm" for i in range(len(files))]
    random.Random(3).shuffle(names)
    for f, name in zip(files, names):
        shutil.copy(f, shuffled / name)
    analysis = get("calcium")
    params = analysis.default_params()
    r1 = analysis.run(load(src), params, CPU, None)
    r2 = analysis.run(load(shuffled), params, CPU, None)
    assert r1.to_json()["lesions"] == r2.to_json()["lesions"]
    assert r1.agatston_total == pytest.approx(20 * 0.64 * 2 + 8 * 0.64 * 4 + 9 * 0.64 * 1)


def test_artifacts_label_image_and_pdf(demo: tuple[Path, object], tmp_path: Path) -> None:
    import nibabel as nib

    folder, truth = demo
    analysis = get("calcium")
    volume = load(folder)
    result = analysis.run(volume, analysis.default_params(), CPU, None)
    paths = analysis.write_artifacts(result, volume, tmp_path)
    assert {p.name for p in paths} == {"calcium_labels.nii.gz", "calcium_report.pdf"}
    image = nib.load(str(tmp_path / "calcium_labels.nii.gz"))
    labels = np.asarray(image.dataobj)
    les = result.lesions[0]
    k = les.slice_indices[0]
    zz, yy, xx = np.nonzero(result.label_volume("id") == les.id)
    assert set(labels[xx, yy, zz].tolist()) == {les.id}
    assert int((labels > 0).sum()) == sum(x.n_voxels for x in result.lesions)
    # The NIfTI affine puts the voxel at the patient position (LPS -> RAS flips x and y).
    ras = image.affine @ np.array([xx[0], yy[0], zz[0], 1.0])
    lps = volume.index_to_patient([zz[0], yy[0], xx[0]])
    assert np.allclose(ras[:3], lps * np.array([-1, -1, 1]), atol=1e-4)
    assert k in les.slice_indices
    text = subprocess.run(["pdftotext", str(tmp_path / "calcium_report.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert f"{result.agatston_total:.1f}" in text and "CAC-DRS" in text and "not a medical device" in text
    record = write_json(result, tmp_path / "calcium.json")
    assert '"agatston_total"' in record.read_text()


@pytest.mark.parametrize("pixel_mm,slice_mm", [(0.4, 3.0), (0.7, 3.0), (1.0, 1.5)])
def test_dicom_round_trip_of_analytic_lesions(tmp_path: Path, pixel_mm: float, slice_mm: float) -> None:
    a = blank((8, 40, 40), pixel_mm, slice_mm)
    a[3, 10:14, 10:15] = 130  # 20 px, weight 1
    a[4, 11:13, 11:15] = 299  # 8 px touching it on the next slice, weight 2
    a[6, 30:33, 20:23] = 400  # 9 px, weight 4
    a[1, 25, 5] = 1000  # a 1-pixel speck: kept only at 1.0 mm pixels (exactly 1 mm^2)
    write_series(as_volume(a, pixel_mm, slice_mm), tmp_path, modality="CT", slice_thickness=slice_mm)
    volume = load(tmp_path)
    assert volume.array.dtype == np.int16 and np.array_equal(volume.array, a)
    result = get("calcium").run(volume, get("calcium").default_params(), CPU, None)
    px = pixel_mm**2
    speck = 4 * px if pixel_mm >= 1.0 else 0.0
    expected = (20 * px * 1 + 8 * px * 2 + 9 * px * 4 + speck) * slice_mm / 3.0
    assert result.agatston_total == pytest.approx(expected)
    assert len(result.lesions) == (3 if speck else 2)
    assert any("scaled by" in w for w in result.warnings) == (slice_mm != 3.0)
