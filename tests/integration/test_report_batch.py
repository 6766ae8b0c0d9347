"""workstation-batch report: a study's report from the JSON `run` wrote and the study."""

from __future__ import annotations

from pathlib import Path

import pytest

from workstation.analyses import get
from workstation.jobs.batch import main
from tests.dicom_validation import assert_valid_dicom


def test_run_then_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    get("calcium").example(tmp_path / "study")
    assert main(["run", "calcium", str(tmp_path / "study"), "--out", str(tmp_path / "results"), "--device", "cpu"]) == 0
    folder = next((tmp_path / "results").iterdir())
    args = ["report", str(folder), "--study", str(tmp_path / "study"), "--out", str(tmp_path / "report")]
    assert main(args + ["--template", "no-such-template"]) == 2
    assert main(args + ["--template", "ct-calcium-score", "--institution", "General Hospital"]) == 0
    written = {p.name for p in (tmp_path / "report").iterdir()}
    assert {"report.pdf", "report_sr.dcm", "report.txt", "report_ko.dcm"} <= written
    assert "Agatston score" in (tmp_path / "report" / "report.txt").read_text()
    assert_valid_dicom([tmp_path / "report" / "report_sr.dcm", tmp_path / "report" / "report_ko.dcm"])
    inside = args[:4] + ["--out", str(tmp_path / "study" / "x"), "--template", "ct-calcium-score"]
    assert main(inside) == 2  # never into the source folder
    audit = (tmp_path / "data" / "workstation" / "audit" / "audit.jsonl").read_text()
    assert folder.name in audit and "export" in audit
