"""A study report per template on each analysis's demo study, run headless: every structured value in
the PDF text (pdftotext) and in the SR (read back with highdicom) equals the result JSON; the SR and the
KOS pass dciodvfy and dcmtk's dsrdump/dsr2xml."""

from __future__ import annotations

import math
import shutil
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from workstation.analyses import get
from workstation.analyses.study_report import compose, suggested_key_images
from workstation.compute.backend import select_backend
from workstation.io.dicom import scan
from workstation.io.writers import plain_json
from workstation.report.document import StudyReport
from workstation.report.findings import lookup
from workstation.report.model import Letterhead, ReportHeader
from workstation.report.outputs import ReportFiles, study_files, write_outputs
from workstation.report.templates import catalogue
from tests.dicom_validation import assert_valid_dicom

CASES = {"calcium": "ct-calcium-score", "perfusion": "ct-head-perfusion", "mammo-cad": "screening-mammogram",
         "segmentation": "chest-ct"}


@dataclass(frozen=True)
class Case:
    result: dict[str, Any]
    report: StudyReport
    files: ReportFiles


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Case:
    name = request.param
    analysis = get(name)
    root = tmp_path_factory.mktemp(name)
    analysis.example(root / "study")
    study = scan([root / "study"]).studies[0]
    result = analysis.run(analysis.prepare(study, None), analysis.default_params(), select_backend("cpu"), None)
    js = plain_json(result.to_json())
    report = compose(catalogue(Path("/nonexistent")).get(CASES[name]), study.uid, {name: js})
    keys = suggested_key_images(study, {name: js})
    report = replace(report.with_key_images(tuple(k.record for k in keys)), version=1)
    files = write_outputs(report, root / "out", ReportHeader.from_study(study), {k.record.key: k.rgb for k in keys},
                          study_files(study), "Ada Reader", Letterhead("General Hospital"))
    return Case(js, report, files)


def _pdf_text(path: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (Debian package poppler-utils) is not installed")
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return " ".join(out.split())


def _items(case: Case) -> list[Any]:
    ins = case.report.insertions()
    assert len(ins) == 1 and ins[0].items
    return list(ins[0].items)


def test_items_are_the_result_values(case: Case) -> None:
    for item in _items(case):
        if item.key and item.key != "findings":
            expected = lookup(case.result, item.key)
            assert item.value == (None if expected is None else expected if isinstance(expected, (int, float))
                                  else str(expected)), item.key


def test_every_value_is_in_the_pdf_text(case: Case) -> None:
    text = _pdf_text(case.files.pdf)
    for item in _items(case):
        assert f"{' '.join(item.label.split())} {item.text}" in text, item.label
    assert "General Hospital" in text and "DRAFT - NOT SIGNED" in text and "Page 1 of" in text
    for notice in {i.notice for i in case.report.insertions() if i.notice}:
        assert " ".join(notice.split()) in text


def _walk(items: Any) -> Any:
    for item in items:
        yield item
        yield from _walk(getattr(item, "ContentSequence", []))


def test_sr_numbers_equal_the_result_and_read_back_with_highdicom(case: Case) -> None:
    import highdicom as hd

    sr = hd.sr.srread(case.files.sr)
    assert isinstance(sr, hd.sr.ComprehensiveSR)
    numbers: dict[tuple[str, str], float] = {}
    texts: dict[str, list[str]] = {}
    groups = [g for g in _walk(sr.ContentSequence) if g.ValueType == "CONTAINER"
              and g.ConceptNameCodeSequence[0].CodeMeaning == "Measurement Group"]
    for g in groups:
        tracking = next(n.TextValue for n in g.ContentSequence if n.ValueType == "TEXT")
        for node in g.ContentSequence:
            if node.ValueType == "NUM":
                numbers[(tracking, node.ConceptNameCodeSequence[0].CodeMeaning)] = \
                    float(node.MeasuredValueSequence[0].NumericValue)
    for node in _walk(sr.ContentSequence):
        if node.ValueType == "TEXT":
            texts.setdefault(node.ConceptNameCodeSequence[0].CodeMeaning, []).append(node.TextValue)
    title = case.report.insertions()[0].title
    for item in _items(case):
        meaning = (item.code.meaning if item.code else item.label)[:64]
        if item.is_number:
            got = numbers[(f"{title} {item.group}".strip(), meaning)]
            expected = len(case.result["findings"]) if item.key == "findings" else lookup(case.result, item.key)
            assert math.isclose(got, float(expected), rel_tol=1e-9, abs_tol=1e-9), meaning
        elif isinstance(item.value, str):
            assert item.value in texts[meaning]
    assert sr.CompletionFlag == "PARTIAL" and sr.VerificationFlag == "UNVERIFIED"


def test_sr_and_kos_are_valid_dicom(case: Case) -> None:
    assert_valid_dicom(case.files.dicom)
    for tool in ("dsrdump", "dsr2xml"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} (Debian package dcmtk) is not installed")
        for path in case.files.dicom:
            proc = subprocess.run([tool, str(path)], capture_output=True, text=True)
            assert proc.returncode == 0, proc.stderr
            assert not [line for line in proc.stderr.splitlines() if line.startswith(("E:", "F:"))], proc.stderr
