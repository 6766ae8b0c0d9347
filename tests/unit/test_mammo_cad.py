"""The shipped detector and the whole analysis: recall on held-out cases, demo study, artifacts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from workstation.analyses import get
from workstation.analyses.mammo_cad.detect import MODEL_NAME, Detector
from workstation.analyses.mammo_cad.loader import exam_from_arrays, load_exam
from workstation.analyses.mammo_cad.logic import run
from workstation.analyses.mammo_cad.params import MammoCadParams
from workstation.analyses.mammo_cad.result import MammoCadResult
from workstation.analyses.mammo_cad.sr import read_sr_findings
from workstation.compute.backend import cpu_backend
from workstation.demo.mammo import DEMO_FINDINGS, DEMO_SEED, VIEWS, generate_mammo, patient_orientation, write_mammo
from workstation.ml.registry import get_model, verify

# Seeds used neither for training (1000-1399) nor for the manifest's evaluation (500000+).
HELD_OUT = range(910000, 910005)


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector(cpu_backend())


def _hit(finding: Any, truth: Any) -> bool:
    """Same type and the mark's centre inside the truth box."""
    cx = (finding.box_px[0] + finding.box_px[2]) / 2
    cy = (finding.box_px[1] + finding.box_px[3]) / 2
    x0, y0, x1, y1 = truth.box
    return finding.kind == truth.kind and x0 <= cx <= x1 and y0 <= cy <= y1


def test_shipped_model_is_declared_and_verified() -> None:
    entry = get_model(MODEL_NAME)
    verify(entry)
    assert entry.task == "detection-2d" and entry.modality == "MG"
    assert entry.file.stat().st_size < 5 * 2**20
    assert "Not for clinical use" in entry.intended_use
    m = entry.metrics
    assert 0 < m["score_threshold"] < 1 and m["fp_per_image"] <= m["fp_per_image_target"]
    assert set(m["recall"]) >= {"mass", "calcification", "all"}


def test_recall_at_stated_operating_point(detector: Detector) -> None:
    stated = detector.entry.metrics
    found = total = fps = images = 0
    for seed in HELD_OUT:
        case = generate_mammo(seed, findings={"R": (1, 1), "L": (1, 1)})
        exam = exam_from_arrays(case.images, case.pixel_spacing_mm, {v: patient_orientation(v) for v in VIEWS})
        result = run(exam, MammoCadParams(), cpu_backend(), detector=detector)
        assert result.score_threshold == pytest.approx(stated["score_threshold"])
        for view in VIEWS:
            marks, truths = result.for_view(view), case.boxes(view)
            found += sum(any(_hit(f, t) for f in marks) for t in truths)
            fps += sum(not any(_hit(f, t) for t in truths) for f in marks)
            total += len(truths)
            images += 1
    assert total == 8 * len(HELD_OUT)
    recall, fp_rate = found / total, fps / images
    assert recall >= stated["recall"]["all"] - 0.15, (recall, fp_rate)
    assert fp_rate <= stated["fp_per_image"] + 0.5, (recall, fp_rate)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, detector: Detector) -> tuple[Path, Any, Any, MammoCadResult]:
    folder = tmp_path_factory.mktemp("demo_mg")
    truth = write_mammo(folder, DEMO_SEED, findings=DEMO_FINDINGS)
    from workstation.io.dicom import scan

    study = scan([folder]).studies[0]
    analysis = get("mammo-cad")
    exam = analysis.prepare(study, None)
    result = run(exam, analysis.default_params(), cpu_backend(), detector=detector)
    return folder, truth, exam, result


def test_demo_findings_and_json(demo: tuple[Path, Any, Any, MammoCadResult]) -> None:
    _folder, truth, exam, result = demo
    assert [im.key for im in exam.images] == list(VIEWS)
    for view in VIEWS:
        for t in truth.boxes[view]:
            assert any(_hit(f, t) for f in result.for_view(view)), (view, t)
    assert result.suggestion.category in (0, 4)
    assert result.suggestion.text.startswith("Suggested for radiologist review: BI-RADS")
    js = json.loads(json.dumps(result.to_json()))
    assert set(js["per_view"]) == set(VIEWS) and js["model"]["name"] == MODEL_NAME
    f0 = js["findings"][0]
    assert f0["box_mm"] == pytest.approx([v * truth.pixel_spacing_mm for v in f0["box_px"]], abs=0.06)


