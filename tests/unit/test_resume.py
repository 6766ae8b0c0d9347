"""Manifests: a complete result is recognised, anything changed is redone; a killed commit is completed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from workstation.analyses import get
from workstation.core.study import Study
from workstation.core.volume import Volume
from workstation.io.dicom import scan
from workstation.io.dicom_write import write_series
from workstation.jobs import manifest
from workstation.jobs.execute import run_study
from workstation.jobs.resume import KEPT, split_complete
from workstation.jobs.staging import JOURNAL, clean_stale, staging_prefix


def _study(folder: Path, shift: int = 0) -> Study:
    values = np.full((8, 32, 32), -900, np.int16)
    values[3:5, 8 + shift: 12 + shift, 10:14] = 400
    write_series(Volume(values, spacing=(2.5, 0.8, 0.8), modality="CT"), folder, modality="CT", tags={"KVP": 120})
    return scan([folder]).studies[0]


@pytest.fixture
def done(tmp_path: Path) -> tuple[Study, Path, dict]:
    study = _study(tmp_path / "in")
    outcome = run_study("calcium", study, tmp_path / "out", device="cpu")
    assert outcome.ok and Path(outcome.files[-1]).name == "calcium.manifest.json"
    params = get("calcium").default_params().to_json()
    return study, tmp_path / "out" / study.uid, params


def test_a_complete_result_is_recognised(done: tuple[Study, Path, dict]) -> None:
    study, folder, params = done
    assert manifest.check(folder, "calcium", params, study) is None
    written = json.loads((folder / "calcium.manifest.json").read_text())
    assert {f["name"] for f in written["files"]} == {p.name for p in folder.iterdir()} - {"calcium.manifest.json"}


def test_changed_parameters_outputs_or_version_are_not_complete(done: tuple[Study, Path, dict],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    study, folder, params = done
    assert manifest.check(folder, "calcium", {**params, "threshold_hu": 200.0}, study) == "other parameters"
    assert manifest.check(folder, "perfusion", params, study) == "no result"
    monkeypatch.setattr(manifest, "version_string", lambda: "9.9 (source)")
    assert "written by" in (manifest.check(folder, "calcium", params, study) or "")
    monkeypatch.undo()
    labels = folder / "calcium_labels.nii.gz"
    data = bytearray(labels.read_bytes())
    data[-1] ^= 0xFF
    labels.write_bytes(bytes(data))
    assert manifest.check(folder, "calcium", params, study) == "calcium_labels.nii.gz is missing or changed"
    labels.unlink()
    assert manifest.check(folder, "calcium", params, study) == "calcium_labels.nii.gz is missing or changed"
    (folder / "calcium.manifest.json").write_text("{")
    assert "unreadable" in (manifest.check(folder, "calcium", params, study) or "")


def test_inputs_are_known_by_content_not_by_path_or_time(done: tuple[Study, Path, dict], tmp_path: Path) -> None:
    study, folder, params = done
    copy = tmp_path / "copy"
    shutil.copytree(tmp_path / "in", copy)  # new paths and times, same bytes
    moved = scan([copy]).studies[0]
    assert manifest.stat_key(moved) != manifest.stat_key(study)
    assert manifest.check(folder, "calcium", params, moved) is None
    victim = sorted(copy.rglob("*.dcm"))[3]
    data = bytearray(victim.read_bytes())
    data[-2] ^= 0x01  # one pixel value changed
    victim.write_bytes(bytes(data))
    assert manifest.check(folder, "calcium", params, scan([copy]).studies[0]) == "other inputs"


def test_split_complete_keeps_complete_studies_and_runs_the_rest(done: tuple[Study, Path, dict],
                                                                 tmp_path: Path) -> None:
    study, folder, _ = done
    other = _study(tmp_path / "in2", shift=3)
    defaults = get("calcium").default_params()
    run, kept = split_complete("calcium", [study, other], tmp_path / "out", {study.uid: defaults, other.uid: defaults})
    assert [s.uid for s in run] == [other.uid]
    assert [o.study_uid for o in kept] == [study.uid] and kept[0].message == KEPT


def _dead_pid() -> int:
    return int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True).stdout)


def test_a_write_killed_during_its_moves_is_completed_by_the_next_run(done: tuple[Study, Path, dict],
                                                                       tmp_path: Path) -> None:
    """What a SIGKILL between two moves leaves: some files moved in, the rest (and the
    journal) in the killed writer's staging folder.  The next run completes the moves."""
    study, folder, params = done
    reference = {p.name: p.read_bytes() for p in folder.iterdir()}
    names = json.loads((folder / "calcium.manifest.json").read_text())["files"]
    order = [f["name"] for f in names] + ["calcium.manifest.json"]
    prefix = staging_prefix("calcium").replace(f"@{os.getpid()}@", f"@{_dead_pid()}@")
    staging = folder / f"{prefix}x1"
    staging.mkdir()
    for name in order[1:]:  # the first file was moved in; the others were still staged
        shutil.move(folder / name, staging / name)
    (staging / JOURNAL).write_text(json.dumps(order))
    assert manifest.check(folder, "calcium", params, study) == "no result"
    removed = clean_stale(tmp_path / "out")
    assert staging in removed and not staging.exists()
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == reference
    assert manifest.check(folder, "calcium", params, study) is None


def test_a_write_killed_before_its_moves_is_undone(done: tuple[Study, Path, dict], tmp_path: Path) -> None:
    study, folder, params = done
    reference = {p.name: p.read_bytes() for p in folder.iterdir()}
    prefix = staging_prefix("calcium").replace(f"@{os.getpid()}@", f"@{_dead_pid()}@")
    staging = folder / f"{prefix}x2"
    staging.mkdir()
    (staging / "calcium.json").write_text("{ half written")
    clean_stale(tmp_path / "out")
    assert not staging.exists() and {p.name: p.read_bytes() for p in folder.iterdir()} == reference
