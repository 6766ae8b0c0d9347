"""No patient identity in logs, crash reports or console output of the batch command.

The hostile study of :mod:`privacy_case` (files and folder named after a patient whose
name and ID appear nowhere else, a PatientID stored with VR FD, a truncated file) is
run through the batch; every stream, log line and crash report is then searched for
any part of the identity.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pydicom
import pytest
from privacy_case import FAMILY, GIVEN, PATIENT_ID, leaks, read_all, write_hostile_study


@pytest.fixture(scope="module")
def hostile_study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_hostile_study(tmp_path_factory.mktemp("privacy"))


def test_batch_streams_and_logs_carry_no_identity(hostile_study: Path, tmp_path: Path) -> None:
    logs, out = tmp_path / "logs", tmp_path / "out"
    env = {**os.environ, "WORKSTATION_LOG_DIR": str(logs)}
    proc = subprocess.run(
        [sys.executable, "-m", "workstation.jobs.batch", "-v", "run", "calcium", str(hostile_study), "--out",
         str(out), "--device", "cpu"], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 of 1 studies succeeded" in proc.stdout
    assert "skipped <redacted>_<redacted>_cut.dcm: image object without pixel data (in <path#" in proc.stderr
    assert (logs / "batch.log").is_file()
    for where, text in (("stdout", proc.stdout), ("stderr", proc.stderr), ("logs", read_all(logs)),
                        ("output file names", "\n".join(str(p.relative_to(out)) for p in out.rglob("*")))):
        assert not leaks(text), (where, leaks(text), text)


def test_crash_report_of_an_exception_carrying_raw_bytes_has_no_identity(
    hostile_study: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """pydicom's BytesLengthException quotes the raw PatientID; reports and logs must not."""
    from workstation import app
    from workstation.jobs import batch

    fd_file = sorted(hostile_study.glob("*.dcm"))[3]

    def table_that_fails(outcomes: object) -> str:
        return str(pydicom.dcmread(fd_file).PatientID)  # raises, quoting b'QZX90817263 '

    with pytest.raises(Exception, match=PATIENT_ID):
        table_that_fails(None)
    logs = tmp_path / "logs"
    monkeypatch.setenv("WORKSTATION_LOG_DIR", str(logs))
    monkeypatch.setattr(batch, "summary_table", table_that_fails)
    code = app.main(["batch", "run", "calcium", str(hostile_study), "--out", str(tmp_path / "out"), "--device", "cpu"])
    streams = capfd.readouterr()
    assert code == batch.INTERNAL_ERROR
    reports = list(logs.glob("crash-*.txt"))
    assert len(reports) == 1 and "BytesLengthException" in reports[0].read_text()
    for where, text in (("stdout", streams.out), ("stderr", streams.err), ("logs", read_all(logs))):
        assert not leaks(text), (where, leaks(text), text)


def test_failure_message_quoting_the_identity_is_redacted_in_the_summary(
    hostile_study: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    from dataclasses import replace

    import workstation.analyses as analyses
    from workstation.jobs import batch

    calcium = analyses.get("calcium")

    def run_that_fails(data: object, params: object, backend: object, progress: object) -> object:
        raise ValueError(f"cannot score {FAMILY}^{GIVEN} ({PATIENT_ID}) from {hostile_study}/x.dcm " + "x" * 200)

    failing = replace(calcium, run=run_that_fails)
    monkeypatch.setattr(analyses, "get", lambda name: failing)  # what each study's run looks up
    monkeypatch.setattr(batch, "get", lambda name: failing)
    monkeypatch.setenv("WORKSTATION_LOG_DIR", str(tmp_path / "logs"))
    code = batch.main(["run", "calcium", str(hostile_study), "--out", str(tmp_path / "out"), "--device", "cpu"])
    streams = capfd.readouterr()
    assert code == 1
    assert "[1] ValueError: cannot score <redacted>" in streams.out  # the whole message follows the table
    for where, text in (("stdout", streams.out), ("stderr", streams.err), ("logs", read_all(tmp_path / "logs"))):
        assert not leaks(text), (where, leaks(text), text)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())  # no empty study folder
