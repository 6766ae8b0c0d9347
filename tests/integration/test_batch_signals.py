"""Ctrl-C and SIGKILL against a real ``workstation-batch`` process.

SIGINT: the study being written is finished or undone, the summary of what completed
is printed, the exit code is 130 and no traceback is shown.  SIGKILL: whatever the
killed process left (a staging folder) is removed by the next run, which completes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from workstation.core.volume import Volume
from workstation.io.dicom_write import write_series
from workstation.jobs.staging import staging_prefix

N_STUDIES = 12


@pytest.fixture(scope="module")
def studies(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("studies")
    for i in range(N_STUDIES):
        values = np.full((8, 32, 32), -900, np.int16)
        values[3:5, 8 + i: 12 + i, 10:14] = 400
        write_series(Volume(values, spacing=(2.5, 0.8, 0.8), modality="CT"), root / f"s{i:02d}", modality="CT",
                     tags={"KVP": 120})
    return root


def _start(studies: Path, out: Path, logs: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "WORKSTATION_LOG_DIR": str(logs)}
    return subprocess.Popen([sys.executable, "-m", "workstation.jobs.batch", "run", "calcium", str(studies), "--out",
                             str(out), "--device", "cpu"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)


def _wait_for_results(out: Path, proc: subprocess.Popen[str], count: int, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while len(list(out.glob("*/calcium.json"))) < count:
        assert proc.poll() is None, "the batch ended before it was signalled"
        assert time.monotonic() < deadline, "no result appeared"
        time.sleep(0.01)


def _complete(out: Path) -> None:
    """Every study folder holds its record; nothing half-written is left."""
    for study in out.iterdir():
        assert (study / "calcium.json").is_file(), sorted(p.name for p in study.iterdir())
    assert not list(out.rglob(".staging-*")) and not list(out.rglob("*.tmp"))


def test_ctrl_c_prints_what_completed_and_exits_130(studies: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = _start(studies, out, tmp_path / "logs")
    _wait_for_results(out, proc, 1)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stdout + stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    done = len(list(out.glob("*/calcium.json")))
    assert 1 <= done < N_STUDIES
    assert f"{done} of {done} studies succeeded" in stdout
    assert f"interrupted; {N_STUDIES - done} of {N_STUDIES} studies not run" in stderr
    _complete(out)


def test_next_run_removes_what_a_killed_run_left(studies: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = _start(studies, out, tmp_path / "logs")
    _wait_for_results(out, proc, 2)
    proc.kill()
    proc.communicate(timeout=60)
    study = next(out.iterdir())
    prefix = staging_prefix("calcium").replace(f"@{os.getpid()}@", f"@{proc.pid}@")
    leftover = study / f"{prefix}abcd"  # what a kill in the middle of a write leaves
    leftover.mkdir(exist_ok=True)
    (leftover / "calcium.json").write_text("{")
    rerun = _start(studies, out, tmp_path / "logs")
    stdout, stderr = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, stdout + stderr
    assert f"{N_STUDIES} of {N_STUDIES} studies succeeded" in stdout
    assert not leftover.exists()
    _complete(out)
