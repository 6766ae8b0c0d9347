"""Batch outputs: all or nothing per study, --out checked first, stale staging removed, readable summary."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import workstation.analyses as analyses
from workstation.core.volume import Volume
from workstation.io.dicom_write import write_series
from workstation.jobs import batch
from workstation.jobs.execute import StudyOutcome
from workstation.jobs.staging import StudyWrite, WriteInterrupted, clean_stale, staging_prefix


@pytest.fixture(scope="module")
def small_ct(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ct")
    values = np.full((8, 32, 32), -900, np.int16)
    values[3:5, 10:14, 10:14] = 400  # a calcified block
    write_series(Volume(values, spacing=(2.5, 0.8, 0.8), modality="CT"), root, modality="CT", tags={"KVP": 120})
    return root


def test_summary_keeps_long_messages_whole_after_the_table() -> None:
    long = "ValueError: " + " ".join(f"word{i}" for i in range(60))
    table = batch.summary_table([StudyOutcome("1.2.3", False, 0.5, "", long), StudyOutcome("1.2.4", True, 1.0, "cpu",
                                                                                             "short note")])
    lines = table.splitlines()
    row = next(line for line in lines if line.startswith("1.2.3"))
    assert "[1] ValueError: word0" in row and row.endswith("...")
    assert next(line for line in lines if line.startswith("1.2.4")).endswith("short note")
    after = lines[lines.index("1 of 2 studies succeeded") + 1:]
    assert " ".join(part.strip() for part in after) == f"[1] {long}"
    assert all(len(line) <= 100 for line in after)


def test_unwritable_out_stops_before_any_analysis(small_ct: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file").write_text("a file, not a folder")
    monkeypatch.setattr(batch, "_run_local", lambda *a: pytest.fail("an analysis ran"))
    code = batch.main(["run", "calcium", str(small_ct), "--out", str(tmp_path / "file" / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert "cannot write results to --out" in err and "Not a directory" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


class _FullDisk:
    """An artifact set whose writing runs out of space after ``after_bytes``."""

    def __init__(self, after_bytes: int) -> None:
        self.after_bytes = after_bytes

    def write(self, result: object, inputs: object, folder: Path, **_: object) -> list[Path]:
        (Path(folder) / "partial.bin").write_bytes(b"\0" * self.after_bytes)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(Path(folder) / "map.nii.gz"))


def _failing_writer(calcium: analyses.Analysis, after_bytes: int) -> analyses.Analysis:
    return replace(calcium, artifacts=_FullDisk(after_bytes))


def test_full_disk_leaves_no_study_folder_and_keeps_a_previous_result(
    small_ct: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    calcium = analyses.get("calcium")
    monkeypatch.setattr(analyses, "get", lambda name: _failing_writer(calcium, 4096))
    assert batch.main(["run", "calcium", str(small_ct), "--out", str(out), "--device", "cpu"]) == 1
    assert "No space left on device" in capsys.readouterr().out
    assert list(out.iterdir()) == []  # no empty study folder
    monkeypatch.setattr(analyses, "get", lambda name: calcium)
    assert batch.main(["run", "calcium", str(small_ct), "--out", str(out), "--device", "cpu"]) == 0
    (study,) = out.iterdir()
    before = {p.name: p.read_bytes() for p in study.iterdir()}
    monkeypatch.setattr(analyses, "get", lambda name: _failing_writer(calcium, 10))
    assert batch.main(["run", "calcium", str(small_ct), "--out", str(out), "--device", "cpu", "--redo"]) == 1
    assert {p.name: p.read_bytes() for p in study.iterdir()} == before  # the earlier result, untouched


def test_a_failed_commit_puts_replaced_files_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "study"
    target.mkdir()
    (target / "a.json").write_text("old")
    real_replace = os.replace
    calls = []

    def replace_failing_on_the_second_move(src: object, dst: object) -> None:
        calls.append(dst)
        if len(calls) == 3:  # back up a.json, move new a.json in, then fail on b.json
            raise OSError(errno.ENOSPC, "No space left on device")
        real_replace(src, dst)

    with pytest.raises(OSError), StudyWrite(target, "calcium") as write:
        assert write.staging is not None
        for name in ("a.json", "b.json"):
            (write.staging / name).write_text("new")
        monkeypatch.setattr(os, "replace", replace_failing_on_the_second_move)
        write.commit([write.staging / "a.json", write.staging / "b.json"])
    monkeypatch.setattr(os, "replace", real_replace)
    assert sorted(p.name for p in target.iterdir()) == ["a.json"]
    assert (target / "a.json").read_text() == "old"


def test_ctrl_c_during_the_moves_is_held_until_they_finish_and_keeps_the_result(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "1.2.3"
    real_replace = os.replace

    def replace_then_interrupt(src: Any, dst: Any) -> None:
        real_replace(src, dst)
        if Path(dst).name == "a.json":
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(WriteInterrupted):
        with StudyWrite(target, "calcium") as write:
            assert write.staging is not None
            for name in ("a.json", "b.json"):
                (write.staging / name).write_text("new")
            monkeypatch.setattr(os, "replace", replace_then_interrupt)
            write.commit([write.staging / "a.json", write.staging / "b.json"])
    monkeypatch.setattr(os, "replace", real_replace)
    assert sorted(p.name for p in target.iterdir()) == ["a.json", "b.json"]  # finished, not undone
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(proc.stdout)


def test_stale_staging_of_dead_writers_is_removed(tmp_path: Path) -> None:
    dead, here = _dead_pid(), os.getpid()
    study, other = tmp_path / "1.2.3", tmp_path / "1.2.4"
    dead_prefix = staging_prefix("calcium").replace(f"@{here}@", f"@{dead}@")
    for folder in (study / f"{dead_prefix}x1", study / f"{staging_prefix('calcium')}x2",
                   study / ".staging-calcium@otherhost@1@x3", other / f"{dead_prefix}x4"):
        folder.mkdir(parents=True)
        (folder / "map.nii.gz").write_bytes(b"partial")
    (study / "calcium.json").write_text("{}")
    old, old_temp, users = study / ".staging-calcium-oldstyle", study / ".calcium.json.k3j2.tmp", study / ".notes.tmp"
    old.mkdir()
    old_temp.write_text("{")
    users.write_text("not ours")
    not_a_study = tmp_path / "notes"
    (not_a_study / f"{dead_prefix}x5").mkdir(parents=True)
    for p in (old, old_temp, users):
        os.utime(p, (0, 0))
    removed = clean_stale(tmp_path)
    assert set(removed) == {study / f"{dead_prefix}x1", old, old_temp, other / f"{dead_prefix}x4", other}
    assert sorted(p.name for p in study.iterdir()) == sorted(
        [f"{staging_prefix('calcium')}x2", ".staging-calcium@otherhost@1@x3", "calcium.json", ".notes.tmp"])
    assert (not_a_study / f"{dead_prefix}x5").is_dir()  # only study folders are looked into
