"""The synthetic mammography study: valid MG DICOM, right laterality/view, truth on lesions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest

from workstation.analyses.mammo_cad.loader import log_inverse
from workstation.demo.mammo import VIEWS, ensure_demo_mammo, generate_mammo, write_mammo
from workstation.demo.mammo_dicom import FOR_PROCESSING_K, MG_FOR_PRESENTATION, MG_FOR_PROCESSING

SMALL = (512, 416)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    folder = tmp_path_factory.mktemp("mg")
    truth = write_mammo(folder, 11, shape=SMALL, findings={"R": (1, 1), "L": (1, 0)}, for_processing=True)
    return folder, truth


def test_files_are_mg_for_presentation_with_view_tags(written: tuple[Path, object]) -> None:
    folder, truth = written
    codes = {"CC": "399162004", "MLO": "399368009"}
    for view, path in truth.files.items():  # type: ignore[attr-defined]
        ds = pydicom.dcmread(path)
        lat, pos = view.split("-")
        assert ds.SOPClassUID == MG_FOR_PRESENTATION and ds.Modality == "MG"
        assert ds.PresentationIntentType == "FOR PRESENTATION"
        assert (ds.ImageLaterality, ds.ViewPosition) == (lat, pos)
        assert ds.ViewCodeSequence[0].CodeValue == codes[pos]
        assert ds.PhotometricInterpretation == "MONOCHROME2" and ds.BitsStored == 12
        assert [float(v) for v in ds.PixelSpacing] == pytest.approx([0.2, 0.2])
        assert [float(v) for v in ds.ImagerPixelSpacing] == pytest.approx([0.2, 0.2])
        assert ds.pixel_array.shape == SMALL and int(ds.pixel_array.max()) <= 4095
        # standard orientation: right breast chest wall on the image right (rows run posterior)
        assert ds.PatientOrientation[0] == ("P" if lat == "R" else "A")
    assert len(list(folder.glob("MG_proc_*.dcm"))) == 4


def test_for_processing_is_log_inverse_of_presentation(written: tuple[Path, object]) -> None:
    folder, truth = written
    pres = pydicom.dcmread(truth.files["L-MLO"]).pixel_array.astype(float)  # type: ignore[attr-defined]
    proc_ds = pydicom.dcmread(folder / "MG_proc_L_MLO.dcm")
    assert proc_ds.SOPClassUID == MG_FOR_PROCESSING and proc_ds.PixelIntensityRelationship == "LIN"
    raw = proc_ds.pixel_array.astype(float)
    # the writer's model: raw = 4095 exp(-k p / 4095); invert it by hand
    recovered = -4095.0 / FOR_PROCESSING_K * np.log(raw / 4095.0)
    inside = pres > 500
    assert np.abs(recovered - pres)[inside].max() < 0.01 * 4095
    # the loader's log-inverse is proportional to the presentation values
    conv = log_inverse(raw)
    assert np.corrcoef(conv[inside], pres[inside])[0, 1] > 0.999


def test_chest_wall_and_pectoral_on_the_stated_sides() -> None:
    case = generate_mammo(3, shape=SMALL)
    for view in VIEWS:
        img = case.images[view].astype(float)
        breast = img > 400
        left, right = breast[:, :10].mean(), breast[:, -10:].mean()
        assert (right > left) if view.startswith("R") else (left > right)
    mlo = case.images["L-MLO"].astype(float)
    cc = case.images["L-CC"].astype(float)
    # the pectoral muscle: a bright top corner at the chest wall on MLO only
    assert mlo[:40, :40].mean() > 1.2 * cc[:40, :40].mean()


def test_truth_boxes_sit_on_the_lesions() -> None:
    case = generate_mammo(21, shape=SMALL, findings={"R": (1, 1), "L": (1, 1)})
    kinds = sorted(t.kind for t in case.truth)
    assert kinds == ["calcification"] * 4 + ["mass"] * 4
    for t in case.truth:
        img = case.images[t.view].astype(float)
        x0, y0, x1, y1 = (int(round(v)) for v in t.box)
        patch = img[y0:y1, x0:x1]
        if t.kind == "mass":
            cy, cx = (y0 + y1) // 2, (x0 + x1) // 2
            core = img[cy - 3:cy + 4, cx - 3:cx + 4].mean()
            ring = np.concatenate([img[max(y0 - 6, 0):y0, x0:x1].ravel(), img[y1:y1 + 6, x0:x1].ravel()])
            assert core > ring.mean() + 200
        else:
            breast = img[img > 400]
            assert patch.max() > np.percentile(breast, 99.9)


def test_ensure_demo_writes_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKSTATION_DEMO_DIR", str(tmp_path))
    folder = ensure_demo_mammo()
    assert folder == tmp_path / "mammo"
    files = sorted(folder.glob("MG_pres_*.dcm"))
    assert len(files) == 4
    stamp = files[0].stat().st_mtime_ns
    assert ensure_demo_mammo() == folder and files[0].stat().st_mtime_ns == stamp