def test_artifacts(demo: tuple[Path, Any, Any, MammoCadResult], tmp_path: Path) -> None:
    import nibabel as nib

    folder, _truth, exam, result = demo
    paths = get("mammo-cad").write_artifacts(result, exam, tmp_path / "out")  # type: ignore[misc]
    names = {p.name for p in paths}
    assert {"mammo_cad_sr.dcm", "mammo_cad_findings.json", "mammo_cad_report.pdf"} <= names
    assert (tmp_path / "out" / "mammo_cad_report.pdf").read_bytes().startswith(b"%PDF")
    sr = read_sr_findings(tmp_path / "out" / "mammo_cad_sr.dcm")
    assert len(sr) == len(result.findings)
    for f, g in zip(result.findings, sr):
        assert g["box_px"] == pytest.approx(list(f.box_px), abs=1e-3)
        assert g["score"] == pytest.approx(f.score, abs=1e-4)
        assert g["type"] == ("Mass" if f.kind == "mass" else "Calcification cluster")
        assert g["site"] == ("Right breast" if f.laterality == "R" else "Left breast")
        assert g["sop_instance_uid"] == f.sop_instance_uid
    f = result.findings[0]
    labels = np.asarray(nib.load(tmp_path / "out" / f"mammo_cad_marks_{f.view}.nii.gz").dataobj)[:, :, 0]
    cx, cy = int((f.box_px[0] + f.box_px[2]) / 2), int((f.box_px[1] + f.box_px[3]) / 2)
    assert labels[cx, cy] == (1 if f.kind == "mass" else 2) and labels[0, 0] == 0
    with pytest.raises(ValueError, match="source folder"):
        get("mammo-cad").write_artifacts(result, exam, folder / "results")  # type: ignore[misc]


def test_for_processing_only_finds_the_same(tmp_path: Path, detector: Detector) -> None:
    truth = write_mammo(tmp_path, DEMO_SEED, findings=DEMO_FINDINGS, for_processing=True, for_presentation=False)
    result = run(load_exam([tmp_path]), MammoCadParams(), cpu_backend(), detector=detector)
    hits = sum(any(_hit(f, t) for f in result.for_view(v)) for v in VIEWS for t in truth.boxes[v])
    assert hits >= sum(len(b) for b in truth.boxes.values()) - 1


def _words(pdf: Path) -> tuple[list[tuple[float, float, float, float, str]], float]:
    """Every word of a PDF with its box (points, from the top left) and the page width."""
    import re
    import subprocess

    html = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    width = float(re.search(r'<page width="([\d.]+)"', html).group(1))  # type: ignore[union-attr]
    words = [(float(a), float(b), float(c), float(d), w) for a, b, c, d, w in
             re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', html)]
    return words, width


def test_report_text_wraps_and_view_labels_read(demo: tuple[Path, Any, Any, MammoCadResult], tmp_path: Path) -> None:
    """A long suggestion is printed whole, wrapped inside the margins; every view has its
    label in dark text on the light page (not black on the black of the image)."""
    import dataclasses
    import subprocess

    _folder, _truth, exam, result = demo
    long = ("Suggested for radiologist review: " + " ".join(f"finding{k} needs comparison with prior views"
                                                           for k in range(12)) + " END-OF-TEXT")
    result = dataclasses.replace(result, suggestion=dataclasses.replace(result.suggestion, text=long))
    paths = get("mammo-cad").write_artifacts(result, exam, tmp_path / "out")  # type: ignore[misc]
    pdf = next(p for p in paths if p.suffix == ".pdf")
    words, page_width = _words(pdf)
    assert "END-OF-TEXT" in [w for *_, w in words]  # not cut at a fixed number of characters
    assert all(x1 <= page_width - 30 and x0 >= 30 for x0, _, x1, _, _ in words)  # inside the margins
    rows = {round(y0) for x0, y0, x1, y1, w in words if w.startswith("finding")}
    assert len(rows) >= 3  # the long text wrapped onto several lines
    page = tmp_path / "page"
    subprocess.run(["pdftoppm", "-r", "72", "-f", "1", "-l", "1", "-png", str(pdf), str(page)], check=True)
    from PIL import Image

    image = np.asarray(Image.open(next(tmp_path.glob("page*.png"))).convert("L"), dtype=float)
    for key in ("R-CC:", "L-CC:", "R-MLO:", "L-MLO:"):
        x0, y0, x1, y1, _ = next(w for w in words if w[4] == key)
        box = image[int(y0):int(np.ceil(y1)), int(x0):int(np.ceil(x1))]
        assert box.min() < 100 and np.median(box) > 200, key  # dark glyphs on a light background
