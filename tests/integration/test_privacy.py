"""No patient identity in logs, crash reports or console output of the batch command.

The patient's name and ID below appear nowhere else: not in the program, not in the
other tests.  The study is hostile on purpose: the files and their folder are named
after the patient (``_`` between the names), one file stores the PatientID with VR FD
(pydicom's exception text then carries the raw bytes), one is truncated.  After a run
every stream, log line and crash report is searched for any part of the identity.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pydicom
import pytest

from workstation.core.volume import Volume
from workstation.io.dicom_write import write_series

FAMILY, GIVEN, PATIENT_ID = "Qzxwvandel", "Brunhilde", "QZX90817263"
SECRETS = re.compile("|".join((FAMILY, GIVEN, PATIENT_ID)), re.IGNORECASE)


def _vr_fd(path: Path, keyword: str) -> None:
    """Relabel an element's VR as FD in place (same bytes, same length)."""
    data = bytearray(path.read_bytes())
    tag = pydicom.datadict.tag_for_keyword(keyword)
    at = data.index(bytes.fromhex(f"{tag >> 16:04x}")[::-1] + bytes.fromhex(f"{tag & 0xFFFF:04x}")[::-1])
    data[at + 4: at + 6] = b"FD"
    path.write_bytes(bytes(data))


@pytest.fixture(scope="module")
def hostile_study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import numpy as np

    root = tmp_path_factory.mktemp("privacy") / f"{FAMILY}_{GIVEN}_CT"
    rng = np.random.default_rng(3)
    values = np.where(rng.random((12, 48, 48)) < 0.5, -900, 40).astype(np.int16)
    vol = Volume(values, spacing=(2.5, 0.8, 0.8), modality="CT")
    tags = {"PatientName": f"{FAMILY}^{GIVEN}", "PatientID": PATIENT_ID, "PatientSex": "F",
            "PatientAge": "061Y", "StudyDate": "20240131", "KVP": 120}
    paths = write_series(vol, root, modality="CT", tags=tags, slice_thickness=2.5, file_prefix=f"{FAMILY}_{GIVEN}_")
    _vr_fd(paths[3], "PatientID")
    cut = root / f"{FAMILY}_{GIVEN}_cut.dcm"
    cut.write_bytes(paths[0].read_bytes()[:900])
    return root


def _leaks(text: str) -> list[str]:
    return sorted({m.group(0) for m in SECRETS.finditer(text)})


def _logs(folder: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in sorted(folder.rglob("*")) if p.is_file())


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
    for where, text in (("stdout", proc.stdout), ("stderr", proc.stderr), ("logs", _logs(logs)),
                        ("output file names", "\n".join(str(p.relative_to(out)) for p in out.rglob("*")))):
        assert not _leaks(text), (where, _leaks(text), text)


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
    for where, text in (("stdout", streams.out), ("stderr", streams.err), ("logs", _logs(logs))):
        assert not _leaks(text), (where, _leaks(text), text)


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
    for where, text in (("stdout", streams.out), ("stderr", streams.err), ("logs", _logs(tmp_path / "logs"))):
        assert not _leaks(text), (where, _leaks(text), text)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())  # no empty study folder
