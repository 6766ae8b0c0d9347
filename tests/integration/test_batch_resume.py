"""A batch SIGKILLed again and again, then run to the end over the same ``--out``, gives exactly
the results of an uninterrupted run; complete studies are skipped, not redone."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from workstation.analyses import get
from workstation.core.volume import Volume
from workstation.io.dicom import scan
from workstation.io.dicom_write import write_series
from workstation.jobs import manifest

N_STUDIES = 10
#: (results written before the kill, then seconds more): kills in reading, computing, writing, moving in.
KILLS = ((1, 0.0), (3, 0.013), (5, 0.041), (6, 0.0027), (8, 0.02))


@pytest.fixture(scope="module")
def studies(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("studies")
    for i in range(N_STUDIES):
        values = np.full((8, 40, 40), -900, np.int16)
        values[2:6, 6 + 2 * i: 11 + 2 * i, 10:16] = 300 + 40 * i
        write_series(Volume(values, spacing=(2.5, 0.8, 0.8), modality="CT"), root / f"s{i:02d}", modality="CT",
                     tags={"KVP": 120})
    return root


def _run(studies: Path, out: Path, logs: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "WORKSTATION_LOG_DIR": str(logs)}
    return subprocess.Popen([sys.executable, "-m", "workstation.jobs.batch", "run", "calcium", str(studies),
                             "--out", str(out), "--device", "cpu"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)


def _complete(out: Path) -> int:
    return len(list(out.glob("*/calcium.manifest.json")))


def _no_corrupt_result(out: Path, by_uid: dict) -> None:
    """Every result with its manifest is complete and valid; a record without one is only
    ever a write the next run completes (its writer's journal is there)."""
    params = get("calcium").default_params().to_json()
    for folder in (p for p in out.iterdir() if p.is_dir()):
        if (folder / "calcium.manifest.json").exists():
            assert manifest.check(folder, "calcium", params, by_uid[folder.name]) is None, folder.name
        elif (folder / "calcium.json").exists():
            assert list(folder.glob(".staging-*/.commit.json")), f"{folder.name}: a record without its manifest"


def _record(path: Path) -> dict:
    data = json.loads(path.read_text())
    data["provenance"].pop("created_utc")
    return data


def test_killed_batches_resume_to_exactly_the_uninterrupted_results(studies: Path, tmp_path: Path) -> None:
    by_uid = {s.uid: s for s in scan([studies]).studies}
    reference = tmp_path / "reference"
    ref = _run(studies, reference, tmp_path / "logs")
    assert ref.wait(timeout=300) == 0, ref.communicate()

    out = tmp_path / "out"
    for results, extra_s in KILLS:
        proc = _run(studies, out, tmp_path / "logs")
        deadline = time.monotonic() + 120
        while _complete(out) < results and proc.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.002)
        time.sleep(extra_s)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        _no_corrupt_result(out, by_uid)
    before = _complete(out)
    assert 0 < before < N_STUDIES

    final = _run(studies, out, tmp_path / "logs")
    stdout, stderr = final.communicate(timeout=300)
    assert final.returncode == 0, stdout + stderr
    kept = int(stdout.split(" of ")[0]) if " already have a complete result" in stdout else 0
    assert kept >= before - 1  # a write killed during its moves is completed by this run first
    assert f"{N_STUDIES} of {N_STUDIES} studies succeeded" in stdout
    assert not list(out.rglob(".staging-*")) and not list(out.rglob("*.tmp"))

    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in reference.iterdir())
    for folder in reference.iterdir():
        ours = out / folder.name
        assert sorted(p.name for p in ours.iterdir()) == sorted(p.name for p in folder.iterdir())
        assert _record(ours / "calcium.json") == _record(folder / "calcium.json")
        np.testing.assert_array_equal(np.asarray(nib.load(ours / "calcium_labels.nii.gz").dataobj),
                                      np.asarray(nib.load(folder / "calcium_labels.nii.gz").dataobj))
        assert (json.loads((ours / "calcium.manifest.json").read_text())["inputs"]
                == json.loads((folder / "calcium.manifest.json").read_text())["inputs"])


def test_a_second_run_skips_complete_studies_and_leaves_them_untouched(studies: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _run(studies, out, tmp_path / "logs").wait(timeout=300) == 0
    times = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    victim = next(out.iterdir())
    (victim / "calcium_labels.nii.gz").write_bytes(b"damaged")
    again = _run(studies, out, tmp_path / "logs")
    stdout, _ = again.communicate(timeout=300)
    assert again.returncode == 0
    assert f"{N_STUDIES - 1} of {N_STUDIES} studies already have a complete result" in stdout
    assert stdout.count(": ok on cpu in ") == 1  # only the damaged study ran again
    for path, mtime in times.items():
        if path.parent != victim:
            assert path.stat().st_mtime_ns == mtime, path
    study = next(s for s in scan([studies]).studies if s.uid == victim.name)
    assert manifest.check(victim, "calcium", get("calcium").default_params().to_json(), study) is None
